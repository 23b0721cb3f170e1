// The JetStream API's JSON objects <-> libtern's structs. Encoding leaves every unset field out
// (as nats.go's omitempty does) so the server applies its own defaults; decoding never throws:
// a field of the wrong type reads as absent, so a newer server's additions cannot break us.
#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "client/jetstream_impl.h"
#include "proto/headers.h"
#include "tern/errors.h"

namespace tern {

namespace {

using nlohmann::json;

template <class E, size_t N>
using EnumNames = std::array<std::pair<E, std::string_view>, N>;

// The one table per enum: the exact lower-case strings of the API (jetstream-api.md §1 rule 8).
constexpr EnumNames<RetentionPolicy, 3> kRetention{{
    {RetentionPolicy::Limits, "limits"},
    {RetentionPolicy::Interest, "interest"},
    {RetentionPolicy::WorkQueue, "workqueue"},
}};
constexpr EnumNames<DiscardPolicy, 2> kDiscard{{{DiscardPolicy::Old, "old"}, {DiscardPolicy::New, "new"}}};
constexpr EnumNames<StorageType, 2> kStorage{{{StorageType::File, "file"}, {StorageType::Memory, "memory"}}};
constexpr EnumNames<DeliverPolicy, 6> kDeliver{{
    {DeliverPolicy::All, "all"},
    {DeliverPolicy::Last, "last"},
    {DeliverPolicy::New, "new"},
    {DeliverPolicy::ByStartSequence, "by_start_sequence"},
    {DeliverPolicy::ByStartTime, "by_start_time"},
    {DeliverPolicy::LastPerSubject, "last_per_subject"},
}};
constexpr EnumNames<AckPolicy, 3> kAck{
    {{AckPolicy::None, "none"}, {AckPolicy::All, "all"}, {AckPolicy::Explicit, "explicit"}}};
constexpr EnumNames<ReplayPolicy, 2> kReplay{
    {{ReplayPolicy::Instant, "instant"}, {ReplayPolicy::Original, "original"}}};

template <class E, size_t N>
std::string_view name_of(const EnumNames<E, N>& names, E e) {
  for (const auto& [v, n] : names)
    if (v == e) return n;
  return "unknown";
}

// The enum a string names; `fallback` for anything else (a value from a newer server).
template <class E, size_t N>
E enum_of(const EnumNames<E, N>& names, const json& j, const char* key, E fallback) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return fallback;
  const auto& s = it->get_ref<const std::string&>();
  for (const auto& [v, n] : names)
    if (n == s) return v;
  return fallback;
}

// Type-checked reads: a missing key or one of another type gives the fallback.
std::string get_string(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
// Numbers saturate at the type's limits: the parser reads an integer too large for 64 bits as a
// double (1e30), and converting an out-of-range double to an integer is undefined behaviour.
int64_t get_i64(const json& j, const char* key, int64_t fallback = 0) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return fallback;
  if (it->is_number_unsigned()) return static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), INT64_MAX));
  if (it->is_number_integer()) return it->get<int64_t>();
  double d = it->get<double>();
  if (d >= 0x1p63) return INT64_MAX;  // 2^63: the first double past INT64_MAX
  if (d < -0x1p63) return INT64_MIN;
  return static_cast<int64_t>(d);
}
uint64_t get_u64(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) return it->get<int64_t>() < 0 ? 0 : static_cast<uint64_t>(it->get<int64_t>());
  double d = it->get<double>();
  if (!(d > 0)) return 0;
  if (d >= 0x1p64) return UINT64_MAX;
  return static_cast<uint64_t>(d);
}
// An int field (replicas, sizes, error codes), clamped like the above.
int get_int(const json& j, const char* key, int fallback = 0) {
  return static_cast<int>(std::clamp<int64_t>(get_i64(j, key, fallback), INT_MIN, INT_MAX));
}
bool get_bool(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}
const json& get_object(const json& j, const char* key) {
  static const json kEmpty = json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : kEmpty;
}
std::vector<std::string> get_strings(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& s : *it)
    if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

