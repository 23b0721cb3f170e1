#pragma once
// The file layer under FileStore. Everything the store does to the disk goes through these two
// interfaces, so tests can count fsyncs and inject faults (FaultFileSystem) without libfiu.
//
// Threading: a FileSystem must be safe to call from several threads at once (the owner thread
// and a Syncer thread). A File is used by one thread at a time, except that sync() may run on a
// Syncer thread while the owner thread reads or appends (POSIX allows both).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proto/status.h"

namespace tern::server {

// An open file, read and written at any offset. Closed by the destructor.
class File {
 public:
  virtual ~File() = default;
  // Appends data at the current end. On error, some prefix of data may have reached the file.
  virtual Status append(std::string_view data) = 0;
  // Writes data at offset (overwriting, or extending the file past its end). Used to fill
  // pre-zeroed blocks in place: overwriting allocated, already-synced bytes lets fdatasync skip
  // the metadata commit that an append needs. On error, some prefix of data may have been written.
  // The default handles only offset == size() (an append), so other implementations keep working.
  virtual Status write_at(uint64_t offset, std::string_view data) {
    if (offset != size()) return Status::error("write_at: positioned writes not supported");
    return append(data);
  }
  // Reads n bytes at offset into out (which must hold n bytes); short reads are errors.
  virtual Status read_at(uint64_t offset, size_t n, char* out) const = 0;
  virtual Status sync() = 0;  // fdatasync: the data written so far is durable
  virtual Status truncate(uint64_t size) = 0;
  virtual uint64_t size() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Opens for reading and appending; with create, a missing file is created empty.
  virtual Result<std::shared_ptr<File>> open(const std::string& path, bool create) = 0;
  virtual Result<std::string> read_all(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> list_dir(const std::string& dir) = 0;  // names, not paths
  virtual Status create_dir(const std::string& dir) = 0;                          // ok if it exists
  virtual Status remove(const std::string& path) = 0;
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // fsync of the directory itself, so created, renamed and removed names are durable.
  virtual Status sync_dir(const std::string& dir) = 0;
};

// The real POSIX file system. A process-wide instance; never destroyed.
FileSystem* posix_file_system();

}  // namespace tern::server
