#pragma once
// StreamConfig: a stream's configuration as the JetStream API carries it (NATS field names and
// defaults, jetstream-api spec section 5.2), plus Tern's `compression` extension
// (spec/extensions.md). Decoding follows Go's json.Unmarshal in nats-server: unknown keys are
// ignored, null leaves the default, a wrong type or an out-of-range number is "invalid JSON"
// (10025). Defaults and validation follow checkStreamCfg (500/10052 unless noted).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/stream/api_errors.h"
#include "server/stream/store.h"

namespace tern::server {

enum class Retention { kLimits, kInterest, kWorkQueue };
enum class StorageType { kFile, kMemory };

inline constexpr int64_t kDefaultDuplicateWindowNs = 120'000'000'000;  // 2 min, nats' StreamDefaultDuplicatesWindow
inline constexpr int64_t kMinWindowNs = 100'000'000;  // 100 ms: the floor nats puts on max_age and duplicate_window
inline constexpr size_t kMaxNameLen = 255;            // JSMaxNameLen
inline constexpr size_t kMaxDescriptionLen = 4096;    // JSMaxDescriptionLen

struct StreamConfig {
  std::string name;
  std::string description;
  std::vector<std::string> subjects;
  Retention retention = Retention::kLimits;
  int64_t max_consumers = 0;
  int64_t max_msgs = 0;
  int64_t max_bytes = 0;
  int64_t max_age_ns = 0;
  int64_t max_msgs_per_subject = 0;
  int64_t max_msg_size = 0;  // int32 on the wire
  DiscardPolicy discard = DiscardPolicy::kOld;
  StorageType storage = StorageType::kFile;
  int64_t num_replicas = 0;
  bool no_ack = false;
  int64_t duplicate_window_ns = 0;
  bool allow_direct = false;
  bool mirror_direct = false;
  bool discard_new_per_subject = false;
  bool sealed = false;
  bool deny_delete = false;
  bool deny_purge = false;
  bool allow_rollup_hdrs = false;
  Compression compression = Compression::kNone;  // Tern extension; file storage only

  bool operator==(const StreamConfig&) const = default;
};

// Decodes a request body. `j` must be the parsed body (any JSON value).
std::optional<ApiError> decode_stream_config(const nlohmann::json& j, StreamConfig* out);
// Fills defaults and validates one config on its own (no other stream is looked at).
std::optional<ApiError> check_stream_config(StreamConfig* cfg);
// The rules for changing `old` into `updated` (already checked by check_stream_config).
std::optional<ApiError> check_stream_update(const StreamConfig& old, StreamConfig* updated);

// The config as the API returns it (and as Tern persists it).
nlohmann::ordered_json stream_config_json(const StreamConfig& cfg);
StoreLimits store_limits(const StreamConfig& cfg);

// isValidName in nats-server: non-empty, none of " \t\r\n\f.*>".
bool is_valid_stream_name(std::string_view name);
// nats-server's SubjectsCollide: could some subject match both (wildcards allowed on both sides)?
bool subjects_collide(std::string_view a, std::string_view b);

}  // namespace tern::server