StreamConfig stream_config_from_json(const json& j) {
  StreamConfig c;
  c.name = get_string(j, "name");
  c.description = get_string(j, "description");
  c.subjects = get_strings(j, "subjects");
  c.retention = enum_of(kRetention, j, "retention", RetentionPolicy::Limits);
  c.max_consumers = get_i64(j, "max_consumers", -1);
  c.max_msgs = get_i64(j, "max_msgs", -1);
  c.max_bytes = get_i64(j, "max_bytes", -1);
  c.max_age = std::chrono::nanoseconds(get_i64(j, "max_age"));
  c.max_msgs_per_subject = get_i64(j, "max_msgs_per_subject", -1);
  c.max_msg_size = get_int(j, "max_msg_size", -1);
  c.discard = enum_of(kDiscard, j, "discard", DiscardPolicy::Old);
  c.storage = enum_of(kStorage, j, "storage", StorageType::File);
  c.replicas = get_int(j, "num_replicas", 1);
  c.no_ack = get_bool(j, "no_ack");
  c.duplicate_window = std::chrono::nanoseconds(get_i64(j, "duplicate_window"));
  c.sealed = get_bool(j, "sealed");
  c.deny_delete = get_bool(j, "deny_delete");
  c.deny_purge = get_bool(j, "deny_purge");
  c.allow_rollup_hdrs = get_bool(j, "allow_rollup_hdrs");
  c.allow_direct = get_bool(j, "allow_direct");
  c.compression = get_string(j, "compression");
  return c;
}

ConsumerConfig consumer_config_from_json(const json& j) {
  ConsumerConfig c;
  c.durable_name = get_string(j, "durable_name");
  c.name = get_string(j, "name");
  c.description = get_string(j, "description");
  c.deliver_policy = enum_of(kDeliver, j, "deliver_policy", DeliverPolicy::All);
  c.opt_start_seq = get_u64(j, "opt_start_seq");
  c.opt_start_time = get_string(j, "opt_start_time");
  // Absent on the wire means none (the server's zero value), not the struct's explicit default.
  c.ack_policy = enum_of(kAck, j, "ack_policy", AckPolicy::None);
  c.ack_wait = std::chrono::nanoseconds(get_i64(j, "ack_wait"));
  c.max_deliver = get_i64(j, "max_deliver");
  if (auto it = j.find("backoff"); it != j.end() && it->is_array()) {
    for (const auto& b : *it)
      if (b.is_number_integer()) c.backoff.emplace_back(b.get<int64_t>());
  }
  c.filter_subject = get_string(j, "filter_subject");
  c.replay_policy = enum_of(kReplay, j, "replay_policy", ReplayPolicy::Instant);
  c.max_waiting = get_i64(j, "max_waiting");
  c.max_ack_pending = get_i64(j, "max_ack_pending");
  c.headers_only = get_bool(j, "headers_only");
  c.max_batch = get_i64(j, "max_batch");
  c.max_expires = std::chrono::nanoseconds(get_i64(j, "max_expires"));
  c.inactive_threshold = std::chrono::nanoseconds(get_i64(j, "inactive_threshold"));
  c.num_replicas = get_int(j, "num_replicas");
  c.mem_storage = get_bool(j, "mem_storage");
  c.dead_letter_stream = get_string(get_object(j, "dead_letter"), "stream");
  return c;
}

SequenceInfo sequence_info_from_json(const json& j) {
  SequenceInfo s;
  s.consumer_seq = get_u64(j, "consumer_seq");
  s.stream_seq = get_u64(j, "stream_seq");
  s.last_active = get_string(j, "last_active");
  return s;
}

// Standard base64 (RFC 4648), as Go's encoding/json writes []byte. Padding optional.
Result<std::string> base64_decode(std::string_view in) {
  auto value = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    int v = value(ch);
    if (v < 0) return make_error(ErrorCode::ProtocolError, "bad base64 in a stored message");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6) return make_error(ErrorCode::ProtocolError, "truncated base64 in a stored message");
  return out;
}

}  // namespace

std::string_view to_string(RetentionPolicy v) { return name_of(kRetention, v); }
std::string_view to_string(DiscardPolicy v) { return name_of(kDiscard, v); }
std::string_view to_string(StorageType v) { return name_of(kStorage, v); }
std::string_view to_string(DeliverPolicy v) { return name_of(kDeliver, v); }
std::string_view to_string(AckPolicy v) { return name_of(kAck, v); }
std::string_view to_string(ReplayPolicy v) { return name_of(kReplay, v); }

