#include "server/stream/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <random>
#include <vector>

#include "proto/headers.h"
#include "proto/subject.h"
#include "server/stream/jetstream.h"

namespace tern::server {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr const char* kTypePrefix = "io.nats.jetstream.api.v1.";
constexpr size_t kNamesLimit = 1024;       // JSApiNamesLimit
constexpr size_t kListLimit = 256;         // JSApiListLimit
constexpr int kSubjectsInfoLimit = 100000;  // JSMaxSubjectDetails

std::string base64(std::string_view in) {
  static const char* kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 3; k >= 0; --k) out += kChars[(v >> (6 * k)) & 63];
  }
  if (size_t rest = in.size() - i) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (rest == 2) v |= uint8_t(in[i + 1]) << 8;
    out += kChars[(v >> 18) & 63];
    out += kChars[(v >> 12) & 63];
    out += rest == 2 ? kChars[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::vector<std::string_view> tokens(std::string_view subject) {
  std::vector<std::string_view> t;
  proto::for_each_token(subject, [&](std::string_view s) { t.push_back(s); });
  return t;
}

// nats' isEmptyRequest: no bytes, or a JSON object with no keys.
bool is_empty_request(std::string_view payload) {
  if (payload.empty()) return true;
  auto j = json::parse(payload, nullptr, false);
  return !j.is_discarded() && j.is_object() && j.empty();
}

// Optional typed fields of small request bodies; false means "invalid JSON" (Go decode error).
bool opt_string(const json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}
bool opt_bool(const json& j, const char* key, bool* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_boolean()) return false;
  *out = it->get<bool>();
  return true;
}
bool opt_uint(const json& j, const char* key, uint64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_number_unsigned()) return false;
  *out = it->get<uint64_t>();
  return true;
}
bool opt_int(const json& j, const char* key, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (it->is_number_unsigned()) {
    if (it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
  } else if (!it->is_number_integer()) {
    return false;
  }
  *out = it->get<int64_t>();
  return true;
}

// Parses a request body that must be a JSON object.
std::optional<json> parse_object(std::string_view payload) {
  auto j = json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

class Request {
 public:
  Request(JetStream& js, std::string_view reply, const char* kind, const char* prefix = kTypePrefix)
      : js_(js), reply_(reply) {
    out_["type"] = std::string(prefix) + kind;
  }
  ojson& out() { return out_; }
  void error(const ApiError& e) {
    ++js_.api_errors;
    ojson j;
    j["type"] = out_["type"];
    j["error"] = e.json();
    for (auto& [k, v] : extra_on_error_.items()) j[k] = v;
    send(j);
  }
  void error(ApiErr e, std::string_view arg = {}) { error(api_error(e, arg)); }
  void ok() { send(out_); }
  // Fields nats-server also puts into this response's error form (paging, "purged").
  ojson& extra_on_error() { return extra_on_error_; }

 private:
  void send(const ojson& j) {
    if (reply_.empty()) return;
    js_.send(std::string(reply_), j.dump(-1, ' ', false, ojson::error_handler_t::replace));
  }
  JetStream& js_;
  std::string_view reply_;
  ojson out_;
  ojson extra_on_error_ = ojson::object();
};

void merge(ojson& into, const ojson& from) {
  for (auto& [k, v] : from.items()) into[k] = v;
}

bool overlaps_other_stream(JetStream& js, const StreamConfig& cfg, const Stream* self) {
  for (auto& [name, s] : js.streams()) {
    if (s.get() == self) continue;
    for (const std::string& a : s->config().subjects)
      for (const std::string& b : cfg.subjects)
        if (subjects_collide(a, b)) return true;
  }
  return false;
}

void account_info(JetStream& js, Request& r) {
  ojson& o = r.out();
  o["memory"] = js.used(StorageType::kMemory);
  o["storage"] = js.used(StorageType::kFile);
  o["streams"] = js.streams().size();
  o["consumers"] = js.consumer_count();
  // The account's limits, not the server's: nats-server 2.9.10 gives the global account dynamic
  // (-1) limits even when jetstream { max_memory_store, max_file_store } are set.
  o["limits"] = {{"max_memory", -1},          {"max_storage", -1},
                 {"max_streams", -1},         {"max_consumers", -1},
                 {"max_ack_pending", -1},     {"memory_max_stream_bytes", -1},
                 {"storage_max_stream_bytes", -1}, {"max_bytes_required", false}};
  o["api"] = {{"total", js.api_total}, {"errors", js.api_errors}};
  r.ok();
}

void stream_create(JetStream& js, Request& r, std::string_view name, std::string_view payload) {
  auto body = json::parse(payload, nullptr, false);
  if (body.is_discarded()) return r.error(ApiErr::kInvalidJson);
  StreamConfig cfg;
  if (auto e = decode_stream_config(body, &cfg)) return r.error(*e);
  if (cfg.name != name) return r.error(ApiErr::kStreamMismatch);
  if (name.find_first_of("/\\") != std::string_view::npos) return r.error(ApiErr::kStreamNameContainsPathSeparators);
  if (cfg.sealed) return r.error(ApiErr::kStreamInvalidConfig, "stream configuration for create can not be sealed");
  if (cfg.mirror_direct)
    return r.error(ApiErr::kStreamInvalidConfig, "stream has no mirror but does have mirror direct");
  // nats' jsNonClusteredStreamLimitsCheck runs here, before the config is checked and before an
  // existing stream is looked at: when the limit is full, even an identical re-create is refused.
  // A stream without max_bytes still needs 1 byte of room (checkBytesLimits).
  if (auto e = js.check_reservation(cfg.storage, cfg.max_bytes > 0 ? cfg.max_bytes : 1)) return r.error(*e);
  if (auto e = check_stream_config(&cfg)) return r.error(*e);
  if (Stream* existing = js.find(cfg.name)) {
    if (!(existing->config() == cfg)) return r.error(ApiErr::kStreamNameExist);
    merge(r.out(), existing->info());
    r.out()["did_create"] = true;  // 2.9.10 says so on the idempotent path too
    return r.ok();
  }
  if (overlaps_other_stream(js, cfg, nullptr)) return r.error(ApiErr::kStreamSubjectOverlap);
  auto created = js.create_stream(cfg);
  if (!created) {
    spdlog::warn("Stream create failed for '{}': {}", cfg.name, created.status().message());
    return r.error(ApiErr::kStreamCreate, created.status().message());
  }
  merge(r.out(), (*created)->info());
  r.out()["did_create"] = true;
  r.ok();
}

void stream_update(JetStream& js, Request& r, std::string_view name, std::string_view payload) {
  auto body = json::parse(payload, nullptr, false);
  if (body.is_discarded()) return r.error(ApiErr::kInvalidJson);
  StreamConfig cfg;
  if (auto e = decode_stream_config(body, &cfg)) return r.error(*e);
  if (auto e = check_stream_config(&cfg)) return r.error(*e);
  if (cfg.name != name) return r.error(ApiErr::kStreamMismatch);
  Stream* s = js.find(name);
  if (!s) return r.error(ApiErr::kStreamNotFound);
  if (auto e = check_stream_update(s->config(), &cfg)) return r.error(*e);
  // nats' checkStreamUpdate: the stream keeps its old reservation and needs room for the growth,
  // which is measured from the raw old value (-1 to 1000 grows by 1001, as in nats-server).
  int64_t old_bytes = s->config().max_bytes;
  int64_t growth = std::max<int64_t>(cfg.max_bytes - old_bytes, 0);
  if (auto e = js.check_reservation(cfg.storage, std::max<int64_t>(old_bytes, 0) + growth, s)) return r.error(*e);
  if (overlaps_other_stream(js, cfg, s)) return r.error(ApiErr::kStreamSubjectOverlap);
  if (auto st = s->update(cfg); !st) return r.error(ApiErr::kStreamGeneral, st.message());
  merge(r.out(), s->info());
  r.ok();
}

void stream_info(JetStream& js, Request& r, std::string_view name, std::string_view payload) {
  r.extra_on_error() = {{"total", 0}, {"offset", 0}, {"limit", 0}};
  std::string filter;
  int64_t offset = 0;
  bool deleted_details = false;
  if (!is_empty_request(payload)) {
    auto body = parse_object(payload);
    if (!body || !opt_string(*body, "subjects_filter", &filter) || !opt_int(*body, "offset", &offset) ||
        !opt_bool(*body, "deleted_details", &deleted_details))
      return r.error(ApiErr::kInvalidJson);
  }
  Stream* s = js.find(name);
  if (!s) return r.error(ApiErr::kStreamNotFound);
  ojson info = s->info(filter.empty() ? nullptr : &filter);
  ojson& o = r.out();
  uint64_t total = 0;
  if (!filter.empty()) {
    auto& state = info["state"];
    if (state.contains("subjects")) {
      // Paging over the subjects map, in key order (nats: offset into a sorted list).
      ojson page = ojson::object();
      total = state["subjects"].size();
      int64_t i = 0;
      for (auto& [k, v] : state["subjects"].items()) {
        if (i >= offset && page.size() < static_cast<size_t>(kSubjectsInfoLimit)) page[k] = v;
        ++i;
      }
      state["subjects"] = page;
    }
    o["total"] = total;
    o["offset"] = std::max<int64_t>(offset, 0);
    o["limit"] = kSubjectsInfoLimit;
  } else {
    o["total"] = 0;
    o["offset"] = 0;
    o["limit"] = 0;
  }
  merge(o, info);
  r.ok();
}

void stream_delete(JetStream& js, Request& r, std::string_view name, std::string_view payload) {
  if (!is_empty_request(payload)) return r.error(ApiErr::kNotEmptyRequest);
  if (!js.find(name)) return r.error(ApiErr::kStreamNotFound);
  if (auto st = js.delete_stream(name); !st) return r.error(ApiErr::kStreamDelete, st.message());
  r.out()["success"] = true;
  r.ok();
}

void stream_purge(JetStream& js, Request& r, std::string_view name, std::string_view payload) {
  r.extra_on_error() = {{"purged", 0}};
  std::string filter;
  uint64_t seq = 0, keep = 0;
  bool has_request = false;
  if (!is_empty_request(payload)) {
    auto body = parse_object(payload);
    if (!body || !opt_string(*body, "filter", &filter) || !opt_uint(*body, "seq", &seq) ||
        !opt_uint(*body, "keep", &keep))
      return r.error(ApiErr::kInvalidJson);
    if (seq > 0 && keep > 0) return r.error(ApiErr::kBadRequest);
    has_request = true;
  }
  Stream* s = js.find(name);
  if (!s) return r.error(ApiErr::kStreamNotFound);
  if (s->config().sealed) return r.error(ApiErr::kStreamSealed);
  if (s->config().deny_purge) return r.error(ApiErr::kStreamPurgeFailed, "stream purge not permitted");
  auto purged = has_request ? s->store().purge_ex(filter, seq, keep) : s->store().purge();
  if (!purged) return r.error(ApiErr::kStreamGeneral, purged.status().message());
  s->mark_dirty();
  s->notify_purged();
  r.out()["success"] = true;
  r.out()["purged"] = *purged;
  r.ok();
}

template <class Describe>
void stream_names_or_list(JetStream& js, Request& r, std::string_view payload, size_t limit, Describe describe) {
  int64_t offset = 0;
  std::string subject;
  if (!is_empty_request(payload)) {
    auto body = parse_object(payload);
    if (!body || !opt_int(*body, "offset", &offset) || !opt_string(*body, "subject", &subject))
      return r.error(ApiErr::kInvalidJson);
  }
  std::vector<Stream*> matched;  // streams_ is a sorted map: names come out sorted
  for (auto& [name, s] : js.streams()) {
    bool match = subject.empty();
    for (const std::string& subj : s->config().subjects) match = match || subjects_collide(subject, subj);
    if (match) matched.push_back(s.get());
  }
  size_t off = offset < 0 ? 0 : std::min(static_cast<size_t>(offset), matched.size());
  ojson items = ojson::array();
  for (size_t i = off; i < matched.size() && items.size() < limit; ++i) items.push_back(describe(*matched[i]));
  ojson& o = r.out();
  o["total"] = matched.size();
  o["offset"] = off;
  o["limit"] = limit;
  // nats-server 2.9.10 sends null for an empty names list (clients accept null or []).
  o["streams"] = (items.empty() && limit == kNamesLimit) ? ojson(nullptr) : items;
  r.ok();
}

void msg_get(JetStream& js, Request& r, std::string_view name, std::string_view payload) {
  if (is_empty_request(payload)) return r.error(ApiErr::kBadRequest);
  auto body = parse_object(payload);
  uint64_t seq = 0;
  std::string last_by, next_by;
  if (!body || !opt_uint(*body, "seq", &seq) || !opt_string(*body, "last_by_subj", &last_by) ||
      !opt_string(*body, "next_by_subj", &next_by))
    return r.error(ApiErr::kInvalidJson);
  if ((seq > 0 && !last_by.empty()) || (seq == 0 && last_by.empty() && next_by.empty()))
    return r.error(ApiErr::kBadRequest);
  if (!last_by.empty() && !next_by.empty()) return r.error(ApiErr::kBadRequest);
  Stream* s = js.find(name);
  if (!s) return r.error(ApiErr::kStreamNotFound);
  Result<StoredMsg> msg = Status::error("no message found");
  if (seq > 0 && next_by.empty()) msg = s->store().load(seq);
  else if (!next_by.empty()) msg = s->store().load_next(next_by == ">" ? std::string_view() : next_by, seq);
  else msg = s->store().load_last(last_by == ">" ? std::string_view() : last_by);
  if (!msg) return r.error(ApiErr::kNoMessageFound);
  ojson m;
  m["subject"] = msg->subject;
  m["seq"] = msg->seq;
  if (!msg->headers.empty()) m["hdrs"] = base64(msg->headers);
  if (!msg->payload.empty()) m["data"] = base64(msg->payload);
  m["time"] = format_time_ns(msg->ts);
  r.out()["message"] = std::move(m);
  r.ok();
}

void msg_delete(JetStream& js, Request& r, std::string_view name, std::string_view payload) {
  if (is_empty_request(payload)) return r.error(ApiErr::kBadRequest);
  auto body = parse_object(payload);
  uint64_t seq = 0;
  bool no_erase = false;
  if (!body || !opt_uint(*body, "seq", &seq) || !opt_bool(*body, "no_erase", &no_erase))
    return r.error(ApiErr::kInvalidJson);
  Stream* s = js.find(name);
  if (!s) return r.error(ApiErr::kStreamNotFound);
  if (s->config().sealed) return r.error(ApiErr::kStreamSealed);
  if (s->config().deny_delete) return r.error(ApiErr::kStreamMsgDeleteFailed, "message delete not permitted");
  // What nats-server 2.9.10 answers for a sequence with no message (measured against it): its
  // memory store always says 10043 "sequence N not found"; its file store says 10057 "stream
  // store EOF" past the last sequence, 10057 "no message found" for 0 and below the first
  // sequence, and 10043 for a gap inside the stream.
  const bool memory = s->config().storage == StorageType::kMemory;
  const uint64_t first_seq = s->store().state().first_seq;
  if (seq > s->store().state().last_seq || seq == 0) {
    if (memory) return r.error(ApiErr::kSequenceNotFound, std::to_string(seq));
    return r.error(ApiErr::kStreamMsgDeleteFailed, seq == 0 ? "no message found" : "stream store EOF");
  }
  auto removed = no_erase ? s->store().remove(seq) : s->store().erase(seq);
  if (!removed) return r.error(ApiErr::kStreamMsgDeleteFailed, removed.status().message());
  if (!*removed) {
    if (!memory && seq < first_seq) return r.error(ApiErr::kStreamMsgDeleteFailed, "no message found");
    return r.error(ApiErr::kSequenceNotFound, std::to_string(seq));
  }
  s->mark_dirty();
  s->notify_removed(seq);
  r.out()["success"] = true;
  r.ok();
}


// ---- Consumers (jetstream-api spec section 8) ----

std::string join_tokens(const std::vector<std::string_view>& t, size_t from) {
  std::string out;
  for (size_t i = from; i < t.size(); ++i) {
    if (i > from) out += '.';
    out.append(t[i]);
  }
  return out;
}

std::string generate_consumer_name(Stream& s) {
  // nats' createConsumerName: 8 characters; unique within the stream.
  static std::mt19937_64 rng{std::random_device{}()};
  static const char* kChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  for (;;) {
    std::string name(8, '0');
    for (char& c : name) c = kChars[rng() % 62];
    if (!s.find_consumer(name)) return name;
  }
}

void consumer_info_out(Request& r, Consumer& c) {
  merge(r.out(), c.info());
  r.ok();
}

void consumer_create(JetStream& js, Request& r, const std::vector<std::string_view>& t, std::string_view payload) {
  auto body = json::parse(payload, nullptr, false);
  if (body.is_discarded()) return r.error(ApiErr::kInvalidJson);
  CreateConsumerRequest req;
  if (auto e = decode_create_consumer_request(body, &req)) return r.error(*e);
  // Subject forms (section 8.2), in nats' jsConsumerCreateRequest order.
  enum { kLegacyEphemeral, kLegacyDurable, kNew } form;
  std::string_view stream_name, consumer_name;
  std::string filter;
  size_t n = t.size();
  if (n == 5) {
    form = kLegacyEphemeral;
    stream_name = t[4];
  } else if (t[3] == "DURABLE") {
    form = kLegacyDurable;
    if (n != 7) return r.error(ApiErr::kConsumerDurableNameNotInSubject);
    stream_name = t[5];
    consumer_name = t[6];
  } else {
    form = kNew;
    stream_name = t[4];
    consumer_name = t[5];
    // 2.9.10 takes the filter from subjects of 8 or more tokens only.
    if (n > 7) filter = join_tokens(t, 6);
  }
  if (stream_name != req.stream_name) return r.error(ApiErr::kStreamMismatch);
  if (consumer_name.find_first_of("/\\") != std::string_view::npos)
    return r.error(ApiErr::kConsumerNameContainsPathSeparators);
  ConsumerConfig cfg = req.config;
  if (form == kLegacyDurable) {
    if (cfg.durable_name.empty()) return r.error(ApiErr::kConsumerDurableNameNotSet);
    if (consumer_name != cfg.durable_name) return r.error(ApiErr::kConsumerDurableNameNotMatchSubject);
  }
  if (form == kNew) {
    if (!cfg.durable_name.empty() && consumer_name != cfg.durable_name)
      return r.error(ApiErr::kConsumerDurableNameNotMatchSubject);
    cfg.name = std::string(consumer_name);
  }
  if (form == kLegacyEphemeral && !cfg.durable_name.empty()) return r.error(ApiErr::kConsumerEphemeralWithDurableName);
  if (!filter.empty() && cfg.filter_subject != filter) return r.error(ApiErr::kConsumerCreateFilterSubjectMismatch);

  if (cfg.num_replicas > 1) return r.error(ApiErr::kStreamReplicasNotSupported);  // single server
  Stream* s = js.find(stream_name);
  if (!s) return r.error(ApiErr::kStreamNotFound);
  if (!cfg.deliver_subject.empty()) return r.error(ApiErr::kConsumerCreate, "push consumers are not supported by tern");
  if (auto e = check_consumer_config(s->config(), &cfg)) return r.error(*e);

  std::string name = cfg.is_durable() ? cfg.durable_name : cfg.name;
  if (Consumer* existing = name.empty() ? nullptr : s->find_consumer(name)) {
    if (existing->config() == cfg) return consumer_info_out(r, *existing);
    if (req.action == "create") return r.error(ApiErr::kConsumerAlreadyExists);
    if (auto e = check_consumer_update(existing->config(), cfg)) return r.error(*e);
    if (cfg.dead_letter_stream != existing->config().dead_letter_stream && !cfg.dead_letter_stream.empty()) {
      if (cfg.dead_letter_stream == s->config().name)
        return r.error(ApiErr::kConsumerCreate, "dead letter stream can not be the consumer's stream");
      if (!js.find(cfg.dead_letter_stream)) {
        ApiError e = api_error(ApiErr::kStreamNotFound);
        e.description = "dead letter stream not found";
        return r.error(e);
      }
    }
    existing->update(cfg);
    return consumer_info_out(r, *existing);
  }
  if (req.action == "update") return r.error(ApiErr::kConsumerDoesNotExist);
  const StreamConfig& scfg = s->config();
  if (scfg.max_consumers > 0 && static_cast<int64_t>(s->consumers().size()) >= scfg.max_consumers)
    return r.error(ApiErr::kMaximumConsumersLimit);
  if (scfg.retention == Retention::kWorkQueue && !s->consumers().empty()) {
    // one consumer per partition of the subject space.
    if (cfg.filter_subject.empty()) return r.error(ApiErr::kConsumerWqMultipleUnfiltered);
    for (auto& [other_name, other] : s->consumers()) {
      const std::string& f = other->config().filter_subject;
      if (f.empty() || subjects_collide(f, cfg.filter_subject)) return r.error(ApiErr::kConsumerWqConsumerNotUnique);
    }
  }
  if (!cfg.dead_letter_stream.empty()) {
    if (cfg.dead_letter_stream == scfg.name)
      return r.error(ApiErr::kConsumerCreate, "dead letter stream can not be the consumer's stream");
    if (!js.find(cfg.dead_letter_stream)) {
      ApiError e = api_error(ApiErr::kStreamNotFound);
      e.description = "dead letter stream not found";
      return r.error(e);
    }
  }
  if (name.empty()) {
    name = generate_consumer_name(*s);
    cfg.name = name;
  }
  auto created = s->add_consumer(cfg, name);
  if (!created) return r.error(ApiErr::kConsumerCreate, created.status().message());
  consumer_info_out(r, **created);
}

void consumer_info(JetStream& js, Request& r, std::string_view stream, std::string_view name,
                   std::string_view payload) {
  if (!is_empty_request(payload)) return r.error(ApiErr::kNotEmptyRequest);
  Stream* s = js.find(stream);
  if (!s) return r.error(ApiErr::kStreamNotFound);
  Consumer* c = s->find_consumer(name);
  if (!c) return r.error(ApiErr::kConsumerNotFound);
  consumer_info_out(r, *c);
}

void consumer_delete(JetStream& js, Request& r, std::string_view stream, std::string_view name,
                     std::string_view payload) {
  if (!is_empty_request(payload)) return r.error(ApiErr::kNotEmptyRequest);
  Stream* s = js.find(stream);
  if (!s) return r.error(ApiErr::kStreamNotFound);
  if (!s->find_consumer(name)) return r.error(ApiErr::kConsumerNotFound);
  s->delete_consumer(name);
  r.out()["success"] = true;
  r.ok();
}

void consumer_names_or_list(JetStream& js, Request& r, std::string_view stream, std::string_view payload,
                            bool list) {
  size_t limit = list ? kListLimit : kNamesLimit;
  r.extra_on_error() = {{"total", 0}, {"offset", 0}, {"limit", 0}, {"consumers", ojson::array()}};
  int64_t offset = 0;
  if (!is_empty_request(payload)) {
    auto body = parse_object(payload);
    if (!body || !opt_int(*body, "offset", &offset)) return r.error(ApiErr::kInvalidJson);
  }
  Stream* s = js.find(stream);
  if (!s) return r.error(ApiErr::kStreamNotFound);
  auto& all = s->consumers();  // sorted by name
  size_t off = offset < 0 ? 0 : std::min(static_cast<size_t>(offset), all.size());
  ojson items = ojson::array();
  size_t i = 0;
  for (auto& [name, c] : all) {
    if (i++ < off) continue;
    if (items.size() >= limit) break;
    items.push_back(list ? c->info() : ojson(name));
  }
  ojson& o = r.out();
  o["total"] = all.size();
  o["offset"] = off;
  o["limit"] = limit;
  o["consumers"] = std::move(items);
  r.ok();
}

// ---- Dead-letter redrive (Tern extension, docs/dead-letter.md) ----

// The header block without the Tern-DLQ-* and dedup/expectation headers; empty when nothing
// but the version line would remain.
std::string redrive_headers(std::string_view block) {
  std::string out;
  size_t eol = block.find("\r\n");
  if (eol == std::string_view::npos) return out;
  std::string_view version = block.substr(0, eol);
  std::string fields;
  size_t pos = eol + 2;
  while (pos < block.size()) {
    size_t e = block.find("\r\n", pos);
    if (e == std::string_view::npos || e == pos) break;
    std::string_view line = block.substr(pos, e - pos);
    pos = e + 2;
    std::string_view key = line.substr(0, line.find(':'));
    if (key.starts_with("Tern-DLQ-") || key == "Nats-Msg-Id" || key.starts_with("Nats-Expected-")) continue;
    fields.append(line);
    fields.append("\r\n");
  }
  if (fields.empty()) return out;
  out.append(version);
  out.append("\r\n");
  out.append(fields);
  out.append("\r\n");
  return out;
}

void dlq_redrive(JetStream& js, Request& r, std::string_view stream, std::string_view payload) {
  uint64_t seq = 0, max = 0;
  std::string filter;
  if (!is_empty_request(payload)) {
    auto body = parse_object(payload);
    if (!body || !opt_uint(*body, "seq", &seq) || !opt_uint(*body, "max", &max) ||
        !opt_string(*body, "filter", &filter))
      return r.error(ApiErr::kInvalidJson);
  }
  Stream* s = js.find(stream);
  if (!s) return r.error(ApiErr::kStreamNotFound);
  Store& store = s->store();
  uint64_t redriven = 0;
  auto redrive = [&](const StoredMsg& m) {
    std::string_view to = proto::find_header(m.headers, "Tern-DLQ-Subject");
    // Removed from the DLQ when the source stream's pub ack arrives (ApiHandler::on_redrive_ack).
    js.send_msg(std::string(to), redrive_headers(m.headers), m.payload,
                std::string(kRedriveAckPrefix) + std::string(stream) + "." + std::to_string(m.seq));
    ++redriven;
  };
  if (seq > 0) {
    auto m = store.load(seq);
    if (!m || proto::find_header(m->headers, "Tern-DLQ-Subject").empty()) return r.error(ApiErr::kNoMessageFound);
    redrive(*m);
  } else {
    for (uint64_t next = 0;;) {
      if (max > 0 && redriven >= max) break;
      auto m = store.load_next({}, next);
      if (!m) break;
      next = m->seq + 1;
      std::string_view to = proto::find_header(m->headers, "Tern-DLQ-Subject");
      if (to.empty()) continue;
      if (!filter.empty() && !proto::subject_matches(filter, to)) continue;
      redrive(*m);
    }
  }
  r.out()["redriven"] = redriven;
  r.ok();
}

}  // namespace

ApiHandler::~ApiHandler() {
  for (auto* s : {&sub_, &redrive_ack_sub_}) {
    if (*s) {
      js_.router().sublist().remove(s->get());
      (*s)->closed = true;
    }
  }
}

Status ApiHandler::subscribe() {
  sub_ = std::make_unique<Subscription>();
  sub_->client = this;
  sub_->subject = "$JS.API.>";
  sub_->sid = "api";
  if (!js_.router().sublist().insert(sub_.get())) return Status::error("cannot subscribe to $JS.API.>");
  redrive_ack_sub_ = std::make_unique<Subscription>();
  redrive_ack_sub_->client = this;
  redrive_ack_sub_->subject = std::string(kRedriveAckPrefix) + "*.*";
  redrive_ack_sub_->sid = "dlq-ack";
  if (!js_.router().sublist().insert(redrive_ack_sub_.get())) return Status::error("cannot subscribe to redrive acks");
  return Status::ok();
}

void ApiHandler::on_redrive_ack(std::string_view subject, std::string_view payload) {
  subject.remove_prefix(kRedriveAckPrefix.size());
  size_t dot = subject.rfind('.');
  if (dot == std::string_view::npos) return;
  std::string_view name = subject.substr(0, dot);
  uint64_t seq = 0;
  std::string_view digits = subject.substr(dot + 1);
  if (std::from_chars(digits.data(), digits.data() + digits.size(), seq).ec != std::errc{}) return;
  auto ack = nlohmann::json::parse(payload, nullptr, false);
  // Only a positive pub ack means the copy is stored (and durable) in its source stream; an
  // error (or a subject no stream captures, which gets no ack at all) keeps the DLQ copy.
  if (!ack.is_object() || ack.contains("error") || !ack.contains("seq")) return;
  Stream* s = js_.find(name);
  if (!s) return;
  if (auto removed = s->store().remove(seq); removed && *removed) {
    s->notify_removed(seq);
    s->mark_dirty();
  }
}

bool ApiHandler::deliver(Subscription& sub, const Message& m) {
  if (&sub == redrive_ack_sub_.get()) {
    on_redrive_ack(m.subject, m.payload);
    return true;
  }
  handle(m.subject, m.reply, m.payload);
  return true;  // served or deliberately dropped: either way no 503 for the requester
}

void ApiHandler::handle(std::string_view subject, std::string_view reply, std::string_view payload) {
  auto t = tokens(subject);
  // t[0..1] = "$JS" "API"
  if (t.size() < 3) return;
  auto is = [&](std::initializer_list<std::string_view> want) {
    if (t.size() != want.size() + 2 + 0) return false;
    size_t i = 2;
    for (std::string_view w : want) {
      if (!w.empty() && t[i] != w) return false;
      ++i;
    }
    return true;
  };
  if (is({"INFO"})) {
    Request r(js_, reply, "account_info_response");
    account_info(js_, r);
    ++js_.api_total;
    return;
  }
  if (t[2] == "CONSUMER") return handle_consumer(t, reply, payload);
  if (is({"TERN", "DLQ", "REDRIVE", ""})) {
    ++js_.api_total;
    Request r(js_, reply, "redrive_response", "io.tern.dlq.v1.");
    return dlq_redrive(js_, r, t[5], payload);
  }
  if (t[2] != "STREAM") return;  // not ours (direct get, ...): dropped silently
  ++js_.api_total;
  if (is({"STREAM", "CREATE", ""})) {
    Request r(js_, reply, "stream_create_response");
    return stream_create(js_, r, t[4], payload);
  }
  if (is({"STREAM", "UPDATE", ""})) {
    Request r(js_, reply, "stream_update_response");
    return stream_update(js_, r, t[4], payload);
  }
  if (is({"STREAM", "INFO", ""})) {
    Request r(js_, reply, "stream_info_response");
    return stream_info(js_, r, t[4], payload);
  }
  if (is({"STREAM", "DELETE", ""})) {
    Request r(js_, reply, "stream_delete_response");
    return stream_delete(js_, r, t[4], payload);
  }
  if (is({"STREAM", "PURGE", ""})) {
    Request r(js_, reply, "stream_purge_response");
    return stream_purge(js_, r, t[4], payload);
  }
  if (is({"STREAM", "NAMES"})) {
    Request r(js_, reply, "stream_names_response");
    return stream_names_or_list(js_, r, payload, kNamesLimit, [](Stream& s) { return ojson(s.config().name); });
  }
  if (is({"STREAM", "LIST"})) {
    Request r(js_, reply, "stream_list_response");
    return stream_names_or_list(js_, r, payload, kListLimit, [](Stream& s) { return s.info(); });
  }
  if (is({"STREAM", "MSG", "GET", ""})) {
    Request r(js_, reply, "stream_msg_get_response");
    return msg_get(js_, r, t[5], payload);
  }
  if (is({"STREAM", "MSG", "DELETE", ""})) {
    Request r(js_, reply, "stream_msg_delete_response");
    return msg_delete(js_, r, t[5], payload);
  }
  --js_.api_total;  // an unknown STREAM subject: dropped silently
}

}  // namespace tern::server

