#include "server/stream/jetstream.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/stream/api.h"

namespace tern::server {
namespace {

constexpr uint64_t kTickMs = 100;  // max_age expiry and dedup purge resolution (R-3.3 allows 1 s)

// sync_interval was validated by the options loader ("always" or a Go duration); this reads
// the plain forms ("2m", "1m30s", "500ms") into milliseconds.
int64_t sync_interval_ms(const std::string& v) {
  if (v == "always") return 0;
  double total_ms = 0;
  size_t i = 0;
  while (i < v.size()) {
    size_t start = i;
    while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.')) ++i;
    double n = std::atof(v.substr(start, i - start).c_str());
    size_t ustart = i;
    while (i < v.size() && !std::isdigit(static_cast<unsigned char>(v[i])) && v[i] != '.') ++i;
    std::string unit = v.substr(ustart, i - ustart);
    if (unit == "h") total_ms += n * 3'600'000;
    else if (unit == "m") total_ms += n * 60'000;
    else if (unit == "s") total_ms += n * 1000;
    else if (unit == "ms") total_ms += n;
    else if (unit == "us" || unit == "µs") total_ms += n / 1000;
    else if (unit == "ns") total_ms += n / 1e6;
    else return 120'000;
  }
  return std::max<int64_t>(1, static_cast<int64_t>(total_ms));
}

int64_t now_ms() { return now_ns() / 1'000'000; }

}  // namespace

std::string default_store_dir() {
  std::error_code ec;
  auto tmp = std::filesystem::temp_directory_path(ec);
  return (ec ? std::string("/tmp") : tmp.string()) + "/tern";
}

JetStream::JetStream(uv_loop_t* loop, Router& router, const JetStreamOptions& opts)
    : loop_(loop), router_(router), opts_(opts) {
  std::string base = opts_.store_dir.empty() ? default_store_dir() : opts_.store_dir;
  root_ = base + "/jetstream";
  sync_interval_ms_ = sync_interval_ms(opts_.sync_interval);
  state_writer_ = std::make_unique<StateWriter>();
}

JetStream::~JetStream() {
  shutdown();
  streams_.clear();
}

Status JetStream::start() {
  std::error_code ec;
  std::filesystem::create_directories(root_ + "/streams", ec);
  if (ec) return Status::error("cannot create JetStream store directory " + root_ + ": " + ec.message());
  syncer_ = std::make_unique<Syncer>();
  maint_ = std::make_unique<MaintenanceWorker>(loop_, [this](MaintenanceJob j) { on_maintained(std::move(j)); });
  uv_check_init(loop_, &check_);
  uv_async_init(loop_, &async_, on_async);
  uv_timer_init(loop_, &timer_);
  check_.data = async_.data = timer_.data = this;
  handles_open_ = true;
  uv_check_start(&check_, on_check);

  spdlog::info("Starting JetStream");
  spdlog::info("  Store directory: \"{}\"", root_);
  spdlog::info("  Sync interval:   {}", sync_always() ? "always (a pub ack means fsynced)" : opts_.sync_interval);
  recover();
  for (auto& [name, s] : streams_) maintain(s.get());
  api_ = std::make_unique<ApiHandler>(*this);
  if (auto st = api_->subscribe(); !st) return st;
  want_tick();
  return Status::ok();
}

void JetStream::recover() {
  std::error_code ec;
  std::vector<std::filesystem::path> dirs;
  for (const auto& e : std::filesystem::directory_iterator(root_ + "/streams", ec))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const auto& dir : dirs) {
    std::string cfg_path = (dir / "config.json").string();
    std::ifstream in(cfg_path);
    if (!in) {
      spdlog::warn("JetStream: {} has no config.json; skipped", dir.string());
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto meta = nlohmann::json::parse(ss.str(), nullptr, false);
    StreamConfig cfg;
    if (meta.is_discarded() || !meta.is_object() || !meta.contains("config") ||
        decode_stream_config(meta["config"], &cfg) || check_stream_config(&cfg)) {
      spdlog::error("JetStream: cannot read stream config {}; stream skipped", cfg_path);
      continue;
    }
    int64_t created = meta.value("created", int64_t{0});
    RecoveryReport report;
    auto s = Stream::open(*this, cfg, created, dir.string(), &report);
    if (!s) {
      spdlog::error("JetStream: cannot recover stream '{}': {}", cfg.name, s.status().message());
      continue;
    }
    StoreState st = (*s)->store().state();
    if (report.clean())
      spdlog::info("  Restored {} messages for stream '{}' ({})", st.msgs, cfg.name, report.summary());
    else
      spdlog::warn("  Restored {} messages for stream '{}' with losses: {}", st.msgs, cfg.name, report.summary());
    streams_.emplace(cfg.name, std::move(*s));
  }
  if (!streams_.empty()) spdlog::info("  Recovered {} streams", streams_.size());
}

void JetStream::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  api_.reset();
  run_queue_.clear();
  for (auto& [name, s] : streams_) s->shutdown_consumers();
  state_writer_->drain();
  if (maint_) maint_->stop();  // installs the running job's result; queued ones are dropped
  // Run what the Syncer holds, take the results back, then make everything else durable.
  syncer_.reset();
  drain_done();
  for (auto& [name, s] : streams_) {
    if (FileStore* fs = s->file_store()) {
      if (auto st = fs->sync(); !st) spdlog::error("JetStream: final sync of stream '{}' failed: {}", name, st.message());
      s->on_synced_release();
    }
  }
  publish_outbox();
  if (handles_open_) {
    handles_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&check_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  }
}

