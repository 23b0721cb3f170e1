#include "tests/unit/support/fault_file_system.h"

#include <algorithm>

namespace tern::server {

class FaultFile final : public File {
 public:
  FaultFile(FaultFileSystem* fs, std::shared_ptr<File> base, std::string path)
      : fs_(fs), base_(std::move(base)), path_(std::move(path)) {}

  Status append(std::string_view data) override {
    size_t allowed = data.size();
    Status fault = fs_->before_write(data.size(), &allowed);
    Status st = base_->append(data.substr(0, allowed));
    fs_->bytes_written_ += allowed;
    if (!st) return st;
    return fault;
  }
  Status read_at(uint64_t offset, size_t n, char* out) const override { return base_->read_at(offset, n, out); }
  Status sync() override {
    Status fault = fs_->before_sync();
    if (!fault) return fault;
    Status st = base_->sync();
    if (st) fs_->after_sync(path_, base_->size());
    return st;
  }
  Status truncate(uint64_t size) override { return base_->truncate(size); }
  uint64_t size() const override { return base_->size(); }

 private:
  FaultFileSystem* fs_;
  std::shared_ptr<File> base_;
  std::string path_;
};

void FaultFileSystem::fail_writes_after(uint64_t bytes, std::string error) {
  std::lock_guard lock(mu_);
  write_fault_ = true;
  write_budget_ = bytes;
  write_error_ = std::move(error);
}

void FaultFileSystem::fail_next_sync(std::string error) {
  std::lock_guard lock(mu_);
  sync_fault_ = true;
  sync_error_ = std::move(error);
}

void FaultFileSystem::clear_faults() {
  std::lock_guard lock(mu_);
  write_fault_ = false;
  sync_fault_ = false;
}

Status FaultFileSystem::before_write(size_t n, size_t* allowed) {
  std::lock_guard lock(mu_);
  if (!write_fault_ || n <= write_budget_) {
    if (write_fault_) write_budget_ -= n;
    return Status::ok();
  }
  *allowed = static_cast<size_t>(write_budget_);
  write_budget_ = 0;
  return Status::error("write: " + write_error_);
}

Status FaultFileSystem::before_sync() {
  std::lock_guard lock(mu_);
  if (!sync_fault_) return Status::ok();
  sync_fault_ = false;
  return Status::error("fsync: " + sync_error_);
}

void FaultFileSystem::after_sync(const std::string& path, uint64_t size) {
  file_syncs_++;
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) it->second.synced = std::max(it->second.synced, size);
}

Result<std::shared_ptr<File>> FaultFileSystem::open(const std::string& path, bool create) {
  bool existed = base_->open(path, false).is_ok();
  auto base = base_->open(path, create);
  if (!base) return base.status();
  {
    std::lock_guard lock(mu_);
    if (!files_.count(path)) files_[path] = Tracked{(*base)->size(), !existed};
  }
  return std::shared_ptr<File>(std::make_shared<FaultFile>(this, std::move(*base), path));
}

Status FaultFileSystem::remove(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    files_.erase(path);
  }
  return base_->remove(path);
}

Status FaultFileSystem::rename(const std::string& from, const std::string& to) {
  {
    std::lock_guard lock(mu_);
    auto it = files_.find(from);
    if (it != files_.end()) {
      Tracked t = it->second;
      files_.erase(it);
      files_[to] = t;
    } else {
      files_.erase(to);
    }
  }
  return base_->rename(from, to);
}

Status FaultFileSystem::sync_dir(const std::string& dir) {
  {
    std::lock_guard lock(mu_);
    if (sync_fault_) {
      sync_fault_ = false;
      return Status::error("fsync " + dir + ": " + sync_error_);
    }
  }
  Status st = base_->sync_dir(dir);
  if (!st) return st;
  dir_syncs_++;
  std::lock_guard lock(mu_);
  std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  for (auto& [path, t] : files_) {
    if (path.compare(0, prefix.size(), prefix) == 0 && path.find('/', prefix.size()) == std::string::npos) {
      t.created_unsynced = false;
    }
  }
  return Status::ok();
}

void FaultFileSystem::crash(std::mt19937_64* rng) {
  std::lock_guard lock(mu_);
  for (auto& [path, t] : files_) {
    if (t.created_unsynced && (!rng || (*rng)() % 2 == 0)) {
      base_->remove(path);
      continue;
    }
    auto file = base_->open(path, false);
    if (!file) continue;
    uint64_t size = (*file)->size();
    if (size <= t.synced) continue;
    uint64_t keep = t.synced;
    if (rng) keep += (*rng)() % (size - t.synced + 1);
    (*file)->truncate(keep);
  }
  files_.clear();
  write_fault_ = false;
  sync_fault_ = false;
}

}  // namespace tern::server
