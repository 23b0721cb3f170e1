#pragma once
// Field getters for decoding JetStream API bodies the way Go's json.Unmarshal decodes them into
// nats-server's config structs: an absent key or null keeps the default; a value of the wrong
// type fails the whole decode (the caller answers 10025 invalid JSON). Shared by the stream and
// consumer config decoders so both accept exactly the same JSON.

#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

namespace tern::server::json_fields {

inline bool get_string(const nlohmann::json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

inline bool get_bool(const nlohmann::json& j, const char* key, bool* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_boolean()) return false;
  *out = it->get<bool>();
  return true;
}

// A JSON integer in [lo, hi] (Go int / int32 / int64 / time.Duration). Floats (1.5, 1e3) and
// numbers too big for int64 are refused, as Go refuses them for integer fields.
inline bool int_value(const nlohmann::json& v, int64_t lo, int64_t hi, int64_t* out) {
  int64_t x = 0;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    x = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    x = v.get<int64_t>();
  } else {
    return false;
  }
  if (x < lo || x > hi) return false;
  *out = x;
  return true;
}

inline bool get_int(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  return int_value(*it, lo, hi, out);
}

inline bool get_int(const nlohmann::json& j, const char* key, int64_t* out) {
  return get_int(j, key, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), out);
}

}  // namespace tern::server::json_fields