namespace detail {

std::string dump_json(const nlohmann::json& j) {
  // replace: a non-UTF-8 string must not make dump() throw (libtern never throws).
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json to_json(const StreamConfig& c) {
  json j = json::object();
  j["name"] = c.name;
  if (!c.description.empty()) j["description"] = c.description;
  if (!c.subjects.empty()) j["subjects"] = c.subjects;
  j["retention"] = to_string(c.retention);
  if (c.max_consumers >= 0) j["max_consumers"] = c.max_consumers;
  if (c.max_msgs >= 0) j["max_msgs"] = c.max_msgs;
  if (c.max_bytes >= 0) j["max_bytes"] = c.max_bytes;
  if (c.max_age.count() > 0) j["max_age"] = c.max_age.count();
  if (c.max_msgs_per_subject >= 0) j["max_msgs_per_subject"] = c.max_msgs_per_subject;
  if (c.max_msg_size >= 0) j["max_msg_size"] = c.max_msg_size;
  j["discard"] = to_string(c.discard);
  j["storage"] = to_string(c.storage);
  if (c.replicas > 0) j["num_replicas"] = c.replicas;
  if (c.no_ack) j["no_ack"] = true;
  if (c.duplicate_window.count() > 0) j["duplicate_window"] = c.duplicate_window.count();
  if (c.sealed) j["sealed"] = true;
  if (c.deny_delete) j["deny_delete"] = true;
  if (c.deny_purge) j["deny_purge"] = true;
  if (c.allow_rollup_hdrs) j["allow_rollup_hdrs"] = true;
  if (c.allow_direct) j["allow_direct"] = true;
  if (!c.compression.empty()) j["compression"] = c.compression;
  return j;
}

nlohmann::json to_json(const ConsumerConfig& c) {
  json j = json::object();
  if (!c.durable_name.empty()) j["durable_name"] = c.durable_name;
  if (!c.name.empty()) j["name"] = c.name;
  if (!c.description.empty()) j["description"] = c.description;
  j["deliver_policy"] = to_string(c.deliver_policy);
  if (c.opt_start_seq > 0) j["opt_start_seq"] = c.opt_start_seq;
  if (!c.opt_start_time.empty()) j["opt_start_time"] = c.opt_start_time;
  j["ack_policy"] = to_string(c.ack_policy);
  if (c.ack_wait.count() > 0) j["ack_wait"] = c.ack_wait.count();
  if (c.max_deliver != 0) j["max_deliver"] = c.max_deliver;
  if (!c.backoff.empty()) {
    json b = json::array();
    for (auto d : c.backoff) b.push_back(d.count());
    j["backoff"] = std::move(b);
  }
  if (!c.filter_subject.empty()) j["filter_subject"] = c.filter_subject;
  j["replay_policy"] = to_string(c.replay_policy);
  if (c.max_waiting > 0) j["max_waiting"] = c.max_waiting;
  if (c.max_ack_pending != 0) j["max_ack_pending"] = c.max_ack_pending;
  if (c.headers_only) j["headers_only"] = true;
  if (c.max_batch > 0) j["max_batch"] = c.max_batch;
  if (c.max_expires.count() > 0) j["max_expires"] = c.max_expires.count();
  if (c.inactive_threshold.count() > 0) j["inactive_threshold"] = c.inactive_threshold.count();
  if (c.num_replicas > 0) j["num_replicas"] = c.num_replicas;
  if (c.mem_storage) j["mem_storage"] = true;
  if (!c.dead_letter_stream.empty()) j["dead_letter"] = {{"stream", c.dead_letter_stream}};
  return j;
}

Result<StreamInfo> stream_info_from_json(const nlohmann::json& j, std::string text) {
  if (!j.is_object() || !j.contains("config") || !j["config"].is_object())
    return make_error(ErrorCode::ProtocolError, "stream info without a config object");
  StreamInfo info;
  info.config = stream_config_from_json(j["config"]);
  const json& st = get_object(j, "state");
  info.state.messages = get_u64(st, "messages");
  info.state.bytes = get_u64(st, "bytes");
  info.state.first_seq = get_u64(st, "first_seq");
  info.state.first_ts = get_string(st, "first_ts");
  info.state.last_seq = get_u64(st, "last_seq");
  info.state.last_ts = get_string(st, "last_ts");
  info.state.num_deleted = get_u64(st, "num_deleted");
  info.state.num_subjects = get_u64(st, "num_subjects");
  info.state.consumer_count = get_i64(st, "consumer_count");
  info.created = get_string(j, "created");
  info.json = std::move(text);
  return info;
}

Result<ConsumerInfo> consumer_info_from_json(const nlohmann::json& j, std::string text) {
  if (!j.is_object() || !j.contains("config") || !j["config"].is_object())
    return make_error(ErrorCode::ProtocolError, "consumer info without a config object");
  ConsumerInfo info;
  info.stream_name = get_string(j, "stream_name");
  info.name = get_string(j, "name");
  info.created = get_string(j, "created");
  info.config = consumer_config_from_json(j["config"]);
  info.delivered = sequence_info_from_json(get_object(j, "delivered"));
  info.ack_floor = sequence_info_from_json(get_object(j, "ack_floor"));
  info.num_ack_pending = get_i64(j, "num_ack_pending");
  info.num_redelivered = get_i64(j, "num_redelivered");
  info.num_waiting = get_i64(j, "num_waiting");
  info.num_pending = get_u64(j, "num_pending");
  info.json = std::move(text);
  return info;
}

Result<AccountInfo> account_info_from_json(const nlohmann::json& j, std::string text) {
  if (!j.is_object()) return make_error(ErrorCode::ProtocolError, "account info is not a JSON object");
  AccountInfo a;
  a.memory = get_u64(j, "memory");
  a.storage = get_u64(j, "storage");
  a.streams = get_i64(j, "streams");
  a.consumers = get_i64(j, "consumers");
  const json& lim = get_object(j, "limits");
  a.max_memory = get_i64(lim, "max_memory", -1);
  a.max_storage = get_i64(lim, "max_storage", -1);
  a.max_streams = get_i64(lim, "max_streams", -1);
  a.max_consumers = get_i64(lim, "max_consumers", -1);
  const json& api = get_object(j, "api");
  a.api_total = get_u64(api, "total");
  a.api_errors = get_u64(api, "errors");
  a.json = std::move(text);
  return a;
}

Result<StoredMsg> stored_msg_from_json(const nlohmann::json& j) {
  auto it = j.find("message");
  if (it == j.end() || !it->is_object())
    return make_error(ErrorCode::ProtocolError, "MSG.GET answer without a message");
  const json& m = *it;
  StoredMsg out;
  out.subject = get_string(m, "subject");
  out.seq = get_u64(m, "seq");
  out.time = get_string(m, "time");
  auto data = base64_decode(get_string(m, "data"));
  if (!data) return data.status();
  out.data = std::move(*data);
  if (std::string hdrs = get_string(m, "hdrs"); !hdrs.empty()) {
    auto block = base64_decode(hdrs);
    if (!block) return block.status();
    auto parsed = proto::parse_headers(*block);
    if (!parsed)
      return make_error(ErrorCode::ProtocolError,
                        "stored message has a bad header block: " + parsed.status().message());
    out.has_headers = true;
    out.headers.set_status(parsed->status, std::move(parsed->description));
    for (auto& [k, v] : parsed->fields) out.headers.add(std::move(k), std::move(v));
  }
  return out;
}

ApiError api_error_from_json(const nlohmann::json& e) {
  ApiError err;
  err.code = get_int(e, "code");
  err.err_code = get_int(e, "err_code");
  err.description = get_string(e, "description");
  if (err.description.empty()) err.description = "unknown error";
  return err;
}

Result<PubAck> pub_ack_from_json(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::ProtocolError, "the publish ack is not a JSON object");
  if (auto e = j.find("error"); e != j.end() && e->is_object()) return make_api_error(api_error_from_json(*e));
  PubAck ack;
  ack.stream = get_string(j, "stream");
  // nats.go's rule (ErrInvalidJSAck): an ack must name its stream.
  if (ack.stream.empty()) return make_error(ErrorCode::ProtocolError, "the publish ack names no stream");
  ack.seq = get_u64(j, "seq");
  ack.duplicate = get_bool(j, "duplicate");
  ack.domain = get_string(j, "domain");
  return ack;
}

}  // namespace detail
}  // namespace tern
