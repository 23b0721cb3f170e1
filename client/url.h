#pragma once
// Parsing Options::url: "nats://[user[:pass]@]host[:port][,[nats://]host[:port]]...".

#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"

namespace tern::detail {

inline constexpr int kDefaultPort = 4222;
inline constexpr std::string_view kDefaultUrl = "nats://127.0.0.1:4222";

struct ServerAddr {
  std::string host;  // without IPv6 brackets
  int port = kDefaultPort;
  std::string display() const;  // "host:port" ("[::1]:4222" for IPv6)
};

struct ServerList {
  std::vector<ServerAddr> servers;  // at least one on success
  // Credentials from the first URL that has any: "user:pass@" or a lone "token@".
  std::string user, password, token;
};

// Errors: InvalidArgument (empty entry, bad port, unknown scheme), Unsupported (tls://).
Result<ServerList> parse_server_list(std::string_view urls);

// Options::url if set, else $NATS_URL if set, else kDefaultUrl.
std::string effective_url(const std::string& configured);

}  // namespace tern::detail
