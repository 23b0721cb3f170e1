#include "server/stream/consumer_config.h"

#include <cstdio>
#include <limits>

#include "proto/subject.h"
#include "proto/wire_errors.h"
#include "server/stream/json_fields.h"

namespace tern::server {
namespace {

using json = nlohmann::json;

constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kMillisecondNs = 1'000'000;
constexpr int64_t kSecondNs = 1'000'000'000;

// Go's json.Unmarshal rules, shared with stream_config.cpp.
using json_fields::get_bool;
using json_fields::get_int;
using json_fields::get_string;
using json_fields::int_value;

// Go uint64: no negatives.
bool get_uint(const json& j, const char* key, uint64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (it->is_number_unsigned()) {
    *out = it->get<uint64_t>();
    return true;
  }
  if (it->is_number_integer() && it->get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(it->get<int64_t>());
    return true;
  }
  return false;
}

// nats' enum types have an UnmarshalJSON that accepts only their quoted names: null is an error
// too (Go hands "null" to a non-pointer Unmarshaler), so absent is the only way to the default.
template <class E>
bool get_enum(const json& j, const char* key, std::initializer_list<std::pair<const char*, E>> names, E* out) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  if (!it->is_string()) return false;
  const std::string& s = it->get_ref<const std::string&>();
  for (const auto& [name, value] : names) {
    if (s == name) {
      *out = value;
      return true;
    }
  }
  return false;
}

ApiError make_error(int code, int err_code, std::string description) {
  ApiError e;
  e.code = code;
  e.err_code = err_code;
  e.description = std::move(description);
  return e;
}

ApiError create_error(std::string_view why) { return api_error(ApiErr::kConsumerCreate, why); }

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp + (mp < 10 ? 3 : -9);
  *y = yoe + era * 400 + (*m <= 2);
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

bool digits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// RFC 3339 as Go 1.19's time.Parse(time.RFC3339) reads it (nats-server 2.9.10 is built with
// 1.19.8): YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM). Go 1.19 is lenient in two places that we
// copy: the hour may have one digit, and the offset's two-digit hours and minutes are not range
// checked ("+24:00" is accepted and echoed; minutes > 59 are refused, see below). The fraction may have any length ("," works too);
// digits past the ninth are ignored. Times outside int64 nanoseconds since the epoch (before
// 1677 or after 2262, e.g. Go's zero time) cannot be held and are refused.
std::optional<int64_t> parse_rfc3339_ns(std::string_view s, int32_t* offset_out) {
  int64_t year, mon, day, hour, min, sec;
  if (s.size() <= 10 || !digits(s, 0, 4, &year) || s[4] != '-' || !digits(s, 5, 2, &mon) || s[7] != '-' ||
      !digits(s, 8, 2, &day) || s[10] != 'T')
    return std::nullopt;
  size_t pos = 11;
  if (digits(s, pos, 2, &hour)) pos += 2;
  else if (digits(s, pos, 1, &hour)) pos += 1;
  else return std::nullopt;
  if (pos >= s.size() || s[pos] != ':' || !digits(s, pos + 1, 2, &min) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
      !digits(s, pos + 4, 2, &sec))
    return std::nullopt;
  pos += 6;
  if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 || min > 59 || sec > 59)
    return std::nullopt;
  int64_t frac = 0;
  if (pos + 1 < s.size() && (s[pos] == '.' || s[pos] == ',') && s[pos + 1] >= '0' && s[pos + 1] <= '9') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100'000'000;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) {
      frac += (s[pos] - '0') * scale;
      scale /= 10;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int64_t oh, om;
    if (!digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, &om))
      return std::nullopt;
    // Go 1.19 also takes minutes 60-99, but prints them back as more hours, which would not
    // parse again (Tern persists the echo); nobody means "+05:99".
    if (om > 59) return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  __int128 secs = static_cast<__int128>(days_from_civil(year, mon, day)) * 86400 + hour * 3600 + min * 60 + sec -
                  offset_s;
  __int128 ns = secs * kSecondNs + frac;
  if (ns < kI64Min || ns > kI64Max) return std::nullopt;
  *offset_out = static_cast<int32_t>(offset_s);
  return static_cast<int64_t>(ns);
}

}  // namespace

