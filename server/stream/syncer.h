#pragma once
// Syncer: the storage thread. Runs SyncBatch::run() (fsync) off the event loop, one batch at a
// time in submission order, and reports each result through the batch's callback.
//
// Group commit with a FileStore, on the loop thread:
//   after appending:   if (auto b = store.begin_sync()) syncer.submit(std::move(*b), post_to_loop);
//   when posted back:  store.end_sync(batch, status); ack publishes up to store.durable_seq();
//                      then begin_sync() again — everything appended during the fsync is the next
//                      batch, so N concurrent publishers share one fsync.
//
// Threading: submit() may be called from any thread. Callbacks run on the Syncer thread and must
// not call into the store; they hand the result to the owner (uv_async_send, a queue, ...).

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "server/monitor/histogram.h"
#include "server/stream/sync_batch.h"

namespace tern::server {

class Syncer {
 public:
  using Done = std::function<void(SyncBatch batch, Status status)>;

  Syncer();
  // Runs every batch already submitted, then joins the thread.
  ~Syncer();
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  void submit(SyncBatch batch, Done done);
  // How long each SyncBatch::run() took, in seconds (the monitor's tern_storage_sync_seconds).
  // Recorded on the Syncer thread; any thread may read it.
  const Histogram& latency() const { return latency_; }

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<SyncBatch, Done>> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                         // GUARDED_BY(mu_)
  Histogram latency_{Histogram::sync_seconds_bounds()};
  std::thread thread_;
};

}  // namespace tern::server
