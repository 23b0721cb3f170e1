#pragma once
// FileStore: a Store on disk (`storage: file`). A stream's directory holds numbered block files of
// checksummed records (block_format.h; docs/storage-format.md has the byte layout and the rules).
//
// Write path (group commit): store_msg() and the removal calls encode records into the tail
// block's in-memory buffer and return at once. flush() hands buffered bytes to the OS (write());
// begin_sync()/SyncBatch::run()/end_sync() make them durable with one fsync per batch, on a
// Syncer thread; durable_seq() then says how far publish acks may go. sync() does all of that
// synchronously on the calling thread.
//
// Failure: the first I/O error (write, fsync, create, rename) makes the store refuse every later
// mutation with kStorageFailed naming the error (fail closed). Reads keep working from what is in
// memory and on disk. Reopening the directory recovers the durable state.
//
// Maintenance (compressing sealed blocks, compaction, pre-zeroed spare blocks): cut on the owner
// thread by next_maintenance(), run anywhere (run_maintenance_job, maintenance.h), installed by
// finish_maintenance() on the owner thread; or all at once, inline, by run_maintenance().
//
// Pre-zeroed tails: once the tail holds block_size/8 bytes, a spare block file of block_size
// zeros is written and synced off the loop; the next tail is that file (renamed), and records
// are written into it in place, so each group-commit fdatasync overwrites allocated blocks and
// skips the file-size/extent journal commit an append costs.
//
// Threading: one owner thread calls everything here; only SyncBatch::run() and
// run_maintenance_job() leave that thread.

#include <memory>
#include <optional>
#include <vector>

#include "server/stream/block_format.h"
#include "server/stream/file_system.h"
#include "server/stream/indexed_store.h"
#include "server/stream/maintenance.h"
#include "server/stream/sync_batch.h"

namespace tern::server {

struct FileStoreConfig {
  std::string dir;  // created if missing (its parent must exist)
  StoreLimits limits;
  Compression compression = Compression::kNone;  // applied to sealed blocks
  int compression_level = 0;                     // 0 = codec default (zstd 3)
  uint64_t block_size = 8u << 20;                // the tail is sealed once it holds this many bytes (nats: 8 MiB)
  size_t frame_size = 64u << 10;                 // raw bytes per compressed frame: a bad frame loses at most this
  size_t flush_threshold = 1u << 20;             // buffered bytes that trigger a flush() inside store_msg
  // true: compression, compaction and spare zero-fills run synchronously after each successful
  // sync (tests). false: the owner drives next_maintenance()/finish_maintenance() (the server,
  // on a MaintenanceWorker), or calls run_maintenance().
  bool maintenance_inline = false;
  // Prepare pre-zeroed spare block files for the tail (see above). Costs up to 2 x block_size of
  // zeros on disk for a stream that writes (the tail's unused part and the spare). Off by
  // default: on this project's test VM it made single fdatasyncs faster but durable publish
  // throughput moved only within noise (bench/run_js.sh async, 4 runs: 371/360 k acks/s with it,
  // 350/303 k without), which does not pay for 16 MiB of zeros per stream.
  bool prezero = false;
  FileSystem* fs = nullptr;  // nullptr = posix_file_system(); not owned, must outlive the store
};

struct BlockRecovery {
  std::string file;
  uint64_t records = 0;          // valid records read
  uint64_t dropped_records = 0;  // corrupt records skipped (middle of block, or a corrupt last one)
  uint64_t dropped_bytes = 0;
  uint64_t truncated_bytes = 0;  // cut from the end of a raw block (torn or corrupt tail)
  bool torn_tail = false;        // the cut bytes looked like an unfinished append
  uint64_t dropped_frames = 0;   // compressed blocks: bad frames skipped
};

struct RecoveryReport {
  uint64_t blocks = 0;
  uint64_t records_recovered = 0;  // valid records of every kind
  uint64_t msgs_recovered = 0;     // live messages after applying tombstones
  uint64_t records_dropped = 0;
  uint64_t bytes_dropped = 0;
  uint64_t bytes_truncated = 0;
  uint64_t frames_dropped = 0;
  std::vector<BlockRecovery> per_block;  // only blocks where something was dropped or truncated
  bool clean() const { return records_dropped == 0 && bytes_truncated == 0 && frames_dropped == 0; }
  std::string summary() const;  // one line for the log
};

class FileStore final : public IndexedStore {
 public:
  // Opens (recovering) or creates the store in cfg.dir. Corrupt records never make this fail;
  // I/O errors do. *report, if given, says what recovery found. Messages past max_age are not
  // removed here: call expire(now) after opening.
  static Result<std::unique_ptr<FileStore>> open(const FileStoreConfig& cfg, RecoveryReport* report = nullptr);
  // Writes buffered records to the OS (no fsync): a process exit loses nothing flushed, a power
  // loss may lose what was not synced. Call sync() first for a clean shutdown.
  ~FileStore() override;

  Status flush();
  Status sync();
  // Cuts a batch covering everything so far (flushing first). nullopt when a batch is in flight,
  // nothing is pending, or the store has failed.
  std::optional<SyncBatch> begin_sync();
  // Takes back a batch cut by begin_sync(), with the status its run() returned.
  void end_sync(const SyncBatch& batch, const Status& status);
  bool sync_in_flight() const { return sync_in_flight_; }
  // Every operation up to this sequence is durable.
  uint64_t durable_seq() const { return durable_seq_; }
  // ok, or the I/O error that closed the store for writes.
  const Status& health() const { return failed_; }

