// Config file → Options, following nats-server 2.9.10's server/opts.go (processConfigFileLine):
// keys are case-insensitive, the same aliases are accepted, and a value of 0 for a limit means
// "the default", as nats-server's setBaselineOptions does. Where nats-server fails on an unknown
// key, Tern warns and carries on, so a nats config with cluster/tls/... blocks still starts.

#include "server/config/options.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "proto/subject.h"
#include "server/config/conf_parser.h"
#include "server/config/go_duration.h"

namespace tern::server {
namespace {

constexpr int64_t kMaxInt32 = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A string as it appears in a message: quoted, control bytes escaped, long ones cut.
std::string quoted(std::string_view s) {
  constexpr size_t kMaxShown = 60;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShown) out += "...";
  return out + "\"";
}

std::string describe(const ConfValue& v) {
  if (v.is_string()) return quoted(v.as_string());
  if (v.is_array()) return "an array";
  if (v.is_map()) return "a map";
  return v.text;
}

// Durations in the config file are Go's ("1h30m", "2.5s", "500ms"), as nats-server reads them.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view s) {
  auto ns = parse_go_duration(s);
  if (!ns) return std::nullopt;
  return std::chrono::nanoseconds(*ns);
}

// ---- Range rules, shared by the file loader (which adds file:line) and validate().

std::optional<std::string> out_of_range(std::string_view key, int64_t value, int64_t lo, int64_t hi) {
  if (value >= lo && value <= hi) return std::nullopt;
  return std::string(key) + ": must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
         std::to_string(value);
}

std::optional<std::string> check_sync_interval(const std::string& value) {
  if (value == "always") return std::nullopt;
  auto d = parse_duration(value);
  if (d && d->count() > 0) return std::nullopt;
  return "jetstream.sync_interval: expected \"always\" or a positive duration such as \"2m\", got " + quoted(value);
}

std::optional<std::string> check_auth(const Options& o) {
  if (!o.token.empty() && (!o.username.empty() || !o.password.empty())) {
    return "authorization: cannot have a user/password and a token";
  }
  if (!o.users.empty() && !o.username.empty())
    return "authorization: cannot have a single user/password and a users array";
  if (!o.users.empty() && !o.token.empty()) return "authorization: cannot have a token and a users array";
  if (o.username.empty() && !o.password.empty()) return "authorization: a password needs a user";
  std::set<std::string> seen;
  for (const User& u : o.users) {
    if (u.username.empty()) return "authorization: every entry of users needs a user";
    if (!seen.insert(u.username).second) return "authorization: duplicate user " + quoted(u.username);
  }
  if (o.auth_timeout.count() <= 0) return "authorization.timeout: must be positive";
  return std::nullopt;
}

// ---- Reading typed values out of entries. Each error names file:line and the key.

Status type_error(const ConfEntry& e, std::string_view expected) {
  return Status::error(e.where() + ": " + e.key + ": expected " + std::string(expected) + ", got " + describe(e.value));
}

Status located(const ConfEntry& e, const std::string& message) { return Status::error(e.where() + ": " + message); }

// Scalars written unquoted still count as strings ("pass: 12345" is the password "12345").
Result<std::string> get_string(const ConfEntry& e) {
  const ConfValue& v = e.value;
  if (v.is_string()) return v.as_string();
  if (v.is_integer() || v.is_float() || v.is_bool()) return v.text;
  return type_error(e, "a string");
}

Result<bool> get_bool(const ConfEntry& e) {
  if (e.value.is_bool()) return e.value.as_bool();
  return type_error(e, "true or false");
}

// An integer or a size: 4222, 1MB, 64KB, or the same quoted.
Result<int64_t> get_integer(const ConfEntry& e, std::string_view expected) {
  if (e.value.is_integer()) return e.value.as_integer();
  if (e.value.is_string()) {
    Result<int64_t> n = parse_conf_integer(e.value.as_string());
    if (n.is_ok()) return n;
  }
  return type_error(e, expected);
}

Result<int64_t> get_ranged(const ConfEntry& e, std::string_view expected, int64_t lo, int64_t hi) {
  Result<int64_t> n = get_integer(e, expected);
  if (!n.is_ok()) return n;
  if (auto msg = out_of_range(e.key, n.value(), lo, hi)) return located(e, *msg);
  return n;
}

