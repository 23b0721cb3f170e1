#pragma once
// The NATS/1.0 header block carried by HPUB/HMSG (protocol spec section 4).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/status.h"

namespace tern::proto {

inline constexpr std::string_view kHeaderVersion = "NATS/1.0";
// A status-only block the server sends for no-responders.
inline constexpr std::string_view kNoRespondersHeader = "NATS/1.0 503\r\n\r\n";

struct Headers {
  int status = 0;            // 0 when the version line carries no status
  std::string description;   // text after the status code
  std::vector<std::pair<std::string, std::string>> fields;  // in order; keys may repeat

  // First value of an exact (case-sensitive) key, or nullptr.
  const std::string* get(std::string_view key) const;
  void add(std::string key, std::string value) { fields.emplace_back(std::move(key), std::move(value)); }
};

// Parses a whole block (version line through the terminating empty line).
Result<Headers> parse_headers(std::string_view block);

// Encodes a block: "NATS/1.0[ status[ description]]\r\n" + "Key: Value\r\n"... + "\r\n".
std::string encode_headers(const Headers& h);

// Fast lookup without parsing, as nats-server does: the first value of `key` (case-sensitive,
// at the start of a line), with leading spaces skipped; empty view when absent.
std::string_view find_header(std::string_view block, std::string_view key);

}  // namespace tern::proto