  // Compresses sealed blocks, rewrites sealed blocks that are mostly deleted, prepares the spare
  // tail. Slow work, all of it on the calling thread: runs after each sync when
  // cfg.maintenance_inline, else whenever the owner decides.
  Status run_maintenance();
  // The next maintenance job, or nullopt (nothing to do, a job is out, or the store failed). The
  // job holds its own references: run it on any thread (run_maintenance_job), then hand it back.
  std::optional<MaintenanceJob> next_maintenance();
  // Takes back a job cut by next_maintenance() (or a follow-up): installs its result if the
  // block did not change meanwhile, else discards it. May return a follow-up job (the directory
  // fsync after an install) to run and hand back the same way; none is cut until it returns.
  std::optional<MaintenanceJob> finish_maintenance(MaintenanceJob job);
  bool maintenance_in_flight() const { return maint_in_flight_; }

  size_t num_blocks() const { return blocks_.size(); }
  uint64_t disk_bytes() const;  // sum of block file sizes (compressed size for sealed blocks)
  const FileStoreConfig& config() const { return cfg_; }

 protected:
  Status writable() const override;
  Status persist_msg(uint64_t seq, int64_t ts, std::string_view subject, std::string_view headers,
                     std::string_view payload) override;
  Status persist_skip(uint64_t seq) override;
  Status persist_removals(const std::vector<uint64_t>& removed, bool erase) override;
  Result<StoredMsg> read_msg(uint64_t seq, const Entry& entry) override;

 private:
  using RecLoc = RecordLoc;  // offset: in the block's raw (decompressed) content
  using Tomb = TombRef;
  struct Block {
    uint32_t index = 0;
    Compression codec = Compression::kNone;  // encoding of the file
    std::string path;
    std::shared_ptr<File> file;
    uint64_t size = 0;     // raw content bytes
    uint64_t written = 0;  // raw files: bytes handed to the OS; pending holds [written, size)
    uint64_t synced = 0;   // raw files: bytes known durable
    std::string pending;
    std::vector<RecLoc> msgs;  // message records in the file, ascending seq (live or not)
    uint64_t live = 0;         // how many of msgs are live
    std::vector<Tomb> tombs;   // tombstones carried by this block
    uint64_t hi = 0;           // highest msg/floor seq written here; never decreases, ascending over blocks
    uint64_t generation = 0;   // bumped on every rewrite/drop: invalidates caches, batches, jobs
    bool sealed = false;
    bool prezeroed = false;    // the file was a zero-filled spare: [size, file size) is zeros
  };

  explicit FileStore(const FileStoreConfig& cfg);
  Status recover(RecoveryReport* report);
  Status fail(Status st);  // records the first I/O error; returns the kStorageFailed status
  std::string block_path(uint32_t index, Compression codec) const;
  Block& tail() { return *blocks_.back(); }
  Result<Block*> new_tail();  // creates the next block file and makes it the tail
  Status roll_tail();
  void append_to_tail(RecordType type, uint64_t seq, int64_t ts, std::string_view subject = {},
                      std::string_view headers = {}, std::string_view payload = {});
  Block* block_for(uint64_t seq);  // the block holding message record seq, if any
  static const RecLoc* find_loc(const Block& b, uint64_t seq);
  bool tomb_needed(const Tomb& t, const Block* except) const;
  void drop_block(size_t i);  // REQUIRES: i is not the tail
  Status rewrite_block(Block* b);  // compaction now, on this thread (erase)
  Result<std::shared_ptr<const std::string>> raw_content(const Block& b);
  Status flush_block(Block* b);
  MaintenanceJob build_job(Block* b, bool filter, Compression out);
  Status install_build(Block* b, MaintenanceJob& job);  // rename into place, swap the index
  uint64_t prezero_trigger() const { return std::max<uint64_t>(cfg_.block_size / 8, 1); }
  std::string spare_path() const { return cfg_.dir + "/spare.tmp"; }

  FileStoreConfig cfg_;
  FileSystem* fs_;
  std::vector<std::unique_ptr<Block>> blocks_;     // ascending index; back() is the tail
  std::vector<std::unique_ptr<Block>> unlinking_;  // dropped; their files go in the next batch
  std::vector<std::string> unlink_queue_;
  uint32_t next_index_ = 1;
  bool dir_dirty_ = false;  // a name was created/renamed since the last directory fsync
  bool sync_in_flight_ = false;
  bool maint_in_flight_ = false;
  bool maint_scan_ = true;      // some block may need maintenance (cleared by a scan that found none)
  bool spare_ready_ = false;    // spare_path() holds block_size synced zeros
  bool prezero_failed_ = false;  // a zero-fill failed: stop trying
  uint64_t durable_seq_ = 0;
  Status failed_;
  // One decompressed sealed block, for reads.
  uint32_t cache_index_ = 0;
  uint64_t cache_generation_ = 0;
  std::shared_ptr<const std::string> cache_;
};

}  // namespace tern::server
