#pragma once
// A FileSystem wrapper for tests and chaos runs: counts fsyncs, injects ENOSPC/EIO on writes and
// fsyncs, and simulates a machine crash by throwing away bytes that were never fsynced.
//
// Crash model (crash()): for every file written through this wrapper, the bytes after the last
// File::sync() are lost — all of them, or (with an rng) a random-length prefix of them survives,
// which is what a kernel writing back some dirty pages before power loss looks like. A file
// created since the last sync_dir() of its directory may vanish entirely. Renames and removes
// are treated as durable at once (FileStore fsyncs the directory right after those that matter).
//
// Thread-safe: all state is behind one mutex.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>

#include "server/stream/file_system.h"

namespace tern::server {

class FaultFileSystem final : public FileSystem {
 public:
  explicit FaultFileSystem(FileSystem* base = posix_file_system()) : base_(base) {}

  // Faults. A failing write first writes what fits in the budget (a torn write), then fails.
  void fail_writes_after(uint64_t bytes, std::string error = "No space left on device");
  void fail_next_sync(std::string error = "Input/output error");
  void clear_faults();

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
  struct Tracked {
    uint64_t synced = 0;
    bool created_unsynced = false;
  };
  // Called by FaultFile with mu_ not held.
  Status before_write(size_t n, size_t* allowed);
  Status before_sync();
  void after_sync(const std::string& path, uint64_t size);

  FileSystem* base_;
  std::mutex mu_;
  std::map<std::string, Tracked> files_;  // GUARDED_BY(mu_)
  bool write_fault_ = false;              // GUARDED_BY(mu_)
  uint64_t write_budget_ = 0;             // GUARDED_BY(mu_)
  std::string write_error_;               // GUARDED_BY(mu_)
  bool sync_fault_ = false;               // GUARDED_BY(mu_)
  std::string sync_error_;                // GUARDED_BY(mu_)
  std::atomic<uint64_t> file_syncs_{0};
  std::atomic<uint64_t> dir_syncs_{0};
  std::atomic<uint64_t> bytes_written_{0};
};

}  // namespace tern::server