// JetStream store sizes: as nats-server's getStorageSize, a quoted "10G" is 10 GiB (K, M, G, T
// are powers of 1024 there); anything else reads as a config integer.
Result<int64_t> get_storage_size(const ConfEntry& e) {
  if (e.value.is_string()) {
    const std::string& s = e.value.as_string();
    if (s.size() >= 2 && std::all_of(s.begin(), s.end() - 1, [](char c) { return c >= '0' && c <= '9'; })) {
      static constexpr std::string_view kUnits = "KMGT";
      size_t unit = kUnits.find(static_cast<char>(std::toupper(static_cast<unsigned char>(s.back()))));
      if (unit != std::string_view::npos) {
        Result<int64_t> n = parse_conf_integer(s.substr(0, s.size() - 1));
        int shift = 10 * static_cast<int>(unit + 1);
        if (n.is_ok() && n.value() <= (kMaxInt64 >> shift)) return n.value() << shift;
        return located(e, e.key + ": " + quoted(s) + " is out of range");
      }
    }
  }
  return get_ranged(e, "a size such as 1GB", -1, kMaxInt64);
}

// A duration string (Go syntax), or, as nats-server still accepts with a warning, an integer
// number of seconds. The unquoted 2m is that second case: the integer 2000000.
Result<Millis> get_duration(const ConfEntry& e, std::vector<std::string>& warnings) {
  const ConfValue& v = e.value;
  if (v.is_string()) {
    auto d = parse_duration(v.as_string());
    if (!d) return type_error(e, "a duration such as \"2m\" or \"10s\"");
    return std::chrono::duration_cast<Millis>(*d);
  }
  if (v.is_integer()) {
    int64_t seconds = v.as_integer();
    if (seconds > kMaxInt64 / 1000 || seconds < -kMaxInt64 / 1000) return type_error(e, "a duration such as \"2m\"");
    if (v.text == std::to_string(seconds)) {
      warnings.push_back(e.where() + ": " + e.key + ": an integer is read as seconds; prefer a duration such as \"" +
                         v.text + "s\"");
    } else {
      warnings.push_back(e.where() + ": " + e.key + ": " + v.text + " is the integer " + std::to_string(seconds) +
                         ", read as seconds; quote durations, e.g. \"" + v.text + "\"");
    }
    return Millis(seconds * 1000);
  }
  return type_error(e, "a duration such as \"2m\" or \"10s\"");
}

// nats-server keys Tern knows of but does not implement yet: named in the warning so that a
// "tls" block being ignored is not a surprise.
bool is_unsupported_nats_key(const std::string& key) {
  static const std::set<std::string> kKeys = {"accounts",
                                              "cluster",
                                              "gateway",
                                              "leaf",
                                              "leafnodes",
                                              "tls",
                                              "websocket",
                                              "mqtt",
                                              "operator",
                                              "resolver",
                                              "system_account",
                                              "https",
                                              "https_port",
                                              "logtime",
                                              "syslog",
                                              "remote_syslog",
                                              "pidfile",
                                              "pid_file",
                                              "ports_file_dir",
                                              "prof_port",
                                              "lame_duck_duration",
                                              "no_auth_user",
                                              "mappings",
                                              "client_advertise",
                                              "trace_verbose",
                                              "max_traced_msg_len",
                                              "connect_error_reports",
                                              "reconnect_error_reports",
                                              "no_header_support",
                                              "disable_sublist_cache"};
  return kKeys.count(key) > 0;
}

void warn_unknown(const ConfEntry& e, std::string_view context, std::vector<std::string>& warnings) {
  if (e.value.used_as_variable) return;  // "TOKEN: abc" used as $TOKEN is a variable, not a typo
  std::string where = context.empty() ? std::string() : " in " + std::string(context);
  if (is_unsupported_nats_key(lowercase(e.key))) {
    warnings.push_back(e.where() + ": " + quoted(e.key) + where + " is not supported by tern yet; ignored");
  } else {
    warnings.push_back(e.where() + ": unknown key " + quoted(e.key) + where + " ignored");
  }
}

// ---- The loader.

class ConfigLoader {
 public:
  ConfigLoader(Options& opts, std::vector<std::string>& warnings) : opts_(opts), warnings_(warnings) {}