void JetStream::send(std::string subject, std::string payload) {
  outbox_.push_back(OutMsg{std::move(subject), std::string(), std::move(payload), std::string()});
}

void JetStream::send_headers(std::string subject, std::string headers) {
  outbox_.push_back(OutMsg{std::move(subject), std::move(headers), std::string(), std::string()});
}

void JetStream::send_msg(std::string subject, std::string headers, std::string payload, std::string reply) {
  outbox_.push_back(OutMsg{std::move(subject), std::move(headers), std::move(payload), std::move(reply)});
}

void JetStream::want_run(Consumer* c) {
  if (c->queued_for_run || stopped_) return;
  c->queued_for_run = true;
  run_queue_.push_back(c);
}

void JetStream::cancel_run(Consumer* c) {
  for (Consumer*& r : running_)
    if (r == c) r = nullptr;
  if (!c->queued_for_run) return;
  c->queued_for_run = false;
  std::erase(run_queue_, c);
}

void JetStream::run_consumers() {
  while (!run_queue_.empty()) {
    running_ = std::move(run_queue_);
    run_queue_.clear();
    for (Consumer* c : running_) c->queued_for_run = false;
    // A consumer destroyed meanwhile nulls its entry (cancel_run).
    for (size_t i = 0; i < running_.size(); ++i)
      if (running_[i]) running_[i]->run();
    running_.clear();
  }
}

size_t JetStream::consumer_count() const {
  size_t n = 0;
  for (const auto& [name, s] : streams_) n += s->consumers().size();
  return n;
}

void JetStream::publish_outbox() {
  // A reply may itself be captured by a stream (which queues more): loop until quiet.
  while (!outbox_.empty()) {
    auto batch = std::move(outbox_);
    outbox_.clear();
    for (OutMsg& o : batch) {
      Message m;
      m.subject = o.subject;
      m.headers = o.headers;
      m.has_headers = !o.headers.empty();
      m.payload = o.payload;
      m.reply = o.reply;
      router_.route(m);
    }
  }
}

Stream* JetStream::find(std::string_view name) {
  auto it = streams_.find(name);
  return it == streams_.end() ? nullptr : it->second.get();
}

Result<Stream*> JetStream::create_stream(const StreamConfig& cfg) {
  std::string dir = stream_dir(cfg.name);
  if (cfg.storage == StorageType::kFile) {
    // A leftover directory of a stream that was never fully created or deleted: start clean.
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  auto s = Stream::open(*this, cfg, now_ns(), dir, nullptr);
  if (!s) return s.status();
  if (auto st = (*s)->persist_config(); !st) return st;
  Stream* p = s->get();
  streams_.emplace(cfg.name, std::move(*s));
  want_tick();
  return p;
}

Status JetStream::delete_stream(std::string_view name) {
  auto it = streams_.find(name);
  if (it == streams_.end()) return Status::error("stream not found");
  std::string dir = it->second->dir();
  bool file = it->second->file_store() != nullptr;
  std::erase(want_sync_, it->second->id());
  it->second->stop_consumers();
  streams_.erase(it);
  if (file) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) return Status::error("cannot remove " + dir + ": " + ec.message());
  }
  return Status::ok();
}

int64_t JetStream::max_store(StorageType t) const {
  return t == StorageType::kMemory ? opts_.max_memory_store : opts_.max_file_store;
}

uint64_t JetStream::used(StorageType t) const {
  uint64_t total = 0;
  for (const auto& [name, s] : streams_)
    if (s->config().storage == t) total += s->store().state().bytes;
  return total;
}

std::optional<ApiError> JetStream::check_reservation(StorageType t, int64_t add_bytes, const Stream* except) const {
  int64_t limit = max_store(t);
  if (limit < 0) return std::nullopt;
  int64_t reserved = 0;
  for (const auto& [name, s] : streams_)
    if (s.get() != except && s->config().storage == t && s->config().max_bytes > 0) reserved += s->config().max_bytes;
  // Unsigned arithmetic cannot overflow here: both terms are below 2^63.
  if (static_cast<uint64_t>(reserved) + static_cast<uint64_t>(std::max<int64_t>(add_bytes, 0)) <=
      static_cast<uint64_t>(limit))
    return std::nullopt;
  return api_error(t == StorageType::kMemory ? ApiErr::kMemoryResourcesExceeded : ApiErr::kStorageResourcesExceeded);
}