// Go's time.RFC3339Nano: the wall time at `offset_s` from UTC, trailing zeros of the fraction
// dropped, "Z" for offset 0.
std::string format_rfc3339_ns(int64_t ns, int32_t offset_s) {
  int64_t secs = floor_div(ns, kSecondNs) + offset_s;
  int64_t frac = ns - floor_div(ns, kSecondNs) * kSecondNs;
  int64_t days = floor_div(secs, 86400);
  int64_t rem = secs - days * 86400;
  int64_t y, m, d;
  civil_from_days(days, &y, &m, &d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(rem / 3600),
                static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  std::string out = buf;
  if (frac) {
    char f[16];
    std::snprintf(f, sizeof f, ".%09lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  if (offset_s == 0) return out + 'Z';
  int32_t a = offset_s < 0 ? -offset_s : offset_s;
  char z[16];
  std::snprintf(z, sizeof z, "%c%02d:%02d", offset_s < 0 ? '-' : '+', a / 3600, a / 60 % 60);
  return out + z;
}

namespace {

using proto::go_quote;  // Go's %q, for the strconv error texts

// strconv.Atoi: the value, or the text of Go's error.
bool go_atoi(std::string_view s, int64_t* out, std::string* err) {
  const std::string q = go_quote(s);
  std::string_view d = s;
  bool neg = false;
  if (!d.empty() && (d[0] == '+' || d[0] == '-')) {
    neg = d[0] == '-';
    d.remove_prefix(1);
  }
  if (d.empty()) {
    *err = "strconv.Atoi: parsing " + q + ": invalid syntax";
    return false;
  }
  unsigned __int128 v = 0;
  bool range = false;
  for (char c : d) {
    if (c < '0' || c > '9') {
      *err = "strconv.Atoi: parsing " + q + ": invalid syntax";
      return false;
    }
    if (!range) {
      v = v * 10 + static_cast<unsigned>(c - '0');
      if (v > static_cast<unsigned __int128>(kI64Max) + 1) range = true;
    }
  }
  if (range || (!neg && v > static_cast<unsigned __int128>(kI64Max))) {
    *err = "strconv.Atoi: parsing " + q + ": value out of range";
    return false;
  }
  *out = neg ? static_cast<int64_t>(-static_cast<__int128>(v)) : static_cast<int64_t>(v);
  return true;
}


bool has_wildcard(std::string_view subject) { return !proto::is_literal_subject(subject); }

// validFilteredSubject in consumer.go.
bool valid_filtered_subject(std::string_view filter, const std::vector<std::string>& subjects) {
  if (!proto::is_valid_subscribe_subject(filter)) return false;
  const bool wc = has_wildcard(filter);
  for (const std::string& s : subjects) {
    if (proto::subject_is_subset_match(filter, s)) return true;
    if (wc && proto::subject_is_subset_match(s, filter)) return true;
  }
  return false;
}

bool has_path_separator(std::string_view s) { return s.find_first_of("/\\") != std::string_view::npos; }

const char* deliver_policy_name(DeliverPolicy p) {
  switch (p) {
    case DeliverPolicy::kAll: return "all";
    case DeliverPolicy::kLast: return "last";
    case DeliverPolicy::kNew: return "new";
    case DeliverPolicy::kByStartSequence: return "by_start_sequence";
    case DeliverPolicy::kByStartTime: return "by_start_time";
    case DeliverPolicy::kLastPerSubject: return "last_per_subject";
  }
  return "all";
}

const char* ack_policy_name(AckPolicy p) {
  switch (p) {
    case AckPolicy::kNone: return "none";
    case AckPolicy::kAll: return "all";
    case AckPolicy::kExplicit: return "explicit";
  }
  return "none";
}

}  // namespace

std::optional<ApiError> decode_consumer_config(const json& j, ConsumerConfig* out) {
  const ApiError invalid_json = api_error(ApiErr::kInvalidJson);
  ConsumerConfig c;
  // Go unmarshals null into a struct as "nothing to do".
  if (j.is_null()) {
    *out = std::move(c);
    return std::nullopt;
  }
  if (!j.is_object()) return invalid_json;
  bool direct = false;
  bool ok =
      get_string(j, "durable_name", &c.durable_name) && get_string(j, "name", &c.name) &&
      get_string(j, "description", &c.description) &&
      get_enum<DeliverPolicy>(j, "deliver_policy",
                              {{"all", DeliverPolicy::kAll},
                               {"undefined", DeliverPolicy::kAll},
                               {"last", DeliverPolicy::kLast},
                               {"new", DeliverPolicy::kNew},
                               {"by_start_sequence", DeliverPolicy::kByStartSequence},
                               {"by_start_time", DeliverPolicy::kByStartTime},
                               {"last_per_subject", DeliverPolicy::kLastPerSubject}},
                              &c.deliver_policy) &&
      get_uint(j, "opt_start_seq", &c.opt_start_seq) &&
      get_enum<AckPolicy>(j, "ack_policy",
                          {{"none", AckPolicy::kNone}, {"all", AckPolicy::kAll}, {"explicit", AckPolicy::kExplicit}},
                          &c.ack_policy) &&
      get_int(j, "ack_wait", &c.ack_wait_ns) && get_int(j, "max_deliver", &c.max_deliver) &&
      get_string(j, "filter_subject", &c.filter_subject) &&
      get_enum<ReplayPolicy>(j, "replay_policy",
                             {{"instant", ReplayPolicy::kInstant}, {"original", ReplayPolicy::kOriginal}},
                             &c.replay_policy) &&
      get_uint(j, "rate_limit_bps", &c.rate_limit_bps) && get_string(j, "sample_freq", &c.sample_freq) &&
      get_int(j, "max_waiting", &c.max_waiting) && get_int(j, "max_ack_pending", &c.max_ack_pending) &&
      get_int(j, "idle_heartbeat", &c.idle_heartbeat_ns) && get_bool(j, "flow_control", &c.flow_control) &&
      get_bool(j, "headers_only", &c.headers_only) && get_int(j, "max_batch", &c.max_batch) &&
      get_int(j, "max_expires", &c.max_expires_ns) && get_int(j, "max_bytes", &c.max_bytes) &&
      get_string(j, "deliver_subject", &c.deliver_subject) && get_string(j, "deliver_group", &c.deliver_group) &&
      get_int(j, "inactive_threshold", &c.inactive_threshold_ns) && get_int(j, "num_replicas", &c.num_replicas) &&
      get_bool(j, "mem_storage", &c.mem_storage) && get_bool(j, "direct", &direct);
  if (!ok) return invalid_json;

  // *time.Time: null leaves it unset; otherwise a quoted RFC 3339 time.
  if (auto it = j.find("opt_start_time"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return invalid_json;
    auto ns = parse_rfc3339_ns(it->get_ref<const std::string&>(), &c.opt_start_time_offset_s);
    if (!ns) return invalid_json;
    c.opt_start_time_ns = *ns;
    c.has_start_time = true;
  }
  // []time.Duration: a null element is Go's no-op, i.e. 0.
  if (auto it = j.find("backoff"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return invalid_json;
    for (const json& v : *it) {
      int64_t ns = 0;
      if (!v.is_null() && !int_value(v, kI64Min, kI64Max, &ns)) return invalid_json;
      c.backoff_ns.push_back(ns);
    }
  }
  // Tern extension: "dead_letter": {"stream": "<name>"}.
  if (auto it = j.find("dead_letter"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return invalid_json;
    auto s = it->find("stream");
    if (s == it->end() || !s->is_string()) return invalid_json;
    const std::string& name = s->get_ref<const std::string&>();
    if (name.empty()) return create_error("dead_letter stream name is required");
    if (!is_valid_stream_name(name) || has_path_separator(name))
      return create_error("dead_letter stream name can not contain '.', '*', '>', whitespace or path separators");
    if (name.size() > kMaxNameLen) return create_error("dead_letter stream name is too long, maximum allowed is 255");
    c.dead_letter_stream = name;
  }
  // Direct consumers are nats-internal (mirrors and sources), push-only, and Tern has none.
  if (direct) {
    if (c.deliver_subject.empty()) return make_error(400, 10090, "consumer direct requires a push based consumer");
    return create_error("direct consumers are not supported by tern");
  }
  // 2.10's multi-filter consumers: refused rather than silently treated as unfiltered.
  if (auto it = j.find("filter_subjects"); it != j.end() && !it->is_null() && !(it->is_array() && it->empty()))
    return create_error("filter_subjects is not supported by tern: use filter_subject");
  *out = std::move(c);
  return std::nullopt;
}

std::optional<ApiError> decode_create_consumer_request(const json& j, CreateConsumerRequest* out) {
  const ApiError invalid_json = api_error(ApiErr::kInvalidJson);
  CreateConsumerRequest r;
  if (j.is_null()) {  // Go: unmarshalling null is a no-op; the caller then reports the mismatch
    *out = std::move(r);
    return std::nullopt;
  }
  if (!j.is_object()) return invalid_json;
  if (!get_string(j, "stream_name", &r.stream_name) || !get_string(j, "action", &r.action)) return invalid_json;
  if (!r.action.empty() && r.action != "create" && r.action != "update") return invalid_json;
  if (auto it = j.find("config"); it != j.end()) {
    if (auto err = decode_consumer_config(*it, &r.config)) return err;
  }
  *out = std::move(r);
  return std::nullopt;
}

std::optional<ApiError> check_consumer_config(const StreamConfig& stream, ConsumerConfig* cfg, bool recovering) {
  ConsumerConfig& c = *cfg;
  const bool explicit_or_all = c.ack_policy == AckPolicy::kExplicit || c.ack_policy == AckPolicy::kAll;

  // setConsumerConfigDefaults (Tern has no server or account limits on ack pending or batch).
  if (c.deliver_subject.empty() && c.max_waiting == 0) c.max_waiting = kDefaultMaxWaiting;
  if (c.ack_wait_ns == 0 && explicit_or_all) c.ack_wait_ns = kDefaultAckWaitNs;
  if (c.max_deliver == 0) c.max_deliver = -1;
  if (!c.backoff_ns.empty()) c.ack_wait_ns = c.backoff_ns[0];
  if (explicit_or_all && c.max_ack_pending == 0) c.max_ack_pending = kDefaultMaxAckPending;
  // nats stamps this when it creates the consumer (updateInactiveThreshold); here it is a default
  // like the others, so a repeated create of the same ephemeral compares equal.
  if (!c.is_durable() && c.inactive_threshold_ns <= 0) c.inactive_threshold_ns = kDefaultEphemeralInactiveNs;

  // checkConsumerCfg, in its order.
  const int64_t stream_replicas = stream.num_replicas > 0 ? stream.num_replicas : 1;
  if (c.num_replicas > 0 && c.num_replicas > stream_replicas) return api_error(ApiErr::kConsumerReplicasExceedsStream);
  if (c.num_replicas < 0) return api_error(ApiErr::kReplicasCountCannotBeNegative);
  if (!c.backoff_ns.empty() && c.max_deliver <= static_cast<int64_t>(c.backoff_ns.size()))
    return api_error(ApiErr::kConsumerMaxDeliverBackoff);
  if (c.description.size() > kMaxDescriptionLen)
    return api_error(ApiErr::kConsumerDescriptionTooLong, std::to_string(kMaxDescriptionLen));
  if (!c.deliver_subject.empty()) {
    if (has_wildcard(c.deliver_subject)) return make_error(400, 10079, "consumer deliver subject has wildcards");
    if (!proto::is_valid_publish_subject(c.deliver_subject))
      return make_error(400, 10112, "invalid push consumer deliver subject");
    for (const std::string& s : stream.subjects)
      if (subjects_collide(s, c.deliver_subject)) return make_error(400, 10081, "consumer deliver subject forms a cycle");
    if (c.max_waiting != 0) return make_error(400, 10080, "consumer in push mode can not set max waiting");
    if (c.max_ack_pending > 0 && c.ack_policy == AckPolicy::kNone)
      return make_error(400, 10082, "consumer requires ack policy for max ack pending");
    if (c.idle_heartbeat_ns > 0 && c.idle_heartbeat_ns < 100 * kMillisecondNs)
      return make_error(400, 10083, "consumer idle heartbeat needs to be >= 100ms");
  } else {
    if (c.ack_policy == AckPolicy::kNone && stream.retention == Retention::kWorkQueue)
      return api_error(ApiErr::kConsumerPullRequiresAck);
    if (c.rate_limit_bps > 0) return api_error(ApiErr::kConsumerPullWithRateLimit);
    if (c.max_waiting < 0) return api_error(ApiErr::kConsumerMaxWaitingNegative);
    if (c.idle_heartbeat_ns > 0) return api_error(ApiErr::kConsumerHbRequiresPush);
    if (c.flow_control) return api_error(ApiErr::kConsumerFcRequiresPush);
    if (c.max_batch < 0) return api_error(ApiErr::kConsumerMaxRequestBatchNegative);
    if (c.max_expires_ns != 0 && c.max_expires_ns < kMillisecondNs)
      return api_error(ApiErr::kConsumerMaxRequestExpiresTooSmall);
  }
  if (!recovering && !c.filter_subject.empty() && !valid_filtered_subject(c.filter_subject, stream.subjects))
    return api_error(ApiErr::kConsumerFilterNotSubset);

  auto bad_start = [](const char* dp, const char* start) {
    return api_error(ApiErr::kConsumerInvalidPolicy, std::string("consumer delivery policy is deliver ") + dp +
                                                         ", but optional start " + start + " is also set");
  };
  auto not_set = [](const char* dp, const char* what) {
    return api_error(ApiErr::kConsumerInvalidPolicy, std::string("consumer delivery policy is deliver ") + dp +
                                                         ", but optional " + what + " is not set");
  };
  switch (c.deliver_policy) {
    case DeliverPolicy::kAll:
    case DeliverPolicy::kLast:
    case DeliverPolicy::kNew:
    case DeliverPolicy::kLastPerSubject: {
      const char* dp = c.deliver_policy == DeliverPolicy::kAll    ? "all"
                       : c.deliver_policy == DeliverPolicy::kLast ? "last"
                       : c.deliver_policy == DeliverPolicy::kNew  ? "new"
                                                                  : "last per subject";
      if (c.opt_start_seq > 0) return bad_start(dp, "sequence");
      if (c.has_start_time) return bad_start(dp, "time");
      if (c.deliver_policy == DeliverPolicy::kLastPerSubject && c.filter_subject.empty())
        return not_set(dp, "filter subject");
      break;
    }
    case DeliverPolicy::kByStartSequence:
      if (c.opt_start_seq == 0) return not_set("by start sequence", "start sequence");
      if (c.has_start_time) return bad_start("by start sequence", "time");
      break;
    case DeliverPolicy::kByStartTime:
      if (!c.has_start_time) return not_set("by start time", "start time");
      if (c.opt_start_seq != 0) return bad_start("by start time", "start sequence");
      break;
  }
  if (!c.sample_freq.empty()) {
    std::string_view s = c.sample_freq;
    if (!s.empty() && s.back() == '%') s.remove_suffix(1);
    int64_t freq = 0;
    std::string err;
    if (!go_atoi(s, &freq, &err)) return make_error(400, 10095, "failed to parse consumer sampling configuration: " + err);
    if (freq < 0) return make_error(400, 10095, "failed to parse consumer sampling configuration: <nil>");
  }
  if (c.flow_control && c.idle_heartbeat_ns == 0) return api_error(ApiErr::kConsumerWithFlowControlNeedsHeartbeats);
  if (!c.durable_name.empty() && !c.name.empty() && c.durable_name != c.name)
    return api_error(ApiErr::kConsumerCreateDurableAndNameMismatch);

  // addConsumerWithAssignment: the workqueue rules that need only the stream (10099 and 10100,
  // which look at the other consumers, are the caller's and come between these two in nats).
  if (stream.retention == Retention::kWorkQueue) {
    if (c.ack_policy != AckPolicy::kExplicit) return api_error(ApiErr::kConsumerWqRequiresExplicitAck);
    if (c.deliver_policy != DeliverPolicy::kAll) return api_error(ApiErr::kConsumerWqConsumerNotDeliverAll);
  }
  // Then the name: the durable if set, else the given name (the caller generates one if neither).
  const std::string& name = c.is_durable() ? c.durable_name : c.name;
  if (!name.empty()) {
    // nats checks only the durable's length; Tern's names are directory names, so any name.
    if (name.size() > kMaxConsumerNameLen)
      return api_error(ApiErr::kConsumerNameTooLong, std::to_string(kMaxConsumerNameLen));
    // nats checks separators only in the subject token; Tern also in the body (legacy CREATE).
    if (has_path_separator(name)) return api_error(ApiErr::kConsumerNameContainsPathSeparators);
    if (!is_valid_stream_name(name)) return api_error(ApiErr::kConsumerBadDurableName);
  }
  if (!c.dead_letter_stream.empty() && c.dead_letter_stream == stream.name)
    return create_error("dead letter stream can not be the consumer's stream");
  return std::nullopt;
}

std::optional<ApiError> check_consumer_update(const ConsumerConfig& old, const ConsumerConfig& updated) {
  if (old == updated) return std::nullopt;
  // checkNewConsumerConfig, in its order. nats 2.9.10 compares opt_start_time as pointers, so it
  // refuses every change to a consumer that has one; Tern compares the times.
  if (old.deliver_policy != updated.deliver_policy) return create_error("deliver policy can not be updated");
  if (old.opt_start_seq != updated.opt_start_seq) return create_error("start sequence can not be updated");
  if (old.has_start_time != updated.has_start_time || old.opt_start_time_ns != updated.opt_start_time_ns)
    return create_error("start time can not be updated");
  if (old.ack_policy != updated.ack_policy) return create_error("ack policy can not be updated");
  if (old.replay_policy != updated.replay_policy) return create_error("replay policy can not be updated");
  if (old.idle_heartbeat_ns != updated.idle_heartbeat_ns) return create_error("heart beats can not be updated");
  if (old.flow_control != updated.flow_control) return create_error("flow control can not be updated");
  if (old.max_waiting != updated.max_waiting) return create_error("max waiting can not be updated");
  if (old.deliver_subject != updated.deliver_subject) {
    if (old.deliver_subject.empty()) return create_error("can not update pull consumer to push based");
    if (updated.deliver_subject.empty()) return create_error("can not update push consumer to pull based");
  }
  if (!updated.backoff_ns.empty() && updated.max_deliver <= static_cast<int64_t>(updated.backoff_ns.size()))
    return api_error(ApiErr::kConsumerMaxDeliverBackoff);
  return std::nullopt;
}

nlohmann::ordered_json consumer_config_json(const ConsumerConfig& c) {
  // Go's field order and omitempty (consumer.go ConsumerConfig).
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!c.durable_name.empty()) j["durable_name"] = c.durable_name;
  if (!c.name.empty()) j["name"] = c.name;
  if (!c.description.empty()) j["description"] = c.description;
  j["deliver_policy"] = deliver_policy_name(c.deliver_policy);
  if (c.opt_start_seq != 0) j["opt_start_seq"] = c.opt_start_seq;
  if (c.has_start_time) j["opt_start_time"] = format_rfc3339_ns(c.opt_start_time_ns, c.opt_start_time_offset_s);
  j["ack_policy"] = ack_policy_name(c.ack_policy);
  if (c.ack_wait_ns != 0) j["ack_wait"] = c.ack_wait_ns;
  if (c.max_deliver != 0) j["max_deliver"] = c.max_deliver;
  if (!c.backoff_ns.empty()) j["backoff"] = c.backoff_ns;
  if (!c.filter_subject.empty()) j["filter_subject"] = c.filter_subject;
  j["replay_policy"] = c.replay_policy == ReplayPolicy::kInstant ? "instant" : "original";
  if (c.rate_limit_bps != 0) j["rate_limit_bps"] = c.rate_limit_bps;
  if (!c.sample_freq.empty()) j["sample_freq"] = c.sample_freq;
  if (c.max_waiting != 0) j["max_waiting"] = c.max_waiting;
  if (c.max_ack_pending != 0) j["max_ack_pending"] = c.max_ack_pending;
  if (c.idle_heartbeat_ns != 0) j["idle_heartbeat"] = c.idle_heartbeat_ns;
  if (c.flow_control) j["flow_control"] = true;
  if (c.headers_only) j["headers_only"] = true;
  if (c.max_batch != 0) j["max_batch"] = c.max_batch;
  if (c.max_expires_ns != 0) j["max_expires"] = c.max_expires_ns;
  if (c.max_bytes != 0) j["max_bytes"] = c.max_bytes;
  if (!c.deliver_subject.empty()) j["deliver_subject"] = c.deliver_subject;
  if (!c.deliver_group.empty()) j["deliver_group"] = c.deliver_group;
  if (c.inactive_threshold_ns != 0) j["inactive_threshold"] = c.inactive_threshold_ns;
  j["num_replicas"] = c.num_replicas;
  if (c.mem_storage) j["mem_storage"] = true;
  if (!c.dead_letter_stream.empty()) j["dead_letter"] = {{"stream", c.dead_letter_stream}};
  return j;
}

}  // namespace tern::server