  Status apply(const ConfMap& root) {
    for (const ConfEntry& e : root) {
      if (Status s = apply_top(e); !s.is_ok()) return s;
    }
    return Status::ok();
  }

 private:
  Status apply_top(const ConfEntry& e) {
    const std::string key = lowercase(e.key);
    if (key == "listen") return apply_listen(e);
    if (key == "host" || key == "net") return assign_string(e, opts_.host);
    if (key == "port") return assign_port(e, opts_.port);
    if (key == "server_name") return assign_string(e, opts_.server_name);
    if (key == "max_payload" || key == "max_pay") return assign_limit(e, opts_.max_payload, kMaxInt32);
    if (key == "max_control_line") return assign_limit(e, opts_.max_control_line, kMaxInt32);
    if (key == "max_connections" || key == "max_conn") return assign_limit(e, opts_.max_connections, kMaxInt32);
    if (key == "max_pending") return assign_limit(e, opts_.max_pending, kMaxInt64);
    if (key == "ping_max") return assign_limit(e, opts_.ping_max, kMaxInt32);
    if (key == "max_subscriptions" || key == "max_subs") {
      Result<int64_t> n = get_ranged(e, "an integer", 0, kMaxInt32);
      if (!n.is_ok()) return n.status();
      opts_.max_subscriptions = static_cast<int32_t>(n.value());
      return Status::ok();
    }
    if (key == "ping_interval") return assign_duration(e, opts_.ping_interval);
    if (key == "write_deadline") return assign_duration(e, opts_.write_deadline);
    if (key == "debug") return assign_bool(e, opts_.debug);
    if (key == "trace") return assign_bool(e, opts_.trace);
    if (key == "logfile" || key == "log_file") return assign_string(e, opts_.log_file);
    if (key == "http_port" || key == "monitor_port") return assign_port(e, opts_.http_port);
    if (key == "http") return apply_http(e);
    if (key == "authorization") return apply_authorization(e);
    if (key == "jetstream") return apply_jetstream(e);
    if (key == "store_dir" || key == "storedir") return assign_store_dir(e);
    warn_unknown(e, "", warnings_);
    return Status::ok();
  }

  Status assign_string(const ConfEntry& e, std::string& out) {
    Result<std::string> s = get_string(e);
    if (!s.is_ok()) return s.status();
    out = std::move(s.value());
    return Status::ok();
  }

  Status assign_bool(const ConfEntry& e, bool& out) {
    Result<bool> b = get_bool(e);
    if (!b.is_ok()) return b.status();
    out = b.value();
    return Status::ok();
  }

  // -1 asks for a random port, as in nats-server.
  Status assign_port(const ConfEntry& e, int& out) {
    Result<int64_t> n = get_ranged(e, "a port number", -1, 65535);
    if (!n.is_ok()) return n.status();
    out = static_cast<int>(n.value());
    return Status::ok();
  }

  // A positive limit; 0 keeps the default, as nats-server's setBaselineOptions does.
  template <class T>
  Status assign_limit(const ConfEntry& e, T& out, int64_t max) {
    Result<int64_t> n = get_integer(e, "a size");
    if (!n.is_ok()) return n.status();
    if (n.value() == 0) return Status::ok();
    if (auto msg = out_of_range(e.key, n.value(), 1, max)) return located(e, *msg);
    out = static_cast<T>(n.value());
    return Status::ok();
  }

  Status assign_duration(const ConfEntry& e, Millis& out) {
    Result<Millis> d = get_duration(e, warnings_);
    if (!d.is_ok()) return d.status();
    if (d.value().count() == 0) return Status::ok();  // 0 keeps the default, as in nats-server
    if (d.value().count() < 0) return located(e, e.key + ": must be positive");
    out = d.value();
    return Status::ok();
  }

  // listen: 4222 | ":4222" | "127.0.0.1:4222" | "[::1]:4222"
  Status apply_listen(const ConfEntry& e) { return apply_host_port(e, opts_.host, opts_.port); }

  // http: 8222 | "127.0.0.1:8222" — the monitoring listener (nats-server's HTTPHost/HTTPPort).
  Status apply_http(const ConfEntry& e) { return apply_host_port(e, opts_.http_host, opts_.http_port); }

