#pragma once
// A FileSystem wrapper for tests and chaos runs: counts fsyncs, injects ENOSPC/EIO on writes and
// fsyncs, and simulates a machine crash by throwing away bytes that were never fsynced.
//
// Crash model (crash()): for every file written through this wrapper, what was written after the
// last File::sync() is lost — appended bytes are cut, and bytes overwritten in place (write_at
// below the synced size, e.g. records written into pre-zeroed space) get their old content back;
// all of it, or (with an rng) only from a random offset on, which is what a kernel writing back
// some dirty pages before power loss looks like. A file created since the last sync_dir() of its
// directory may vanish entirely. Renames and removes are treated as durable at once (FileStore
// fsyncs the directory right after those that matter).
//
// die_after_ops(n): the process "dies" after n more mutating operations (create, write, sync,
// truncate, rename, remove, directory sync): every later one fails and changes nothing. With
// crash() afterwards, a test can stop a multi-step operation between any two of its steps.
//
// Thread-safe: all state is behind one mutex.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "server/stream/file_system.h"

namespace tern::server {

class FaultFileSystem final : public FileSystem {
 public:
  explicit FaultFileSystem(FileSystem* base = posix_file_system()) : base_(base) {}

  // Faults. A failing write first writes what fits in the budget (a torn write), then fails.
  void fail_writes_after(uint64_t bytes, std::string error = "No space left on device");
  void fail_next_sync(std::string error = "Input/output error");
  void die_after_ops(uint64_t n);
  void clear_faults();
  uint64_t mutating_ops() const { return ops_.load(); }

  uint64_t file_syncs() const { return file_syncs_.load(); }
  uint64_t dir_syncs() const { return dir_syncs_.load(); }
  uint64_t bytes_written() const { return bytes_written_.load(); }

  // Simulates power loss. REQUIRES: no store is using this file system any more.
  // With rng == nullptr every unsynced byte and every unsynced new file is lost.
  void crash(std::mt19937_64* rng = nullptr);

  Result<std::shared_ptr<File>> open(const std::string& path, bool create) override;
  Result<std::string> read_all(const std::string& path) override { return base_->read_all(path); }
  Result<std::vector<std::string>> list_dir(const std::string& dir) override { return base_->list_dir(dir); }
  Status create_dir(const std::string& dir) override { return base_->create_dir(dir); }
  Status remove(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status sync_dir(const std::string& dir) override;

 private:
  friend class FaultFile;
  struct Undo {
    uint64_t offset;
    std::string old;  // content before an unsynced overwrite
  };
  struct Tracked {
    uint64_t synced = 0;
    bool created_unsynced = false;
    std::vector<Undo> undo;  // unsynced overwrites below `synced`, oldest first
  };
  // Called by FaultFile with mu_ not held.
  Status dead();  // error once die_after_ops ran out (counts the op otherwise)
  Status before_write(size_t n, size_t* allowed);
  Status before_sync();
  void after_sync(const std::string& path, uint64_t size);
  void before_overwrite(const std::string& path, uint64_t offset, size_t n, File& base);
  void after_truncate(const std::string& path, uint64_t size);

  FileSystem* base_;
  std::mutex mu_;
  std::map<std::string, Tracked> files_;  // GUARDED_BY(mu_)
  bool write_fault_ = false;              // GUARDED_BY(mu_)
  uint64_t write_budget_ = 0;             // GUARDED_BY(mu_)
  std::string write_error_;               // GUARDED_BY(mu_)
  bool sync_fault_ = false;               // GUARDED_BY(mu_)
  std::string sync_error_;                // GUARDED_BY(mu_)
  bool die_ = false;                      // GUARDED_BY(mu_)
  uint64_t ops_left_ = 0;                 // GUARDED_BY(mu_)
  std::atomic<uint64_t> ops_{0};
  std::atomic<uint64_t> file_syncs_{0};
  std::atomic<uint64_t> dir_syncs_{0};
  std::atomic<uint64_t> bytes_written_{0};
};

}  // namespace tern::server
