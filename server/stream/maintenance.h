#pragma once
// FileStore maintenance off the event loop: compressing sealed blocks, rewriting blocks without
// their deleted records (compaction), and preparing pre-zeroed spare block files.
//
// The split (see FileStore::next_maintenance / finish_maintenance):
//   loop:    picks a job and fills in its immutable input (block index + generation, the block's
//            open File and data length, what to keep);
//   worker:  run_maintenance_job(): reads, filters, compresses, writes a temp file, fdatasyncs it;
//   loop:    FileStore::finish_maintenance() installs the result if the block did not change
//            meanwhile (same generation), else discards it; an install returns a follow-up
//            kSyncDir job (the directory fsync that makes the rename durable) for the worker.
// Reads keep using the old file until the install swaps it, on the loop thread.
//
// MaintenanceWorker: one thread, a FIFO queue (zero-fills first: the tail is waiting for them),
// and a uv_async through which finished jobs come back to the loop thread.

#include <uv.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proto/status.h"
#include "server/stream/block_format.h"
#include "server/stream/file_system.h"

namespace tern::server {

// Where a message record sits in a block's raw (decompressed) content.
struct RecordLoc {
  uint64_t seq;
  uint64_t offset;
  uint32_t len;
};
struct TombRef {
  RecordType type;
  uint64_t seq;
};

struct MaintenanceJob {
  enum class Kind {
    kBuild,     // new content for a sealed block: optionally without dead records, optionally compressed
    kZeroFill,  // a spare block file of zeros, written and synced, for the next tail
    kSyncDir,   // fsync the directory after an install's rename
  };
  Kind kind = Kind::kBuild;
  uint64_t owner = 0;  // for the submitter (JetStream: the stream id); run() ignores it

  // --- input, fixed when the job is cut ---
  FileSystem* fs = nullptr;
  std::string dir;
  std::string tmp_path;  // output file (kBuild, kZeroFill), created/truncated by run()
  uint32_t block = 0;
  uint64_t generation = 0;
  std::shared_ptr<File> src;  // kBuild: the block's file (read only: [0, src_size))
  uint64_t src_size = 0;
  Compression src_codec = Compression::kNone;
  Compression out_codec = Compression::kNone;
  int level = 0;
  size_t frame_size = 64u << 10;
  bool filter = false;             // kBuild: keep only `live` messages and `keep_tombs`
  std::vector<uint64_t> live;      // ascending
  std::vector<TombRef> keep_tombs;
  uint64_t floor_seq = 0;          // kBuild with filter: the new block's leading kSeqFloor record
  int64_t floor_ts = 0;
  uint64_t zero_bytes = 0;         // kZeroFill: size of the spare

  // --- output, set by run_maintenance_job() ---
  Status status;
  uint64_t raw_size = 0;           // kBuild: raw content bytes of the new file
  std::vector<RecordLoc> msgs;     // kBuild with filter: message records in the new content
  std::vector<TombRef> tombs;      // kBuild with filter: tombstones in the new content
};

// The expensive part; any thread. Sets job->status (and returns it).
Status run_maintenance_job(MaintenanceJob* job);

class MaintenanceWorker {
 public:
  using Done = std::function<void(MaintenanceJob job)>;  // runs on the loop thread

  // REQUIRES: called on the loop thread; `done` gets every finished job there.
  MaintenanceWorker(uv_loop_t* uv_loop, Done done);
  // REQUIRES: stop() was called and the loop ran the handle's close (or never runs again).
  ~MaintenanceWorker();
  MaintenanceWorker(const MaintenanceWorker&) = delete;
  MaintenanceWorker& operator=(const MaintenanceWorker&) = delete;

  void submit(MaintenanceJob job);  // loop thread
  // Finishes the running job, drops queued ones (their temp files are removed by the next
  // recovery), joins the thread, hands finished jobs to `done`, closes the uv_async. Idempotent.
  void stop();
  bool idle();  // nothing queued or running (tests)

 private:
  static void on_async(uv_async_t* h);
  void drain();
  void loop();

  Done done_;
  uv_async_t async_;
  bool open_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<MaintenanceJob> queue_;     // GUARDED_BY(mu_)
  std::vector<MaintenanceJob> finished_; // GUARDED_BY(mu_)
  bool running_ = false;                 // GUARDED_BY(mu_)
  bool stopping_ = false;                // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace tern::server
