#include "server/stream/maintenance.h"

#include <algorithm>

namespace tern::server {
namespace {

Status write_new_file(FileSystem* fs, const std::string& path, std::string_view bytes) {
  auto f = fs->open(path, true);
  if (!f) return f.status();
  if (Status st = (*f)->truncate(0); !st) return st;
  if (Status st = (*f)->append(bytes); !st) return st;
  return (*f)->sync();
}

Status build(MaintenanceJob* job) {
  std::string data(job->src_size, '\0');
  if (Status st = job->src->read_at(0, data.size(), data.data()); !st) return st;
  std::string decoded;
  if (job->src_codec != Compression::kNone) decode_frames(data, &decoded);
  std::string_view raw = job->src_codec == Compression::kNone ? std::string_view(data) : std::string_view(decoded);
  std::string filtered;
  if (job->filter) {
    append_record(&filtered, RecordType::kSeqFloor, job->floor_seq, job->floor_ts);
    scan_records(raw, [&](size_t off, const RecordView& rec) {
      switch (rec.type) {
        case RecordType::kMsg:
          if (!std::binary_search(job->live.begin(), job->live.end(), rec.seq)) return;
          job->msgs.push_back(RecordLoc{rec.seq, filtered.size(), rec.size});
          break;
        case RecordType::kDelete:
        case RecordType::kDeleteUpTo:
          if (std::none_of(job->keep_tombs.begin(), job->keep_tombs.end(),
                           [&](const TombRef& t) { return t.type == rec.type && t.seq == rec.seq; })) {
            return;
          }
          job->tombs.push_back(TombRef{rec.type, rec.seq});
          break;
        case RecordType::kSeqFloor:
          return;  // replaced by the one above
      }
      filtered.append(raw.substr(off, rec.size));
    });
    raw = filtered;
  }
  job->raw_size = raw.size();
  if (job->out_codec == Compression::kNone) return write_new_file(job->fs, job->tmp_path, raw);
  std::string encoded;
  if (Status st = encode_frames(raw, job->out_codec, job->level, job->frame_size, &encoded); !st) return st;
  return write_new_file(job->fs, job->tmp_path, encoded);
}

Status zero_fill(MaintenanceJob* job) {
  auto f = job->fs->open(job->tmp_path, true);
  if (!f) return f.status();
  if (Status st = (*f)->truncate(0); !st) return st;
  // Real zeros, not fallocate: unwritten extents still cost a metadata commit when first written.
  const std::string zeros(1u << 20, '\0');
  for (uint64_t off = 0; off < job->zero_bytes; off += zeros.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), job->zero_bytes - off));
    if (Status st = (*f)->write_at(off, std::string_view(zeros).substr(0, n)); !st) return st;
  }
  return (*f)->sync();
}

}  // namespace

Status run_maintenance_job(MaintenanceJob* job) {
  switch (job->kind) {
    case MaintenanceJob::Kind::kBuild:
      job->status = build(job);
      break;
    case MaintenanceJob::Kind::kZeroFill:
      job->status = zero_fill(job);
      break;
    case MaintenanceJob::Kind::kSyncDir:
      job->status = job->fs->sync_dir(job->dir);
      break;
  }
  return job->status;
}

MaintenanceWorker::MaintenanceWorker(uv_loop_t* uv_loop, Done done) : done_(std::move(done)) {
  uv_async_init(uv_loop, &async_, on_async);
  async_.data = this;
  open_ = true;
  thread_ = std::thread([this] { loop(); });
}

MaintenanceWorker::~MaintenanceWorker() { stop(); }

void MaintenanceWorker::submit(MaintenanceJob job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    // Zero-fills go first: a tail that outruns its pre-zeroed space falls back to slower appends.
    if (job.kind == MaintenanceJob::Kind::kZeroFill) {
      queue_.push_front(std::move(job));
    } else {
      queue_.push_back(std::move(job));
    }
  }
  cv_.notify_one();
}

void MaintenanceWorker::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  drain();
  if (open_) {
    open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  }
}

bool MaintenanceWorker::idle() {
  std::lock_guard lock(mu_);
  return queue_.empty() && !running_ && finished_.empty();
}

void MaintenanceWorker::on_async(uv_async_t* h) { static_cast<MaintenanceWorker*>(h->data)->drain(); }

void MaintenanceWorker::drain() {
  std::vector<MaintenanceJob> done;
  {
    std::lock_guard lock(mu_);
    done.swap(finished_);
  }
  for (auto& job : done) done_(std::move(job));
}

void MaintenanceWorker::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    MaintenanceJob job = std::move(queue_.front());
    queue_.pop_front();
    running_ = true;
    lock.unlock();
    run_maintenance_job(&job);
    lock.lock();
    running_ = false;
    finished_.push_back(std::move(job));
    uv_async_send(&async_);
  }
}

}  // namespace tern::server