namespace tern::server {

void ApiHandler::handle_consumer(const std::vector<std::string_view>& t, std::string_view reply,
                                 std::string_view payload) {
  size_t n = t.size();
  if (n < 4) return;
  std::string_view op = t[3];
  if (op == "MSG") {
    // $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>: not an API call with a JSON answer.
    if (n != 7 || t[4] != "NEXT") return;
    Stream* s = js_.find(t[5]);
    if (!s) return;  // no reply
    if (Consumer* c = s->find_consumer(t[6])) c->request_next(reply, payload);
    return;
  }
  if (op == "CREATE" && n >= 5) {
    ++js_.api_total;
    Request r(js_, reply, "consumer_create_response");
    return consumer_create(js_, r, t, payload);
  }
  // nats subscribes DURABLE.CREATE.*.> : fewer than 7 tokens never reach the handler.
  if (op == "DURABLE" && n >= 7 && t[4] == "CREATE") {
    ++js_.api_total;
    Request r(js_, reply, "consumer_create_response");
    return consumer_create(js_, r, t, payload);
  }
  if (op == "INFO" && n == 6) {
    ++js_.api_total;
    Request r(js_, reply, "consumer_info_response");
    return consumer_info(js_, r, t[4], t[5], payload);
  }
  if (op == "DELETE" && n == 6) {
    ++js_.api_total;
    Request r(js_, reply, "consumer_delete_response");
    return consumer_delete(js_, r, t[4], t[5], payload);
  }
  if ((op == "NAMES" || op == "LIST") && n == 5) {
    ++js_.api_total;
    bool list = op == "LIST";
    Request r(js_, reply, list ? "consumer_list_response" : "consumer_names_response");
    return consumer_names_or_list(js_, r, t[4], payload, list);
  }
}

}  // namespace tern::server
