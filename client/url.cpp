#include "client/url.h"

#include <charconv>
#include <cstdlib>

#include "tern/errors.h"

namespace tern::detail {
namespace {

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (r.ec == std::errc() && r.ptr == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string ServerAddr::display() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<ServerList> parse_server_list(std::string_view urls) {
  ServerList list;
  bool have_creds = false;
  size_t start = 0;
  while (start <= urls.size()) {
    size_t comma = urls.find(',', start);
    std::string_view entry = trim(urls.substr(start, comma == std::string_view::npos ? urls.npos : comma - start));
    start = comma == std::string_view::npos ? urls.size() + 1 : comma + 1;
    std::string what = "URL '" + std::string(entry) + "'";
    if (entry.empty()) return make_error(ErrorCode::InvalidArgument, "empty server URL in '" + std::string(urls) + "'");

    std::string_view rest = entry;
    if (size_t sep = rest.find("://"); sep != std::string_view::npos) {
      std::string_view scheme = rest.substr(0, sep);
      if (scheme == "tls")
        return make_error(ErrorCode::Unsupported, what + ": TLS is not supported by libtern yet; use nats://");
      if (scheme != "nats")
        return make_error(ErrorCode::InvalidArgument,
                          what + ": unknown scheme '" + std::string(scheme) + "' (want nats://)");
      rest.remove_prefix(sep + 3);
    }
    if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
      if (rest.substr(slash) != "/") return make_error(ErrorCode::InvalidArgument, what + ": a path is not allowed");
      rest = rest.substr(0, slash);
    }
    if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
      std::string_view userinfo = rest.substr(0, at);
      rest.remove_prefix(at + 1);
      if (!have_creds && !userinfo.empty()) {
        have_creds = true;
        if (size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
          list.user = percent_decode(userinfo.substr(0, colon));
          list.password = percent_decode(userinfo.substr(colon + 1));
        } else {
          list.token = percent_decode(userinfo);
        }
      }
    }
    ServerAddr addr;
    std::string_view port_text;
    bool has_port = false;
    if (!rest.empty() && rest.front() == '[') {
      size_t close = rest.find(']');
      if (close == std::string_view::npos) return make_error(ErrorCode::InvalidArgument, what + ": unclosed '['");
      addr.host = std::string(rest.substr(1, close - 1));
      std::string_view after = rest.substr(close + 1);
      if (!after.empty()) {
        if (after.front() != ':') return make_error(ErrorCode::InvalidArgument, what + ": junk after ']'");
        port_text = after.substr(1);
        has_port = true;
      }
    } else {
      size_t colon = rest.rfind(':');
      if (colon != std::string_view::npos) {
        port_text = rest.substr(colon + 1);
        rest = rest.substr(0, colon);
        has_port = true;
      }
      addr.host = std::string(rest);
    }
    if (addr.host.empty()) return make_error(ErrorCode::InvalidArgument, what + ": no host");
    if (addr.host.find_first_of(" \t/?#@") != std::string::npos)
      return make_error(ErrorCode::InvalidArgument, what + ": bad host '" + addr.host + "'");
    if (has_port) {
      int port = 0;
      auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      if (port_text.empty() || r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() || port < 1 ||
          port > 65535)
        return make_error(ErrorCode::InvalidArgument, what + ": bad port '" + std::string(port_text) + "'");
      addr.port = port;
    }
    list.servers.push_back(std::move(addr));
  }
  return list;
}

std::string effective_url(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("NATS_URL"); env && *env) return env;
  return std::string(kDefaultUrl);
}

}  // namespace tern::detail