uint64_t JetStream::reserved(StorageType t) const {
  uint64_t total = 0;
  for (const auto& [name, s] : streams_)
    if (s->config().storage == t && s->config().max_bytes > 0) total += static_cast<uint64_t>(s->config().max_bytes);
  return total;
}

bool JetStream::over_limit(StorageType t) const {
  int64_t limit = max_store(t);
  return limit >= 0 && used(t) > static_cast<uint64_t>(limit);
}

void JetStream::want_sync(Stream* s) {
  if (std::find(want_sync_.begin(), want_sync_.end(), s->id()) == want_sync_.end()) want_sync_.push_back(s->id());
}

void JetStream::want_tick() {
  if (!handles_open_ || uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_))) return;
  bool needed = !sync_always();
  for (auto& [name, s] : streams_) needed = needed || s->needs_tick();
  if (needed) uv_timer_start(&timer_, on_timer, kTickMs, kTickMs);
}

void JetStream::on_check(uv_check_t* h) { static_cast<JetStream*>(h->data)->end_of_turn(); }

void JetStream::end_of_turn() {
  // Deliveries first (they may store dead-letter copies that want a sync); an outbox publish may
  // be captured by a stream and wake consumers again, hence the (bounded) repeat.
  for (int round = 0; round < 16; ++round) {
    run_consumers();
    sync_wanted();
    publish_outbox();
    if (run_queue_.empty() && want_sync_.empty()) break;
  }
}

void JetStream::sync_wanted() {
  if (!want_sync_.empty()) {
    auto ids = std::move(want_sync_);
    want_sync_.clear();
    for (uint64_t id : ids) {
      Stream* s = nullptr;
      for (auto& [name, st] : streams_)
        if (st->id() == id) s = st.get();
      if (!s) continue;
      if (!sync_always()) {
        s->flush_and_ack();
      } else if (!s->file_store()->sync_in_flight()) {
        if (auto batch = s->next_batch()) submit(s, std::move(*batch));
      }
      // else: on_synced re-queues the stream while acks still wait.
    }
  }
}

void JetStream::submit(Stream* s, SyncBatch batch) {
  uint64_t id = s->id();
  syncer_->submit(std::move(batch), [this, id](SyncBatch b, Status st) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(Done{id, std::move(b), std::move(st)});
    }
    uv_async_send(&async_);
  });
}

void JetStream::on_async(uv_async_t* h) { static_cast<JetStream*>(h->data)->drain_done(); }

void JetStream::drain_done() {
  std::vector<Done> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done.swap(done_);
  }
  for (Done& d : done) {
    for (auto& [name, s] : streams_) {
      if (s->id() == d.stream_id) {
        s->on_synced(d.batch, d.status);
        maintain(s.get());
        break;
      }
    }
  }
  // The check handle runs right after this turn's I/O and publishes the released acks.
}

void JetStream::on_timer(uv_timer_t* h) {
  auto* js = static_cast<JetStream*>(h->data);
  int64_t now = now_ns();
  bool needed = !js->sync_always();
  for (auto& [name, s] : js->streams_) {
    s->tick(now);
    needed = needed || s->needs_tick();
  }
  if (!js->sync_always() && now_ms() - js->last_interval_sync_ms_ >= js->sync_interval_ms_) {
    js->last_interval_sync_ms_ = now_ms();
    for (auto& [name, s] : js->streams_)
      if (s->file_store() && !s->file_store()->sync_in_flight())
        if (auto batch = s->next_batch()) js->submit(s.get(), std::move(*batch));
  }
  if (!needed) uv_timer_stop(&js->timer_);
  js->publish_outbox();
}

// Storage maintenance (maintenance.h): at most one job per stream is out; the next is cut after
// each sync and when one comes back.
void JetStream::maintain(Stream* s) {
  FileStore* fs = s->file_store();
  if (!maint_ || !fs) return;
  if (auto job = fs->next_maintenance()) {
    job->owner = s->id();
    maint_->submit(std::move(*job));
  }
}

void JetStream::on_maintained(MaintenanceJob job) {
  for (auto& [name, s] : streams_) {
    if (s->id() != job.owner || !s->file_store()) continue;
    if (auto next = s->file_store()->finish_maintenance(std::move(job))) {
      maint_->submit(std::move(*next));
      return;
    }
    want_sync(s.get());  // a replaced file is unlinked, a new tail's name synced, by the next batch
    maintain(s.get());
    return;
  }
  // The stream was deleted meanwhile: its directory went with it.
}

}  // namespace tern::server
