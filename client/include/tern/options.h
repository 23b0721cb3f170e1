#pragma once
// How a tern::Connection connects, authenticates, keeps alive, reconnects and reports.
//
// A plain value: fill it on any thread, then hand it to Connection::connect(), which
// copies it. The callbacks here run on the connection's event thread (never the I/O
// thread, never inside a libtern call), one at a time, in the order the events happened;
// see connection.h.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "tern/status.h"

namespace tern {

class Connection;

struct Options {
  // Where to connect: one URL or a comma-separated list, e.g.
  //   "nats://user:pass@host1:4222,host2:4223"   or   "nats://s3cr3t@host:4222" (a token)
  // A list entry may omit the scheme ("host2:4223") and the port (4222). Only nats://
  // is supported; tls:// is refused with ErrorCode::Unsupported. Credentials in the
  // first URL that has them apply to every server.
  // Empty (the default) means: the NATS_URL environment variable, else "nats://127.0.0.1:4222".
  std::string url;

  std::string name;   // the client name the server shows in its monitoring (CONNECT "name")
  std::string token;  // auth_token; overrides a token given in the URL
  std::string user;   // user/password; override credentials given in the URL
  std::string password;
  bool verbose = false;   // ask the server to +OK every op (libtern just skips them)
  bool pedantic = false;  // ask the server for strict subject checks
  bool echo = true;       // false: never deliver this connection's own publishes to it

  // One TCP connect plus the INFO/CONNECT/PING/PONG handshake must finish within this.
  std::chrono::milliseconds connect_timeout{2000};
  // Client PING every ping_interval; after max_pings_out unanswered PINGs the connection
  // is declared stale and handled as lost (reconnect). Same defaults as nats.go.
  std::chrono::milliseconds ping_interval{120000};
  int max_pings_out = 2;

  // Reconnect after losing an established connection (the first connect never retries).
  // Attempt n (1-based) waits min(reconnect_wait * 2^(n-1), reconnect_wait_max) plus a
  // random 0..reconnect_jitter, then tries the next server of the list in turn.
  bool allow_reconnect = true;
  std::chrono::milliseconds reconnect_wait{250};
  std::chrono::milliseconds reconnect_wait_max{4000};
  std::chrono::milliseconds reconnect_jitter{100};
  int max_reconnect_attempts = 60;  // negative: retry forever
  // Bytes of publishes kept while disconnected and sent after the reconnect. Beyond it,
  // publish() returns ErrorCode::BufferFull. 0 disables buffering (publish returns
  // ErrorCode::Disconnected while disconnected). Same default as nats.go: 8 MiB.
  size_t reconnect_buffer_size = 8 * 1024 * 1024;

  // Per-subscription limits on messages received but not yet handed to the application
  // (the callback has not run yet, or next() was not called yet). Messages beyond either
  // limit are dropped and an ErrorCode::SlowConsumer async error is reported, once per
  // episode (again only after the subscription's backlog has emptied). nats.go defaults.
  int64_t pending_msgs_limit = 512 * 1024;
  int64_t pending_bytes_limit = 64 * 1024 * 1024;

  // Event callbacks (all optional). `Connection&` is the connection the event is about;
  // a callback may call any Connection method except the destructor.
  std::function<void(Connection&)> disconnected;  // an established connection was lost
  std::function<void(Connection&)> reconnected;   // reconnected; subscriptions are resent
  std::function<void(Connection&)> closed;        // closed for good; always the last event
  // Asynchronous errors: SlowConsumer, PermissionViolation, ServerError (status holds
  // the code and the text). The connection stays usable unless a closed event follows.
  std::function<void(Connection&, const Status&)> error;
};

}  // namespace tern
