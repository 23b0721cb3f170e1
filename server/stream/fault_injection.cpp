#include "server/stream/fault_injection.h"

#ifdef TERN_FAULT_INJECTION

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#endif

namespace tern::server {

#ifndef TERN_FAULT_INJECTION

FileSystem* stream_file_system() { return posix_file_system(); }

#else

namespace {

struct FaultSpec {
  std::optional<uint64_t> write_budget;  // bytes that may still be appended
  int write_errno = 0;                   // ENOSPC or EIO once the budget is spent
  std::optional<uint64_t> sync_budget;   // fdatasyncs that may still succeed
  std::string path;                      // only paths containing this; empty = all
  std::string arm_file;
  std::string clear_file;
};

bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

Result<FaultSpec> parse_spec(std::string_view text) {
  FaultSpec spec;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return Status::error("no '=' in \"" + std::string(item) + "\"");
    std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    uint64_t n = 0;
    if (key == "enospc_after_bytes" || key == "eio_on_write_after_bytes") {
      if (!parse_u64(value, &n)) return Status::error("bad number in \"" + std::string(item) + "\"");
      spec.write_budget = n;
      spec.write_errno = key == "enospc_after_bytes" ? ENOSPC : EIO;
    } else if (key == "eio_on_sync_after") {
      if (!parse_u64(value, &n)) return Status::error("bad number in \"" + std::string(item) + "\"");
      spec.sync_budget = n;
    } else if (key == "path") {
      spec.path = value;
    } else if (key == "arm_file") {
      spec.arm_file = value;
    } else if (key == "clear_file") {
      spec.clear_file = value;
    } else {
      return Status::error("unknown key \"" + std::string(key) + "\"");
    }
  }
  return spec;
}

Status errno_error(std::string_view what, const std::string& path, int err) {
  return Status::error(std::string(what) + " " + path + ": " + std::strerror(err));
}

// Decorates a FileSystem with the faults of one FaultSpec. Thread-safe: the loop thread appends
// and the Syncer thread syncs, so the budgets live behind one mutex.
class InjectingFileSystem final : public FileSystem {
 public:
  InjectingFileSystem(FileSystem* base, FaultSpec spec)
      : base_(base), spec_(std::move(spec)), armed_(spec_.arm_file.empty()) {}

  // How much of an n-byte append to `path` may reach the file; an error after writing that much.
  Status before_write(const std::string& path, size_t n, size_t* allowed) {
    std::lock_guard lock(mu_);
    if (!active(path) || !spec_.write_budget) return Status::ok();
    uint64_t& budget = *spec_.write_budget;
    if (n <= budget) {
      budget -= n;
      return Status::ok();
    }
    *allowed = static_cast<size_t>(budget);
    budget = 0;
    return errno_error("write", path, spec_.write_errno);
  }

  Status before_sync(const std::string& path) {
    std::lock_guard lock(mu_);
    if (!active(path) || !spec_.sync_budget) return Status::ok();
    if (*spec_.sync_budget > 0) {
      --*spec_.sync_budget;
      return Status::ok();
    }
    return errno_error("fsync", path, EIO);
  }

  Result<std::shared_ptr<File>> open(const std::string& path, bool create) override;
  Result<std::string> read_all(const std::string& path) override { return base_->read_all(path); }
  Result<std::vector<std::string>> list_dir(const std::string& dir) override { return base_->list_dir(dir); }
  Status create_dir(const std::string& dir) override { return base_->create_dir(dir); }
  Status remove(const std::string& path) override { return base_->remove(path); }
  Status rename(const std::string& from, const std::string& to) override { return base_->rename(from, to); }
  Status sync_dir(const std::string& dir) override { return base_->sync_dir(dir); }

 private:
  // REQUIRES: mu_ held.
  bool active(const std::string& path) {
    if (cleared_) return false;
    struct stat st;
    if (!armed_) {
      if (::stat(spec_.arm_file.c_str(), &st) != 0) return false;
      armed_ = true;
      spdlog::warn("TEST FAULT INJECTION active ({} exists)", spec_.arm_file);
    }
    if (!spec_.clear_file.empty() && ::stat(spec_.clear_file.c_str(), &st) == 0) {
      cleared_ = true;
      spdlog::warn("TEST FAULT INJECTION cleared ({} exists)", spec_.clear_file);
      return false;
    }
    return spec_.path.empty() || path.find(spec_.path) != std::string::npos;
  }

  FileSystem* base_;
  std::mutex mu_;
  FaultSpec spec_;        // GUARDED_BY(mu_)
  bool armed_ = false;    // GUARDED_BY(mu_)
  bool cleared_ = false;  // GUARDED_BY(mu_)
};

class InjectingFile final : public File {
 public:
  InjectingFile(InjectingFileSystem* fs, std::shared_ptr<File> base, std::string path)
      : fs_(fs), base_(std::move(base)), path_(std::move(path)) {}

  Status append(std::string_view data) override {
    size_t allowed = data.size();
    Status fault = fs_->before_write(path_, data.size(), &allowed);
    if (allowed > 0) {
      if (Status st = base_->append(data.substr(0, allowed)); !st) return st;
    }
    return fault;
  }
  Status write_at(uint64_t offset, std::string_view data) override {
    size_t allowed = data.size();
    Status fault = fs_->before_write(path_, data.size(), &allowed);
    if (allowed > 0) {
      if (Status st = base_->write_at(offset, data.substr(0, allowed)); !st) return st;
    }
    return fault;
  }
  Status read_at(uint64_t offset, size_t n, char* out) const override { return base_->read_at(offset, n, out); }
  Status sync() override {
    if (Status fault = fs_->before_sync(path_); !fault) return fault;
    return base_->sync();
  }
  Status truncate(uint64_t size) override { return base_->truncate(size); }
  uint64_t size() const override { return base_->size(); }

 private:
  InjectingFileSystem* fs_;
  std::shared_ptr<File> base_;
  std::string path_;
};

Result<std::shared_ptr<File>> InjectingFileSystem::open(const std::string& path, bool create) {
  auto base = base_->open(path, create);
  if (!base) return base.status();
  return std::shared_ptr<File>(std::make_shared<InjectingFile>(this, std::move(*base), path));
}

FileSystem* make_stream_file_system() {
  const char* text = std::getenv("TERN_TEST_FAULTS");
  if (!text || !*text) return posix_file_system();
  auto spec = parse_spec(text);
  if (!spec) {
    spdlog::error("TERN_TEST_FAULTS=\"{}\" ignored: {}", text, spec.status().message());
    return posix_file_system();
  }
  spdlog::warn("TEST FAULT INJECTION armed: TERN_TEST_FAULTS=\"{}\"", text);
  return new InjectingFileSystem(posix_file_system(), std::move(*spec));  // process-wide, never freed
}

}  // namespace

FileSystem* stream_file_system() {
  static FileSystem* fs = make_stream_file_system();
  return fs;
}

#endif  // TERN_FAULT_INJECTION

}  // namespace tern::server
