#pragma once
// Everything tern-server can be told, from the config file and the command line.
// One struct, filled by load_options() (file first, then flags override), validated once.
// Defaults are nats-server 2.9.10's (protocol spec section 6).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/status.h"
#include "server/config/conf_parser.h"

namespace tern::server {

using Millis = std::chrono::milliseconds;

// Subjects a user may publish or subscribe to. Empty allow = everything allowed.
struct SubjectPermission {
  std::vector<std::string> allow;
  std::vector<std::string> deny;
};

struct Permissions {
  SubjectPermission publish;
  SubjectPermission subscribe;
  bool empty() const {
    return publish.allow.empty() && publish.deny.empty() && subscribe.allow.empty() && subscribe.deny.empty();
  }
};

struct User {
  std::string username;
  std::string password;  // plain text, or a bcrypt hash ("$2a$..."), as nats-server accepts
  Permissions permissions;
};

struct JetStreamOptions {
  bool enabled = false;
  std::string store_dir;                   // empty: a default under the temp dir, as nats-server
  int64_t max_memory_store = -1;           // bytes; -1 = unlimited (derived from the machine)
  int64_t max_file_store = -1;             // bytes; -1 = unlimited
  std::string sync_interval = "always";    // "always" or a duration such as "2m"
};

struct Options {
  // Network
  std::string host = "0.0.0.0";
  int port = 4222;
  std::string server_name;  // empty: the server id

  // Limits
  int64_t max_payload = 1024 * 1024;        // bytes
  int32_t max_control_line = 4096;          // bytes of a control line's arguments
  int32_t max_connections = 65536;
  int32_t max_subscriptions = 0;            // per connection; 0 = unlimited
  int64_t max_pending = 64 * 1024 * 1024;   // outbound bytes queued for one client
  Millis ping_interval{120000};
  int32_t ping_max = 2;                     // outstanding PINGs before 'Stale Connection'
  Millis write_deadline{10000};
  Millis auth_timeout{2000};

  // Authorization (at most one of token / username+password / users)
  std::string token;
  std::string username;
  std::string password;
  std::vector<User> users;
  bool auth_required() const { return !token.empty() || !username.empty() || !users.empty(); }

  // Logging
  bool debug = false;   // -D
  bool trace = false;   // -V: every protocol line
  std::string log_file; // -l; empty: stderr

  // Monitoring
  int http_port = 0;    // -m; 0 = off, -1 = a random port
  std::string http_host;  // `http: "host:port"`; empty: the client listen host, as nats-server

  JetStreamOptions jetstream;

  // Files that were loaded (for the banner and reload messages).
  std::string config_file;
};

// Checks cross-field rules (ranges, one auth method at a time). Error names the offending key.
Status validate(const Options& opts);

// Applies a config file (NATS syntax, see conf_parser.h) over `opts`: keys the file does not name
// keep their current value. Unknown keys add "file:line: unknown key ..." to `warnings`. Stops at
// the first bad value; the error reads "file:line: key: what is wrong". Does not call validate():
// flags may still change things (load_options in flags.h does file, then flags, then validate).
Status apply_config_file(const std::string& path, Options& opts, std::vector<std::string>& warnings);

// The same for text in memory; `file_name` appears in messages and anchors relative includes.
Status apply_config_text(std::string_view text, const std::string& file_name, Options& opts,
                         std::vector<std::string>& warnings);

// The same for a tree parse_conf() already made (the fuzzer uses this to keep off the disk).
Status apply_config(const ConfMap& root, Options& opts, std::vector<std::string>& warnings);

}  // namespace tern::server
