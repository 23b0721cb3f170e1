#include "tests/unit/support/fault_file_system.h"

#include <algorithm>

namespace tern::server {

class FaultFile final : public File {
 public:
  FaultFile(FaultFileSystem* fs, std::shared_ptr<File> base, std::string path)
      : fs_(fs), base_(std::move(base)), path_(std::move(path)) {}

  Status append(std::string_view data) override { return write_at(base_->size(), data); }
  Status write_at(uint64_t offset, std::string_view data) override {
    if (Status d = fs_->dead(); !d) return d;
    size_t allowed = data.size();
    Status fault = fs_->before_write(data.size(), &allowed);
    fs_->before_overwrite(path_, offset, allowed, *base_);
    Status st = base_->write_at(offset, data.substr(0, allowed));
    fs_->bytes_written_ += allowed;
    if (!st) return st;
    return fault;
  }
  Status read_at(uint64_t offset, size_t n, char* out) const override { return base_->read_at(offset, n, out); }
  Status sync() override {
    if (Status d = fs_->dead(); !d) return d;
    Status fault = fs_->before_sync();
    if (!fault) return fault;
    Status st = base_->sync();
    if (st) fs_->after_sync(path_, base_->size());
    return st;
  }
  Status truncate(uint64_t size) override {
    if (Status d = fs_->dead(); !d) return d;
    Status st = base_->truncate(size);
    if (st) fs_->after_truncate(path_, size);
    return st;
  }
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

void FaultFileSystem::die_after_ops(uint64_t n) {
  std::lock_guard lock(mu_);
  die_ = true;
  ops_left_ = n;
}

void FaultFileSystem::clear_faults() {
  std::lock_guard lock(mu_);
  write_fault_ = false;
  sync_fault_ = false;
  die_ = false;
}

Status FaultFileSystem::dead() {
  ops_++;
  std::lock_guard lock(mu_);
  if (!die_) return Status::ok();
  if (ops_left_ > 0) {
    ops_left_--;
    return Status::ok();
  }
  return Status::error("simulated process death");
}

void FaultFileSystem::before_overwrite(const std::string& path, uint64_t offset, size_t n, File& base) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end() || offset >= it->second.synced || n == 0) return;
  size_t len = static_cast<size_t>(std::min<uint64_t>(n, it->second.synced - offset));
  len = static_cast<size_t>(std::min<uint64_t>(len, base.size() > offset ? base.size() - offset : 0));
  if (len == 0) return;
  Undo u{offset, std::string(len, '\0')};
  if (base.read_at(offset, len, u.old.data()).is_ok()) it->second.undo.push_back(std::move(u));
}

void FaultFileSystem::after_truncate(const std::string& path, uint64_t size) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return;
  it->second.synced = std::min(it->second.synced, size);
  for (auto& u : it->second.undo) {
    if (u.offset >= size) u.old.clear();
    else if (u.offset + u.old.size() > size) u.old.resize(static_cast<size_t>(size - u.offset));
  }
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
  if (it != files_.end()) {
    it->second.synced = std::max(it->second.synced, size);
    it->second.undo.clear();
  }
}

Result<std::shared_ptr<File>> FaultFileSystem::open(const std::string& path, bool create) {
  bool existed = base_->open(path, false).is_ok();
  if (create && !existed) {
    if (Status d = dead(); !d) return d;
  }
  auto base = base_->open(path, create);
  if (!base) return base.status();
  {
    std::lock_guard lock(mu_);
    if (!files_.count(path)) files_[path] = Tracked{(*base)->size(), !existed};
  }
  return std::shared_ptr<File>(std::make_shared<FaultFile>(this, std::move(*base), path));
}

Status FaultFileSystem::remove(const std::string& path) {
  if (Status d = dead(); !d) return d;
  {
    std::lock_guard lock(mu_);
    files_.erase(path);
  }
  return base_->remove(path);
}

Status FaultFileSystem::rename(const std::string& from, const std::string& to) {
  if (Status d = dead(); !d) return d;
  {
    std::lock_guard lock(mu_);
    auto it = files_.find(from);
    if (it != files_.end()) {
      Tracked t = it->second;
      t.created_unsynced = false;  // renames are durable at once (see the header)
      files_.erase(it);
      files_[to] = t;
    } else {
      files_.erase(to);
    }
  }
  return base_->rename(from, to);
}

Status FaultFileSystem::sync_dir(const std::string& dir) {
  if (Status d = dead(); !d) return d;
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
    // Everything written at or after `from` since the last sync is lost; a random suffix of it.
    uint64_t from = t.synced;
    for (const auto& u : t.undo) from = std::min(from, u.offset);
    if (size <= from) continue;
    uint64_t keep = from;
    if (rng) keep += (*rng)() % (size - from + 1);
    for (auto u = t.undo.rbegin(); u != t.undo.rend(); ++u) {
      uint64_t end = u->offset + u->old.size();
      if (end <= keep) continue;
      uint64_t start = std::max(u->offset, keep);
      (void)(*file)->write_at(start, std::string_view(u->old).substr(static_cast<size_t>(start - u->offset)));
    }
    if (size > std::max(keep, t.synced)) (*file)->truncate(std::max(keep, t.synced));
  }
  files_.clear();
  write_fault_ = false;
  sync_fault_ = false;
  die_ = false;
}

}  // namespace tern::server
