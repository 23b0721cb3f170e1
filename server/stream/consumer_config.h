#pragma once
// ConsumerConfig: a consumer's configuration as the JetStream API carries it (NATS field names
// and defaults, jetstream-api spec section 8.3), plus Tern's `dead_letter` extension
// (docs/dead-letter.md). Decoding follows Go's json.Unmarshal in nats-server like
// stream_config.h: unknown keys ignored, null leaves the default, a wrong type or an
// out-of-range number is "invalid JSON" (10025). Defaults follow setConsumerConfigDefaults and
// validation checkConsumerCfg (nats-server 2.9.10, consumer.go); update rules updateConfig.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/config/go_duration.h"
#include "server/stream/api_errors.h"
#include "server/stream/stream_config.h"

namespace tern::server {

enum class DeliverPolicy { kAll, kLast, kNew, kByStartSequence, kByStartTime, kLastPerSubject };
enum class AckPolicy { kNone, kAll, kExplicit };
enum class ReplayPolicy { kInstant, kOriginal };

inline constexpr int64_t kDefaultAckWaitNs = 30'000'000'000;            // 30 s
inline constexpr int64_t kDefaultMaxAckPending = 1000;                  // explicit/all when unset
inline constexpr int64_t kDefaultMaxWaiting = 512;                      // pull consumers
inline constexpr int64_t kDefaultEphemeralInactiveNs = 5'000'000'000;   // 5 s
inline constexpr size_t kMaxConsumerNameLen = 255;

struct ConsumerConfig {
  std::string durable_name;
  std::string name;
  std::string description;
  DeliverPolicy deliver_policy = DeliverPolicy::kAll;
  uint64_t opt_start_seq = 0;         // 0: not set
  int64_t opt_start_time_ns = 0;      // ns since the epoch; has_start_time says whether it is set
  bool has_start_time = false;
  int32_t opt_start_time_offset_s = 0;  // UTC offset it was sent with; nats echoes the time in it
  AckPolicy ack_policy = AckPolicy::kNone;
  int64_t ack_wait_ns = 0;            // 0 before defaults
  int64_t max_deliver = 0;            // -1 (after defaults) = unlimited
  std::vector<int64_t> backoff_ns;
  std::string filter_subject;         // echoed verbatim
  ReplayPolicy replay_policy = ReplayPolicy::kInstant;
  uint64_t rate_limit_bps = 0;
  std::string sample_freq;
  int64_t max_waiting = 0;
  int64_t max_ack_pending = 0;
  int64_t idle_heartbeat_ns = 0;
  bool flow_control = false;
  bool headers_only = false;
  int64_t max_batch = 0;
  int64_t max_expires_ns = 0;
  int64_t max_bytes = 0;
  std::string deliver_subject;        // set: push consumer (Tern serves pull only; see api)
  std::string deliver_group;
  int64_t inactive_threshold_ns = 0;
  int64_t num_replicas = 0;
  bool mem_storage = false;
  // Tern extension: after max_deliver or +TERM a copy goes to this stream (empty: off).
  std::string dead_letter_stream;

  bool is_pull() const { return deliver_subject.empty(); }
  bool is_durable() const { return !durable_name.empty(); }
  bool operator==(const ConsumerConfig&) const = default;
};

// The body of a create request: {"stream_name":…,"config":{…},"action":…}.
struct CreateConsumerRequest {
  std::string stream_name;
  ConsumerConfig config;
  std::string action;  // "", "create" or "update" (2.10; accepted)
};

// Decodes a create request body (`j` is the parsed body, any JSON value).
std::optional<ApiError> decode_create_consumer_request(const nlohmann::json& j, CreateConsumerRequest* out);
std::optional<ApiError> decode_consumer_config(const nlohmann::json& j, ConsumerConfig* out);
// Fills defaults and validates one config against its stream (checkConsumerCfg + the workqueue
// rules that need only the stream config; the rules that look at other consumers are the
// caller's). `stream_sealed` etc. come from `stream`. `recovering` (a config read back from disk)
// skips the filter-subset check as nats does, so a stream whose subjects were changed since does
// not lose its consumers on restart.
std::optional<ApiError> check_consumer_config(const StreamConfig& stream, ConsumerConfig* cfg, bool recovering = false);
// The update rules (8.2): `updated` is already defaulted and checked; returns 10012 with NATS's
// text for a forbidden change.
std::optional<ApiError> check_consumer_update(const ConsumerConfig& old, const ConsumerConfig& updated);

// The config as the API returns it (and as Tern persists it): defaults shown as NATS shows them.
nlohmann::ordered_json consumer_config_json(const ConsumerConfig& cfg);

// Go's time.RFC3339Nano of `ns` (since the epoch) at `offset_s` from UTC: trailing zeros of the
// fraction dropped, "Z" for offset 0. Stream and consumer timestamps use it with offset 0.
std::string format_rfc3339_ns(int64_t ns, int32_t offset_s);


}  // namespace tern::server
