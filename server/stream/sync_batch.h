#pragma once
// SyncBatch: one group commit's worth of fsync work, cut by FileStore::begin_sync() on the owner
// thread, run on any thread (a Syncer), and handed back with FileStore::end_sync(). It holds its
// own references to the files, so the store may keep appending, rolling and dropping blocks
// while the batch runs.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proto/status.h"
#include "server/stream/file_system.h"

namespace tern::server {

class SyncBatch {
 public:
  SyncBatch() = default;
  SyncBatch(SyncBatch&&) = default;
  SyncBatch& operator=(SyncBatch&&) = default;

  // Every store operation up to this sequence is durable once run() returned ok.
  uint64_t seq() const { return seq_; }
  uint64_t files() const { return files_.size(); }

  // fsyncs the files, then the directory if a file was created or renamed, then unlinks the
  // dropped blocks and fsyncs the directory again. Call once, from any thread.
  Status run();

 private:
  friend class FileStore;
  struct Target {
    std::shared_ptr<File> file;
    uint32_t block = 0;
    uint64_t generation = 0;
    uint64_t size = 0;  // bytes written to file when the batch was cut
  };
  FileSystem* fs_ = nullptr;
  std::string dir_;
  uint64_t seq_ = 0;
  std::vector<Target> files_;
  bool sync_dir_ = false;
  std::vector<std::string> unlink_;
};

}  // namespace tern::server
