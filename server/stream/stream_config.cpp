#include "server/stream/stream_config.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

#include "proto/subject.h"
#include "server/stream/json_fields.h"

namespace tern::server {
namespace {

using json = nlohmann::json;

using json_fields::get_bool;
using json_fields::get_int;
using json_fields::get_string;

constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kI32Max = std::numeric_limits<int32_t>::max();

ApiError invalid_config(std::string_view why) { return api_error(ApiErr::kStreamInvalidConfig, why); }


}  // namespace

bool is_valid_stream_name(std::string_view name) {
  return !name.empty() && name.find_first_of(" \t\r\n\f.*>") == std::string_view::npos;
}

bool subjects_collide(std::string_view a, std::string_view b) {
  std::vector<std::string_view> x, y;
  proto::for_each_token(a, [&](std::string_view t) { x.push_back(t); });
  proto::for_each_token(b, [&](std::string_view t) { y.push_back(t); });
  size_t n = std::min(x.size(), y.size());
  for (size_t i = 0; i < n; ++i) {
    if (x[i] == ">" || y[i] == ">") return true;
    if (x[i] == "*" || y[i] == "*") continue;
    if (x[i] != y[i]) return false;
  }
  return x.size() == y.size();
}

std::optional<ApiError> decode_stream_config(const json& j, StreamConfig* out) {
  const ApiError invalid_json = api_error(ApiErr::kInvalidJson);
  if (!j.is_object()) return invalid_json;
  StreamConfig c;
  std::string retention, discard, storage, compression, template_owner;
  bool ok = get_string(j, "name", &c.name) && get_string(j, "description", &c.description) &&
            get_string(j, "retention", &retention) && get_string(j, "discard", &discard) &&
            get_string(j, "storage", &storage) && get_string(j, "compression", &compression) &&
            get_string(j, "template_owner", &template_owner) &&
            get_int(j, "max_consumers", kI64Min, kI64Max, &c.max_consumers) &&
            get_int(j, "max_msgs", kI64Min, kI64Max, &c.max_msgs) &&
            get_int(j, "max_bytes", kI64Min, kI64Max, &c.max_bytes) &&
            get_int(j, "max_age", kI64Min, kI64Max, &c.max_age_ns) &&
            get_int(j, "max_msgs_per_subject", kI64Min, kI64Max, &c.max_msgs_per_subject) &&
            get_int(j, "max_msg_size", kI32Min, kI32Max, &c.max_msg_size) &&
            get_int(j, "num_replicas", kI64Min, kI64Max, &c.num_replicas) &&
            get_int(j, "duplicate_window", kI64Min, kI64Max, &c.duplicate_window_ns) &&
            get_bool(j, "no_ack", &c.no_ack) && get_bool(j, "allow_direct", &c.allow_direct) &&
            get_bool(j, "mirror_direct", &c.mirror_direct) &&
            get_bool(j, "discard_new_per_subject", &c.discard_new_per_subject) &&
            get_bool(j, "sealed", &c.sealed) && get_bool(j, "deny_delete", &c.deny_delete) &&
            get_bool(j, "deny_purge", &c.deny_purge) && get_bool(j, "allow_rollup_hdrs", &c.allow_rollup_hdrs);
  if (!ok) return invalid_json;

  if (auto it = j.find("subjects"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return invalid_json;
    for (const json& s : *it) {
      if (!s.is_string()) return invalid_json;
      c.subjects.push_back(s.get<std::string>());
    }
  }
  if (retention == "limits" || retention.empty()) c.retention = Retention::kLimits;
  else if (retention == "interest") c.retention = Retention::kInterest;
  else if (retention == "workqueue") c.retention = Retention::kWorkQueue;
  else return invalid_json;
  std::string d = discard;
  std::transform(d.begin(), d.end(), d.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (d == "old" || d.empty()) c.discard = DiscardPolicy::kOld;
  else if (d == "new") c.discard = DiscardPolicy::kNew;
  else return invalid_json;
  if (storage == "file" || storage.empty()) c.storage = StorageType::kFile;
  else if (storage == "memory") c.storage = StorageType::kMemory;
  else return invalid_json;
  // Tern extension. NATS 2.10's "s2" is refused rather than silently mapped: Tern's blocks are
  // lz4 or zstd, and a client asking for s2 should learn that it did not get it.
  if (compression == "none" || compression.empty()) c.compression = Compression::kNone;
  else if (compression == "lz4") c.compression = Compression::kLz4;
  else if (compression == "zstd") c.compression = Compression::kZstd;
  else if (compression == "s2")
    return invalid_config(R"(compression "s2" is not supported by tern: use "none", "lz4" or "zstd")");
  else return invalid_json;

  // Features Tern does not have: refuse instead of silently ignoring them.
  for (const char* key : {"mirror", "sources", "republish"}) {
    auto it = j.find(key);
    if (it != j.end() && !it->is_null() && !(it->is_array() && it->empty()))
      return invalid_config(std::string(key) + " is not supported by tern");
  }
  if (!template_owner.empty()) return invalid_config("template_owner is not supported by tern");
  *out = std::move(c);
  return std::nullopt;
}

std::optional<ApiError> check_stream_config(StreamConfig* cfg) {
  StreamConfig& c = *cfg;
  if (!is_valid_stream_name(c.name)) return invalid_config("stream name is required and can not contain '.', '*', '>'");
  if (c.name.size() > kMaxNameLen) return invalid_config("stream name is too long, maximum allowed is 255");
  if (c.description.size() > kMaxDescriptionLen)
    return invalid_config("stream description is too long, maximum allowed is 4096");
  if (c.num_replicas == 0) c.num_replicas = 1;
  if (c.num_replicas > 5) return invalid_config("maximum replicas is 5");
  if (c.num_replicas < 0) return api_error(ApiErr::kReplicasCountCannotBeNegative);
  for (int64_t* v : {&c.max_msgs, &c.max_msgs_per_subject, &c.max_bytes, &c.max_msg_size, &c.max_consumers})
    if (*v == 0) *v = -1;
  if (c.duplicate_window_ns == 0)
    c.duplicate_window_ns =
        (c.max_age_ns != 0 && c.max_age_ns < kDefaultDuplicateWindowNs) ? c.max_age_ns : kDefaultDuplicateWindowNs;
  if (c.max_age_ns > 0 && c.max_age_ns < kMinWindowNs) return invalid_config("max age needs to be >= 100ms");
  if (c.duplicate_window_ns < 0) return invalid_config("duplicates window can not be negative");
  if (c.max_age_ns != 0 && c.duplicate_window_ns > c.max_age_ns)
    return invalid_config("duplicates window can not be larger then max age");
  if (c.duplicate_window_ns > 0 && c.duplicate_window_ns < kMinWindowNs)
    return invalid_config("duplicates window needs to be >= 100ms");
  if (c.deny_purge && c.allow_rollup_hdrs) return invalid_config("roll-ups require the purge permission");
  if (c.discard_new_per_subject) {
    if (c.discard != DiscardPolicy::kNew)
      return invalid_config("discard new per subject requires discard new policy to be set");
    if (c.max_msgs_per_subject <= 0) return invalid_config("discard new per subject requires max msgs per subject > 0");
  }
  if (c.subjects.empty()) {
    c.subjects.push_back(c.name);
  } else {
    std::set<std::string_view> seen;
    for (const std::string& s : c.subjects) {
      if (!seen.insert(s).second) return invalid_config("duplicate subjects detected");
      // nats refuses subsets of $JS.API.>; Tern also refuses supersets such as ">" or "$JS.>",
      // which would capture API requests and answer them with pub acks.
      if (proto::is_valid_subscribe_subject(s) &&
          (proto::subject_is_subset_match(s, "$JS.API.>") || subjects_collide(s, "$JS.API.>")))
        return invalid_config("subjects overlap with jetstream api");
      if (!proto::is_valid_subscribe_subject(s)) return invalid_config("invalid subject");
    }
    for (const std::string& a : c.subjects)
      for (const std::string& b : c.subjects)
        if (a != b && subjects_collide(a, b))
          return invalid_config("subject \"" + a + "\" overlaps with \"" + b + "\"");
  }
  if (c.num_replicas > 1) return api_error(ApiErr::kStreamReplicasNotSupported);
  return std::nullopt;
}

std::optional<ApiError> check_stream_update(const StreamConfig& old, StreamConfig* updated) {
  StreamConfig& c = *updated;
  if (c.name != old.name) return invalid_config("stream configuration name must match original");
  if (c.max_consumers != old.max_consumers)
    return invalid_config("stream configuration update can not change MaxConsumers");
  if (c.storage != old.storage) return invalid_config("stream configuration update can not change storage type");
  if (c.retention != old.retention) return invalid_config("stream configuration update can not change retention policy");
  if (!c.sealed && old.sealed) return invalid_config("stream configuration update can not unseal a sealed stream");
  if (!c.deny_delete && old.deny_delete)
    return invalid_config("stream configuration update can not cancel deny message deletes");
  if (!c.deny_purge && old.deny_purge) return invalid_config("stream configuration update can not cancel deny purge");
  // Tern: the codec is fixed when the store is opened.
  if (c.compression != old.compression) return invalid_config("stream configuration update can not change compression");
  if (c.sealed) {
    c.max_age_ns = 0;
    c.discard = DiscardPolicy::kNew;
    c.deny_delete = c.deny_purge = true;
    c.allow_rollup_hdrs = false;
  }
  return std::nullopt;
}

nlohmann::ordered_json stream_config_json(const StreamConfig& c) {
  nlohmann::ordered_json j;
  j["name"] = c.name;
  if (!c.description.empty()) j["description"] = c.description;
  j["subjects"] = c.subjects;
  j["retention"] = c.retention == Retention::kLimits ? "limits" : c.retention == Retention::kInterest ? "interest" : "workqueue";
  j["max_consumers"] = c.max_consumers;
  j["max_msgs"] = c.max_msgs;
  j["max_bytes"] = c.max_bytes;
  j["max_age"] = c.max_age_ns;
  j["max_msgs_per_subject"] = c.max_msgs_per_subject;
  j["max_msg_size"] = c.max_msg_size;
  j["discard"] = c.discard == DiscardPolicy::kOld ? "old" : "new";
  j["storage"] = c.storage == StorageType::kFile ? "file" : "memory";
  j["num_replicas"] = c.num_replicas;
  if (c.no_ack) j["no_ack"] = true;
  if (c.duplicate_window_ns != 0) j["duplicate_window"] = c.duplicate_window_ns;
  j["allow_direct"] = c.allow_direct;
  j["mirror_direct"] = c.mirror_direct;
  if (c.discard_new_per_subject) j["discard_new_per_subject"] = true;
  j["sealed"] = c.sealed;
  j["deny_delete"] = c.deny_delete;
  j["deny_purge"] = c.deny_purge;
  j["allow_rollup_hdrs"] = c.allow_rollup_hdrs;
  j["compression"] = std::string(compression_name(c.compression));
  return j;
}

StoreLimits store_limits(const StreamConfig& c) {
  StoreLimits l;
  l.max_msgs = c.max_msgs;
  l.max_bytes = c.max_bytes;
  l.max_age_ns = c.max_age_ns;
  l.max_msgs_per_subject = c.max_msgs_per_subject;
  l.max_msg_size = c.max_msg_size;
  l.discard = c.discard;
  l.discard_new_per_subject = c.discard_new_per_subject;
  return l;
}

}  // namespace tern::server
