#include "server/stream/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <vector>

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
  Request(JetStream& js, std::string_view reply, const char* kind) : js_(js), reply_(reply) {
    out_["type"] = std::string(kTypePrefix) + kind;
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
  o["consumers"] = 0;
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
  // nats-server 2.9.10's stores say "stream store EOF" past the last sequence.
  if (seq > s->store().state().last_seq) return r.error(ApiErr::kStreamMsgDeleteFailed, "stream store EOF");
  auto removed = no_erase ? s->store().remove(seq) : s->store().erase(seq);
  if (!removed) return r.error(ApiErr::kStreamMsgDeleteFailed, removed.status().message());
  // nats-server 2.9.10: sequence 0 is 10057 "no message found"; a sequence inside the stream
  // that is already gone is 10043 "sequence N not found" (checked with nats.js).
  if (!*removed) {
    if (seq == 0) return r.error(ApiErr::kStreamMsgDeleteFailed, "no message found");
    return r.error(ApiErr::kSequenceNotFound, std::to_string(seq));
  }
  s->mark_dirty();
  r.out()["success"] = true;
  r.ok();
}

}  // namespace

ApiHandler::~ApiHandler() {
  if (sub_) {
    js_.router().sublist().remove(sub_.get());
    sub_->closed = true;
  }
}

Status ApiHandler::subscribe() {
  sub_ = std::make_unique<Subscription>();
  sub_->client = this;
  sub_->subject = "$JS.API.>";
  sub_->sid = "api";
  if (!js_.router().sublist().insert(sub_.get())) return Status::error("cannot subscribe to $JS.API.>");
  return Status::ok();
}

bool ApiHandler::deliver(Subscription&, const Message& m) {
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
  if (t[2] != "STREAM") return;  // not ours (consumers, direct get, ...): dropped silently
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