  Status apply_host_port(const ConfEntry& e, std::string& out_host, int& out_port) {
    if (e.value.is_integer()) return assign_port(e, out_port);
    if (!e.value.is_string()) return type_error(e, "a port or host:port");
    const std::string& s = e.value.as_string();
    std::string host, port = s;
    if (size_t colon = s.rfind(':'); colon != std::string::npos) {
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    }
    Result<int64_t> n = parse_conf_integer(port);
    if (!n.is_ok() || port.find_first_not_of("0123456789-") != std::string::npos) {
      return type_error(e, "a port or host:port");
    }
    if (auto msg = out_of_range(e.key, n.value(), -1, 65535)) return located(e, *msg);
    if (!host.empty()) out_host = host;  // ":4222" keeps the default host, as in nats-server
    out_port = static_cast<int>(n.value());
    return Status::ok();
  }

  // authorization { user, password | token | users [...], timeout, default_permissions }
  // Like nats-server, the block replaces any earlier user/password/token.
  Status apply_authorization(const ConfEntry& e) {
    if (!e.value.is_map()) return type_error(e, "a map such as { token: \"...\" }");
    opts_.username.clear();
    opts_.password.clear();
    opts_.token.clear();
    opts_.users.clear();
    std::optional<Permissions> default_permissions;
    for (const ConfEntry& sub : e.value.as_map()) {
      const std::string key = lowercase(sub.key);
      Status s;
      if (key == "user" || key == "username") {
        s = assign_string(sub, opts_.username);
      } else if (key == "pass" || key == "password") {
        s = assign_string(sub, opts_.password);
      } else if (key == "token") {
        s = assign_string(sub, opts_.token);
      } else if (key == "timeout") {
        s = apply_auth_timeout(sub);
      } else if (key == "users") {
        s = apply_users(sub);
      } else if (key == "default_permission" || key == "default_permissions" || key == "permissions") {
        default_permissions.emplace();
        s = apply_permissions(sub, *default_permissions);
      } else {
        warn_unknown(sub, "authorization", warnings_);
      }
      if (!s.is_ok()) return s;
    }
    if (default_permissions) {
      for (User& u : opts_.users) {
        if (u.permissions.empty()) u.permissions = *default_permissions;
      }
    }
    if (auto msg = check_auth(opts_)) return located(e, *msg);
    return Status::ok();
  }

  // Seconds, possibly fractional (nats-server's type), or a duration string.
  Status apply_auth_timeout(const ConfEntry& e) {
    double seconds = 0;
    if (e.value.is_integer()) {
      seconds = static_cast<double>(e.value.as_integer());
    } else if (e.value.is_float()) {
      seconds = e.value.as_float();
    } else if (e.value.is_string()) {
      auto d = parse_duration(e.value.as_string());
      if (!d) return type_error(e, "seconds or a duration such as \"2s\"");
      seconds = std::chrono::duration<double>(*d).count();
    } else {
      return type_error(e, "seconds or a duration such as \"2s\"");
    }
    if (!(seconds > 0) || seconds > 86400.0 * 365) return located(e, "timeout: must be a positive number of seconds");
    opts_.auth_timeout = Millis(std::max<int64_t>(1, std::llround(seconds * 1000)));
    return Status::ok();
  }

  Status apply_users(const ConfEntry& e) {
    if (!e.value.is_array()) return type_error(e, "an array of { user, password } maps");
    for (const ConfValue& item : e.value.as_array()) {
      ConfEntry entry{"users", item.line, item};
      if (!item.is_map()) return type_error(entry, "a map such as { user: alice, password: s3cret }");
      User user;
      for (const ConfEntry& sub : item.as_map()) {
        const std::string key = lowercase(sub.key);
        Status s;
        if (key == "user" || key == "username") {
          s = assign_string(sub, user.username);
        } else if (key == "pass" || key == "password") {
          s = assign_string(sub, user.password);
        } else if (key == "permission" || key == "permissions" || key == "authorization") {
          s = apply_permissions(sub, user.permissions);
        } else if (key == "nkey") {
          return located(sub, "nkey: nkey users are not supported by tern yet");
        } else {
          warn_unknown(sub, "a user", warnings_);
        }
        if (!s.is_ok()) return s;
      }
      if (user.username.empty()) return located(entry, "users: this entry has no user");
      opts_.users.push_back(std::move(user));
    }
    return Status::ok();
  }

