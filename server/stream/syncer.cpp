#include "server/stream/syncer.h"

#include <chrono>

namespace tern::server {

Status SyncBatch::run() {
  for (auto& t : files_) {
    if (Status st = t.file->sync(); !st) return st;
  }
  if (sync_dir_) {
    if (Status st = fs_->sync_dir(dir_); !st) return st;
  }
  if (!unlink_.empty()) {
    for (const auto& path : unlink_) {
      if (Status st = fs_->remove(path); !st) return st;
    }
    if (Status st = fs_->sync_dir(dir_); !st) return st;
  }
  return Status::ok();
}

Syncer::Syncer() : thread_([this] { loop(); }) {}

Syncer::~Syncer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Syncer::submit(SyncBatch batch, Done done) {
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(std::move(batch), std::move(done));
  }
  cv_.notify_one();
}

void Syncer::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    auto [batch, done] = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    auto t0 = std::chrono::steady_clock::now();
    Status st = batch.run();
    latency_.record(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    done(std::move(batch), std::move(st));
    lock.lock();
  }
}

}  // namespace tern::server
