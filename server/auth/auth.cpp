#include "server/auth/auth.h"

#include <crypt.h>

#include <cstring>

#include "proto/subject.h"

namespace tern::server {
namespace {

bool any_matches(const std::vector<std::string>& patterns, std::string_view subject) {
  for (const auto& p : patterns)
    if (proto::subject_matches(p, subject)) return true;
  return false;
}

bool allowed(const SubjectPermission& p, std::string_view subject) {
  if (!p.allow.empty() && !any_matches(p.allow, subject)) return false;
  return !any_matches(p.deny, subject);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

bool PermissionChecker::can_publish(std::string_view subject) {
  std::string key(subject);
  if (auto it = pub_cache_.find(key); it != pub_cache_.end()) return it->second;
  bool ok = allowed(perms_.publish, subject);
  if (pub_cache_.size() >= kMaxCache) pub_cache_.clear();
  pub_cache_.emplace(std::move(key), ok);
  return ok;
}

bool PermissionChecker::can_subscribe(std::string_view subject, std::string_view /*queue*/) {
  return allowed(perms_.subscribe, subject);
}

bool password_matches(std::string_view given, const std::string& stored) {
  if (stored.rfind("$2a$", 0) == 0 || stored.rfind("$2b$", 0) == 0 || stored.rfind("$2y$", 0) == 0) {
    // libcrypt (libxcrypt) implements bcrypt; crypt_rn writes into caller-owned state.
    crypt_data data;
    std::memset(&data, 0, sizeof data);
    std::string pw(given);
    const char* h = crypt_rn(pw.c_str(), stored.c_str(), &data, sizeof data);
    return h && constant_time_equal(h, stored);
  }
  return constant_time_equal(given, stored);
}

AuthOutcome Authenticator::check(const Credentials& c) const {
  AuthOutcome out;
  if (!opts_.token.empty()) {
    out.ok = password_matches(c.auth_token, opts_.token);
    return out;
  }
  if (!opts_.username.empty()) {
    out.ok = c.user == opts_.username && password_matches(c.pass, opts_.password);
    out.user = opts_.username;
    return out;
  }
  for (const User& u : opts_.users) {
    if (u.username != c.user) continue;
    out.ok = password_matches(c.pass, u.password);
    out.user = u.username;
    if (!u.permissions.empty()) out.permissions = &u.permissions;
    return out;
  }
  out.ok = opts_.users.empty();
  return out;
}

}  // namespace tern::server
