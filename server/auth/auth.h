#pragma once
// Who may connect, and what they may publish and subscribe to.
// Token, a single user/password, or a users list with per-user permissions; passwords
// may be plain or bcrypt hashes ("$2a$", "$2b$", "$2y$"), as nats-server accepts them.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "server/config/options.h"

namespace tern::server {

// Decides publish/subscribe rights for one authenticated user. Results are cached per
// subject, since a client usually publishes to a handful of subjects many times.
class PermissionChecker {
 public:
  explicit PermissionChecker(const Permissions& perms) : perms_(perms) {}
  bool can_publish(std::string_view subject);
  bool can_subscribe(std::string_view subject, std::string_view queue);

 private:
  static constexpr size_t kMaxCache = 1024;
  const Permissions& perms_;  // lives in the server's Options, which outlive every client
  std::unordered_map<std::string, bool> pub_cache_;
};

struct Credentials {
  std::string_view auth_token, user, pass;
};

struct AuthOutcome {
  bool ok = false;
  std::string user;                     // for logs
  const Permissions* permissions = nullptr;  // nullptr: no restrictions
};

class Authenticator {
 public:
  explicit Authenticator(const Options& opts) : opts_(opts) {}
  bool required() const { return opts_.auth_required(); }
  AuthOutcome check(const Credentials& c) const;

 private:
  const Options& opts_;
};

// Compares a password against a stored one (plain or bcrypt) in constant time for plain text.
bool password_matches(std::string_view given, const std::string& stored);

}  // namespace tern::server