  // permissions { publish: ..., subscribe: ... }
  Status apply_permissions(const ConfEntry& e, Permissions& out) {
    if (!e.value.is_map()) return type_error(e, "a map such as { publish: \"a.>\", subscribe: [\"b\"] }");
    for (const ConfEntry& sub : e.value.as_map()) {
      const std::string key = lowercase(sub.key);
      Status s;
      if (key == "publish" || key == "pub" || key == "import") {
        s = apply_subject_permission(sub, out.publish);
      } else if (key == "subscribe" || key == "sub" || key == "export") {
        s = apply_subject_permission(sub, out.subscribe);
      } else if (key == "allow_responses" || key == "publish_allow_responses") {
        warnings_.push_back(sub.where() + ": " + quoted(sub.key) + " is not supported by tern yet; ignored");
      } else {
        warn_unknown(sub, "permissions", warnings_);
      }
      if (!s.is_ok()) return s;
    }
    return Status::ok();
  }

  // "a.>" | ["a", "b"] | { allow: ..., deny: ... }
  Status apply_subject_permission(const ConfEntry& e, SubjectPermission& out) {
    if (!e.value.is_map()) {
      out.deny.clear();
      return read_subjects(e, out.allow);
    }
    out = SubjectPermission{};
    for (const ConfEntry& sub : e.value.as_map()) {
      const std::string key = lowercase(sub.key);
      Status s;
      if (key == "allow") {
        s = read_subjects(sub, out.allow);
      } else if (key == "deny") {
        s = read_subjects(sub, out.deny);
      } else {
        warn_unknown(sub, e.key, warnings_);
      }
      if (!s.is_ok()) return s;
    }
    return Status::ok();
  }

  // A subject may carry a queue group after a space ("foo.* workers"), as in nats-server.
  Status read_subjects(const ConfEntry& e, std::vector<std::string>& out) {
    std::vector<const ConfValue*> items;
    if (e.value.is_array()) {
      for (const ConfValue& v : e.value.as_array()) items.push_back(&v);
    } else {
      items.push_back(&e.value);
    }
    out.clear();
    for (const ConfValue* v : items) {
      ConfEntry item{e.key, v->line, *v};
      if (!v->is_string()) return type_error(item, "a subject or an array of subjects");
      const std::string& subject = v->as_string();
      size_t space = subject.find(' ');
      bool valid = space == std::string::npos ? proto::is_valid_subscribe_subject(subject)
                                              : proto::is_valid_subscribe_subject(subject.substr(0, space)) &&
                                                    proto::is_valid_queue_name(subject.substr(space + 1));
      if (!valid) return located(item, e.key + ": invalid subject " + quoted(subject));
      out.push_back(subject);
    }
    return Status::ok();
  }

  // jetstream: true | enabled | disabled | { store_dir, max_memory_store, max_file_store, sync_interval }
  Status apply_jetstream(const ConfEntry& e) {
    JetStreamOptions& js = opts_.jetstream;
    if (e.value.is_bool()) {
      js.enabled = e.value.as_bool();
      return Status::ok();
    }
    if (e.value.is_string()) {
      const std::string v = lowercase(e.value.as_string());
      if (v == "enabled" || v == "enable") {
        js.enabled = true;
      } else if (v == "disabled" || v == "disable") {
        js.enabled = false;
      } else {
        return type_error(e, "true, false, enabled, disabled or a map");
      }
      return Status::ok();
    }
    if (!e.value.is_map()) return type_error(e, "true, false, enabled, disabled or a map");
    bool enable = true;  // a jetstream { } block turns it on unless it says enabled: false
    for (const ConfEntry& sub : e.value.as_map()) {
      const std::string key = lowercase(sub.key);
      Status s;
      if (key == "store" || key == "store_dir" || key == "storedir") {
        s = assign_store_dir(sub);
      } else if (key == "max_memory_store" || key == "max_mem_store" || key == "max_mem") {
        s = assign_storage_size(sub, js.max_memory_store);
      } else if (key == "max_file_store" || key == "max_file") {
        s = assign_storage_size(sub, js.max_file_store);
      } else if (key == "sync_interval" || key == "sync") {
        s = apply_sync_interval(sub);
      } else if (key == "enable" || key == "enabled") {
        s = assign_bool(sub, enable);
      } else if (key == "domain" || key == "key" || key == "ek" || key == "encryption_key" || key == "cipher" ||
                 key == "limits" || key == "unique_tag" || key == "extension_hint" ||
                 key == "max_outstanding_catchup") {
        warnings_.push_back(sub.where() + ": " + quoted(sub.key) +
                            " in jetstream is not supported by tern yet; ignored");
      } else {
        warn_unknown(sub, "jetstream", warnings_);
      }
      if (!s.is_ok()) return s;
    }
    js.enabled = enable;
    return Status::ok();
  }

