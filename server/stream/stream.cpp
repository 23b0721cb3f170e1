#include "server/stream/stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "proto/headers.h"
#include "server/stream/consumer_config.h"
#include "server/stream/fault_injection.h"
#include "server/stream/jetstream.h"
#include "server/stream/mem_store.h"

namespace tern::server {
namespace {

using ojson = nlohmann::ordered_json;

constexpr size_t kMaxHeaderBytes = 65535;  // math.MaxUint16 in nats' processJetStreamMsg (10097)

// nats' parseInt64 on a header value: digits only, else "no valid number" (which then never
// equals a real sequence).
uint64_t parse_header_seq(std::string_view v) {
  if (v.empty() || v.size() > 19) return UINT64_MAX;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return UINT64_MAX;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

}  // namespace

Status write_file_durably(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::error("cannot create " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status::error("cannot write " + tmp + ": " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return Status::error("cannot fsync " + tmp + ": " + std::strerror(e));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return Status::error("cannot rename " + tmp + ": " + std::strerror(errno));
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::ok();
}


int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_time_ns(int64_t ns) {
  if (ns <= 0) return "0001-01-01T00:00:00Z";  // Go's zero time
  return format_rfc3339_ns(ns, 0);
}

Stream::Stream(JetStream& js, const StreamConfig& cfg, int64_t created_ns, std::string dir)
    : js_(js), id_(js.next_stream_id()), cfg_(cfg), created_ns_(created_ns), dir_(std::move(dir)) {}

Result<std::unique_ptr<Stream>> Stream::open(JetStream& js, const StreamConfig& cfg, int64_t created_ns,
                                             std::string dir, RecoveryReport* report) {
  std::unique_ptr<Stream> s(new Stream(js, cfg, created_ns, std::move(dir)));
  if (cfg.storage == StorageType::kFile) {
    std::error_code ec;
    std::filesystem::create_directories(s->dir_ + "/msgs", ec);
    if (ec) return Status::error("cannot create " + s->dir_ + "/msgs: " + ec.message());
    FileStoreConfig fc;
    fc.dir = s->dir_ + "/msgs";
    fc.limits = store_limits(cfg);
    fc.compression = cfg.compression;
    fc.fs = stream_file_system();  // posix_file_system(), unless a test build injects disk faults
    auto fs = FileStore::open(fc, report);
    if (!fs) return fs.status();
    s->file_store_ = fs->get();
    s->store_ = std::move(*fs);
  } else {
    s->store_ = std::make_unique<MemStore>(store_limits(cfg));
  }
  int64_t now = now_ns();
  (void)s->store_->expire(now);
  s->rebuild_dedup(now);
  if (auto st = s->subscribe(); !st) return st;
  if (s->file_store_) s->recover_consumers();
  return s;
}

Stream::~Stream() { unsubscribe(); }

Status Stream::subscribe() {
  for (const std::string& subject : cfg_.subjects) {
    auto sub = std::make_unique<Subscription>();
    sub->client = this;
    sub->subject = subject;
    sub->sid = std::to_string(subs_.size() + 1);
    if (!js_.router().sublist().insert(sub.get())) return Status::error("invalid subject " + subject);
    subs_.push_back(std::move(sub));
  }
  return Status::ok();
}

void Stream::unsubscribe() {
  for (auto& sub : subs_) {
    js_.router().sublist().remove(sub.get());
    sub->closed = true;
  }
  subs_.clear();
}

Status Stream::update(const StreamConfig& cfg) {
  bool subjects_changed = cfg.subjects != cfg_.subjects;
  cfg_ = cfg;
  if (subjects_changed) {
    unsubscribe();
    if (auto st = subscribe(); !st) return st;
  }
  if (auto st = store_->update_limits(store_limits(cfg_)); !st) return st;
  mark_dirty();
  js_.want_tick();
  return persist_config();
}

Status Stream::persist_config() const {
  if (cfg_.storage != StorageType::kFile) return Status::ok();  // memory streams leave nothing behind
  ojson meta;
  meta["config"] = stream_config_json(cfg_);
  meta["created"] = created_ns_;
  return write_file_durably(dir_ + "/config.json", dump(meta));
}

ojson Stream::info(const std::string* subjects_filter) const {
  StoreState st = store_->state();
  ojson state;
  state["messages"] = st.msgs;
  state["bytes"] = st.bytes;
  state["first_seq"] = st.first_seq;
  state["first_ts"] = format_time_ns(st.msgs ? st.first_ts : 0);
  state["last_seq"] = st.last_seq;
  state["last_ts"] = format_time_ns(st.last_ts);
  if (st.num_subjects) state["num_subjects"] = st.num_subjects;
  if (subjects_filter && !subjects_filter->empty()) {
    auto subjects = store_->subjects_state(*subjects_filter == ">" ? std::string_view() : *subjects_filter);
    if (!subjects.empty()) state["subjects"] = subjects;
  }
  if (st.num_deleted) state["num_deleted"] = st.num_deleted;
  state["consumer_count"] = consumers_.size();
  ojson j;
  j["config"] = stream_config_json(cfg_);
  j["created"] = format_time_ns(created_ns_);
  j["state"] = std::move(state);
  return j;
}

bool Stream::deliver(Subscription&, const Message& m) {
  process(m);
  return true;
}

void Stream::reply_error(std::string_view reply, const ApiError& e) {
  if (reply.empty() || cfg_.no_ack) return;
  ojson j;
  j["error"] = e.json();
  j["stream"] = cfg_.name;
  j["seq"] = 0;
  js_.send(std::string(reply), dump(j));
}

void Stream::reply_ack(std::string_view reply, uint64_t seq, bool duplicate) {
  // Byte for byte what nats-server sends (stream.go pubAck), space after the comma included.
  std::string body = "{\"stream\":" + dump(ojson(cfg_.name)) + ", \"seq\":" + std::to_string(seq);
  body += duplicate ? ",\"duplicate\": true}" : "}";
  js_.send(std::string(reply), std::move(body));
}

void Stream::process(const Message& m) {
  std::string_view reply = m.reply;
  if (cfg_.sealed) return reply_error(reply, api_error(ApiErr::kStreamSealed));
  std::string_view hdrs = m.has_headers ? m.headers : std::string_view();
  std::string msg_id;
  bool rollup_sub = false, rollup_all = false;
  int64_t now = now_ns();
  // Order of checks: jetstream-api spec 7.1 (nats' processJetStreamMsg).
  if (!hdrs.empty()) {
    if (auto want = proto::find_header(hdrs, "Nats-Expected-Stream"); !want.empty() && want != cfg_.name)
      return reply_error(reply, api_error(ApiErr::kStreamNotMatch));
    msg_id = std::string(proto::find_header(hdrs, "Nats-Msg-Id"));
    if (!msg_id.empty()) {
      auto it = dedup_.find(msg_id);
      if (it != dedup_.end() && now - it->second.ts < cfg_.duplicate_window_ns) {
        uint64_t seq = it->second.seq;
        if (!reply.empty() && !cfg_.no_ack) {
          if (file_store_ && file_store_->durable_seq() < seq) {
            pending_acks_.push_back({seq, std::string(reply), true});
            js_.want_sync(this);
          } else {
            reply_ack(reply, seq, true);
          }
        }
        return;
      }
    }
    if (auto v = proto::find_header(hdrs, "Nats-Expected-Last-Subject-Sequence"); !v.empty()) {
      uint64_t want = parse_header_seq(v);
      auto last = store_->load_last(m.subject);
      uint64_t have = last ? last->seq : 0;
      if (have != want) return reply_error(reply, api_error(ApiErr::kStreamWrongLastSequence, std::to_string(have)));
    }
    if (auto v = proto::find_header(hdrs, "Nats-Expected-Last-Sequence"); !v.empty()) {
      uint64_t last = store_->state().last_seq;
      if (parse_header_seq(v) != last)
        return reply_error(reply, api_error(ApiErr::kStreamWrongLastSequence, std::to_string(last)));
    }
    if (auto v = proto::find_header(hdrs, "Nats-Expected-Last-Msg-Id"); !v.empty() && v != last_msg_id_)
      return reply_error(reply, api_error(ApiErr::kStreamWrongLastMsgId, last_msg_id_));
    if (auto v = proto::find_header(hdrs, "Nats-Rollup"); !v.empty()) {
      if (!cfg_.allow_rollup_hdrs || cfg_.deny_purge)
        return reply_error(reply, api_error(ApiErr::kStreamRollupFailed, "rollup not permitted"));
      std::string r = lower(v);
      if (r == "sub") rollup_sub = true;
      else if (r == "all") rollup_all = true;
      // nats-server drops the message without an answer here; Tern says why.
      else return reply_error(reply, api_error(ApiErr::kStreamRollupFailed, "rollup value invalid: " + r));
    }
  }
  if (cfg_.max_msg_size >= 0 && static_cast<int64_t>(hdrs.size() + m.payload.size()) > cfg_.max_msg_size)
    return reply_error(reply, api_error(ApiErr::kStreamMessageExceedsMaximum));
  if (hdrs.size() > kMaxHeaderBytes) return reply_error(reply, api_error(ApiErr::kStreamHeaderExceedsMaximum));
  // Server-wide max_memory_store / max_file_store: refused once usage is over the limit.
  if (js_.over_limit(cfg_.storage)) return reply_error(reply, api_error(ApiErr::kInsufficientResources));

  if (cfg_.retention == Retention::kInterest && !interest_in(m.subject)) {
    // nobody would ever consume it: a sequence is used, nothing is stored.
    auto skipped = store_->skip_msg();
    if (!skipped) return reply_error(reply, api_error(ApiErr::kStreamStoreFailed, skipped.status().message()));
    last_msg_id_ = msg_id;
    if (!msg_id.empty()) {
      dedup_[msg_id] = {*skipped, now};
      dedup_order_.emplace_back(now, msg_id);
      js_.want_tick();
    }
    if (!file_store_) {
      if (!reply.empty() && !cfg_.no_ack) reply_ack(reply, *skipped, false);
      return;
    }
    if (!reply.empty() && !cfg_.no_ack) pending_acks_.push_back({*skipped, std::string(reply), false});
    js_.want_sync(this);
    return;
  }
  auto result = store_->store_msg(m.subject, hdrs, m.payload, now);
  if (!result) {
    StoreErrc code = store_errc(result.status());
    if (code == StoreErrc::kStorageFailed)
      spdlog::error("JetStream failed to store a msg on stream '{}': {}", cfg_.name, result.status().message());
    return reply_error(reply, api_error(ApiErr::kStreamStoreFailed, result.status().message()));
  }
  uint64_t seq = *result;
  last_msg_id_ = msg_id;
  if (!msg_id.empty()) {
    dedup_[msg_id] = {seq, now};
    dedup_order_.emplace_back(now, msg_id);
    js_.want_tick();
  }
  if (rollup_sub) (void)store_->purge_ex(m.subject, 0, 1);
  else if (rollup_all) (void)store_->purge_ex({}, 0, 1);
  stored(seq, m.subject);
  if (cfg_.max_age_ns > 0) js_.want_tick();

  if (!file_store_) {
    if (!reply.empty() && !cfg_.no_ack) reply_ack(reply, seq, false);
    return;
  }
  if (!reply.empty() && !cfg_.no_ack) pending_acks_.push_back({seq, std::string(reply), false});
  js_.want_sync(this);
}

void Stream::mark_dirty() {
  if (file_store_) js_.want_sync(this);
}

std::optional<SyncBatch> Stream::next_batch() {
  if (!file_store_) return std::nullopt;
  auto batch = file_store_->begin_sync();
  if (!batch) on_synced_release();
  return batch;
}

void Stream::on_synced(const SyncBatch& batch, const Status& status) {
  file_store_->end_sync(batch, status);
  if (!status) spdlog::error("JetStream stream '{}': sync failed: {}", cfg_.name, status.message());
  on_synced_release();
  if (!pending_acks_.empty()) js_.want_sync(this);
}

void Stream::on_synced_release() {
  if (!file_store_->health()) {
    // Fail closed: nothing waiting can become durable any more.
    ApiError e = api_error(ApiErr::kStreamStoreFailed, file_store_->health().message());
    for (const PendingAck& a : pending_acks_) reply_error(a.reply, e);
    pending_acks_.clear();
    return;
  }
  uint64_t durable = file_store_->durable_seq();
  while (!pending_acks_.empty() && pending_acks_.front().seq <= durable) {
    reply_ack(pending_acks_.front().reply, pending_acks_.front().seq, pending_acks_.front().duplicate);
    pending_acks_.pop_front();
  }
}

void Stream::flush_and_ack() {
  if (file_store_) {
    if (auto st = file_store_->flush(); !st) {
      on_synced_release();
      return;
    }
  }
  for (const PendingAck& a : pending_acks_) reply_ack(a.reply, a.seq, a.duplicate);
  pending_acks_.clear();
}

bool Stream::needs_tick() const { return cfg_.max_age_ns > 0 || !dedup_order_.empty() || !consumers_.empty(); }

void Stream::tick(int64_t now) {
  for (auto& [name, c] : consumers_) c->save_state(false);
  if (cfg_.max_age_ns > 0) {
    auto removed = store_->expire(now);
    if (removed && *removed > 0) mark_dirty();
  }
  forget_expired_ids(now);
}

void Stream::forget_expired_ids(int64_t now) {
  while (!dedup_order_.empty() && now - dedup_order_.front().first >= cfg_.duplicate_window_ns) {
    auto it = dedup_.find(dedup_order_.front().second);
    if (it != dedup_.end() && it->second.ts == dedup_order_.front().first) dedup_.erase(it);
    dedup_order_.pop_front();
  }
}

void Stream::rebuild_dedup(int64_t now) {
  // ids of stored messages still inside the window, newest last.
  StoreState st = store_->state();
  if (st.msgs == 0) return;
  std::vector<StoredMsg> recent;
  for (uint64_t seq = st.last_seq; seq >= st.first_seq && seq > 0; --seq) {
    auto msg = store_->load(seq);
    if (!msg) continue;
    if (now - msg->ts >= cfg_.duplicate_window_ns) break;
    recent.push_back(std::move(*msg));
  }
  for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
    std::string id(proto::find_header(it->headers, "Nats-Msg-Id"));
    if (it->seq == st.last_seq) last_msg_id_ = id;
    if (id.empty()) continue;
    dedup_[id] = {it->seq, it->ts};
    dedup_order_.emplace_back(it->ts, id);
  }
}

}  // namespace tern::server

namespace tern::server {

// ---- Consumers ----

Consumer* Stream::find_consumer(std::string_view name) {
  auto it = consumers_.find(name);
  return it == consumers_.end() ? nullptr : it->second.get();
}

Result<Consumer*> Stream::add_consumer(const ConsumerConfig& cfg, const std::string& name) {
  auto c = std::make_unique<Consumer>(*this, js_, cfg, name, now_ns(), nullptr);
  if (auto st = c->subscribe(); !st) return st;
  if (c->persistent()) {
    // A leftover directory (an old consumer of the same name): start clean.
    js_.state_writer().forget(c->dir());
    std::error_code ec;
    std::filesystem::remove_all(c->dir(), ec);
    if (auto st = c->persist_config(); !st) return st;
  }
  Consumer* p = c.get();
  consumers_.emplace(name, std::move(c));
  js_.want_tick();
  return p;
}

void Stream::delete_consumer(std::string_view name) {
  auto it = consumers_.find(name);
  if (it == consumers_.end()) return;
  std::unique_ptr<Consumer> c = std::move(it->second);
  consumers_.erase(it);
  c->stop(true);
  uint64_t from = c->ack_floor_seq() + 1;
  c.reset();
  if (cfg_.retention != Retention::kInterest) return;
  // what no remaining consumer needs goes now.
  uint64_t last = store_->state().last_seq;
  bool removed = false;
  for (uint64_t seq = from; seq <= last;) {
    auto m = store_->load_next({}, seq);
    if (!m) break;
    bool needed = false;
    for (auto& [n, o] : consumers_) needed = needed || o->needs(m->seq, m->subject);
    if (!needed) {
      auto r = store_->remove(m->seq);
      removed = (r && *r) || removed;
    }
    seq = m->seq + 1;
  }
  if (removed) mark_dirty();
}

void Stream::stop_consumers() {
  // With their files: the state writer must not recreate a directory the stream delete removes.
  for (auto& [name, c] : consumers_) c->stop(true);
  consumers_.clear();
}

void Stream::shutdown_consumers() {
  for (auto& [name, c] : consumers_) c->shutdown();
}

bool Stream::interest_in(std::string_view subject) const {
  for (const auto& [name, c] : consumers_)
    if (c->filter_matches(subject)) return true;
  return false;
}

void Stream::stored(uint64_t seq, std::string_view subject) {
  for (auto& [name, c] : consumers_) c->on_stored(seq, subject);
}

void Stream::message_acked(uint64_t seq) {
  if (cfg_.retention == Retention::kLimits) return;
  if (cfg_.retention == Retention::kInterest) {
    bool filtered = false;
    for (auto& [name, c] : consumers_) filtered = filtered || c->has_filter();
    std::string subject;
    if (filtered) {
      auto m = store_->load(seq);
      if (!m) return;
      subject = std::move(m->subject);
    }
    for (auto& [name, c] : consumers_)
      if (filtered ? c->needs(seq, subject) : c->needs(seq, std::string_view())) return;
  }
  auto removed = store_->remove(seq);
  if (removed && *removed) mark_dirty();
}

void Stream::notify_purged() {
  uint64_t first = store_->state().first_seq;
  for (auto& [name, c] : consumers_) c->on_purged(first);
}

void Stream::notify_removed(uint64_t seq) {
  for (auto& [name, c] : consumers_) c->on_removed(seq);
}

Result<uint64_t> Stream::store_direct(std::string_view subject, std::string_view headers, std::string_view payload) {
  auto stored_seq = store_->store_msg(subject, headers, payload, now_ns());
  if (!stored_seq) return stored_seq.status();
  if (cfg_.max_age_ns > 0) js_.want_tick();
  stored(*stored_seq, subject);
  mark_dirty();
  return *stored_seq;
}

void Stream::recover_consumers() {
  std::error_code ec;
  std::vector<std::filesystem::path> dirs;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/obs", ec))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const auto& dir : dirs) {
    std::ifstream in((dir / "config.json").string());
    if (!in) {
      spdlog::warn("JetStream: consumer directory {} has no config.json; skipped", dir.string());
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto meta = nlohmann::json::parse(ss.str(), nullptr, false);
    ConsumerConfig cfg;
    if (meta.is_discarded() || !meta.is_object() || !meta.contains("config") ||
        decode_consumer_config(meta["config"], &cfg) || check_consumer_config(cfg_, &cfg, true)) {
      spdlog::error("JetStream: cannot read consumer config in {}; consumer skipped", dir.string());
      continue;
    }
    std::string name = meta.value("name", dir.filename().string());
    int64_t created = meta.value("created", int64_t{0});
    auto state = load_consumer_state(*posix_file_system(), dir.string());
    const ConsumerState* restored = nullptr;
    if (!state) {
      spdlog::warn("JetStream: consumer '{} > {}' state is damaged ({}); starting over from its deliver policy",
                   cfg_.name, name, state.status().message());
    } else if (state->has_value()) {
      restored = &**state;
    }
    auto c = std::make_unique<Consumer>(*this, js_, cfg, name, created, restored);
    if (auto st = c->subscribe(); !st) {
      spdlog::error("JetStream: consumer '{} > {}': {}", cfg_.name, name, st.message());
      continue;
    }
    spdlog::info("  Restored consumer '{} > {}' ({} pending acks)", cfg_.name, name,
                 restored ? restored->pending.size() : 0);
    consumers_.emplace(name, std::move(c));
  }
}

}  // namespace tern::server