  // store_dir may be given at the top level or in jetstream { }, but only once (as nats-server).
  Status assign_store_dir(const ConfEntry& e) {
    if (store_dir_set_) return located(e, "store_dir: given twice (at the top level and in jetstream?)");
    store_dir_set_ = true;
    return assign_string(e, opts_.jetstream.store_dir);
  }

  Status assign_storage_size(const ConfEntry& e, int64_t& out) {
    Result<int64_t> n = get_storage_size(e);
    if (!n.is_ok()) return n.status();
    out = n.value();
    return Status::ok();
  }

  Status apply_sync_interval(const ConfEntry& e) {
    Result<std::string> s = get_string(e);
    if (!s.is_ok()) return s.status();
    if (auto msg = check_sync_interval(s.value())) return located(e, *msg);
    opts_.jetstream.sync_interval = s.value();
    return Status::ok();
  }

  Options& opts_;
  std::vector<std::string>& warnings_;
  bool store_dir_set_ = false;
};

}  // namespace

Status validate(const Options& o) {
  std::optional<std::string> msg;
  if (!msg) msg = out_of_range("port", o.port, -1, 65535);
  if (!msg) msg = out_of_range("http_port", o.http_port, -1, 65535);
  if (!msg) msg = out_of_range("max_payload", o.max_payload, 1, kMaxInt32);
  if (!msg) msg = out_of_range("max_control_line", o.max_control_line, 1, kMaxInt32);
  if (!msg) msg = out_of_range("max_connections", o.max_connections, 1, kMaxInt32);
  if (!msg) msg = out_of_range("max_subscriptions", o.max_subscriptions, 0, kMaxInt32);
  if (!msg) msg = out_of_range("max_pending", o.max_pending, 1, kMaxInt64);
  if (!msg) msg = out_of_range("ping_max", o.ping_max, 1, kMaxInt32);
  if (!msg && o.ping_interval.count() <= 0) msg = "ping_interval: must be positive";
  if (!msg && o.write_deadline.count() <= 0) msg = "write_deadline: must be positive";
  if (!msg && o.max_payload > o.max_pending) {
    // nats-server's rule: a message that can never fit in a client's outbound buffer is useless.
    msg = "max_payload (" + std::to_string(o.max_payload) + ") cannot be higher than max_pending (" +
          std::to_string(o.max_pending) + ")";
  }
  if (!msg && o.server_name.find(' ') != std::string::npos) msg = "server_name: cannot contain spaces";
  if (!msg) msg = check_auth(o);
  if (!msg) msg = out_of_range("jetstream.max_memory_store", o.jetstream.max_memory_store, -1, kMaxInt64);
  if (!msg) msg = out_of_range("jetstream.max_file_store", o.jetstream.max_file_store, -1, kMaxInt64);
  if (!msg) msg = check_sync_interval(o.jetstream.sync_interval);
  return msg ? Status::error(*msg) : Status::ok();
}

Status apply_config(const ConfMap& root, Options& opts, std::vector<std::string>& warnings) {
  return ConfigLoader(opts, warnings).apply(root);
}

Status apply_config_text(std::string_view text, const std::string& file_name, Options& opts,
                         std::vector<std::string>& warnings) {
  Result<ConfMap> root = parse_conf(text, file_name);
  if (!root.is_ok()) return root.status();
  return ConfigLoader(opts, warnings).apply(root.value());
}

Status apply_config_file(const std::string& path, Options& opts, std::vector<std::string>& warnings) {
  Result<ConfMap> root = parse_conf_file(path);
  if (!root.is_ok()) return root.status();
  opts.config_file = path;
  return ConfigLoader(opts, warnings).apply(root.value());
}

}  // namespace tern::server
