#include "server/stream/file_store.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <map>
#include <set>

namespace tern::server {

namespace {

constexpr std::string_view kTmpSuffix = ".tmp";

std::string_view codec_ext(Compression c) {
  switch (c) {
    case Compression::kLz4:
      return ".lz4";
    case Compression::kZstd:
      return ".zst";
    case Compression::kNone:
      break;
  }
  return ".blk";
}

// "0000000042.blk" -> 42, kNone. False for any other name.
bool parse_block_name(std::string_view name, uint32_t* index, Compression* codec) {
  if (name.size() != 14 || name[10] != '.') return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 10; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  if (v == 0 || v > UINT32_MAX) return false;
  std::string_view ext = name.substr(10);
  if (ext == ".blk") {
    *codec = Compression::kNone;
  } else if (ext == ".lz4") {
    *codec = Compression::kLz4;
  } else if (ext == ".zst") {
    *codec = Compression::kZstd;
  } else {
    return false;
  }
  *index = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

std::string RecoveryReport::summary() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%llu blocks, %llu records recovered (%llu live messages), %llu dropped (%llu bytes), "
                "%llu bytes truncated, %llu frames dropped",
                static_cast<unsigned long long>(blocks), static_cast<unsigned long long>(records_recovered),
                static_cast<unsigned long long>(msgs_recovered), static_cast<unsigned long long>(records_dropped),
                static_cast<unsigned long long>(bytes_dropped), static_cast<unsigned long long>(bytes_truncated),
                static_cast<unsigned long long>(frames_dropped));
  return buf;
}

FileStore::FileStore(const FileStoreConfig& cfg)
    : IndexedStore(cfg.limits), cfg_(cfg), fs_(cfg.fs ? cfg.fs : posix_file_system()) {}

FileStore::~FileStore() {
  if (failed_.is_ok()) (void)flush();  // best effort; see the header
}

Result<std::unique_ptr<FileStore>> FileStore::open(const FileStoreConfig& cfg, RecoveryReport* report) {
  if (cfg.dir.empty()) return store_error(StoreErrc::kInvalidArgument, "empty directory");
  std::unique_ptr<FileStore> store(new FileStore(cfg));
  RecoveryReport local;
  if (Status st = store->recover(report ? report : &local); !st) return st;
  return store;
}

std::string FileStore::block_path(uint32_t index, Compression codec) const {
  char name[16];
  std::snprintf(name, sizeof name, "%010u", index);
  return cfg_.dir + "/" + name + std::string(codec_ext(codec));
}

Status FileStore::fail(Status st) {
  if (failed_.is_ok()) failed_ = store_error(StoreErrc::kStorageFailed, st.message());
  return failed_;
}

Status FileStore::writable() const { return failed_; }

// ---------------------------------------------------------------------------------------------
// Recovery

Status FileStore::recover(RecoveryReport* report) {
  *report = RecoveryReport{};
  if (Status st = fs_->create_dir(cfg_.dir); !st) return st;
  auto names = fs_->list_dir(cfg_.dir);
  if (!names) return names.status();

  // index -> codecs present. A rename that replaced a raw block with its compressed form may have
  // been interrupted before the raw file was unlinked; the compressed file is complete (it was
  // fsynced before the rename), so it wins. *.tmp files (a maintenance job's output not yet
  // renamed into place, the spare tail) are removed: the blocks they were made from are intact.
  std::map<uint32_t, std::set<Compression>> found;
  for (const auto& name : *names) {
    if (name.size() > kTmpSuffix.size() &&
        name.compare(name.size() - kTmpSuffix.size(), kTmpSuffix.size(), kTmpSuffix) == 0) {
      if (Status st = fs_->remove(cfg_.dir + "/" + name); !st) return st;
      continue;
    }
    uint32_t index;
    Compression codec;
    if (parse_block_name(name, &index, &codec)) found[index].insert(codec);
  }

  struct RecoveredMsg {
    uint64_t seq;
    int64_t ts;
    std::string subject;
    uint64_t size;
    Block* block;
  };
  std::vector<RecoveredMsg> msgs;
  std::set<uint64_t> deleted;
  uint64_t upto = 0, max_seq = 0, max_msg_seq = 0, prev_hi = 0;
  int64_t max_ts = 0;

  for (auto& [index, codecs] : found) {
    Compression codec = Compression::kNone;
    for (Compression c : codecs) {
      if (c != Compression::kNone) codec = c;
    }
    if (codec != Compression::kNone && codecs.count(Compression::kNone)) {
      if (Status st = fs_->remove(block_path(index, Compression::kNone)); !st) return st;
    }
    auto block = std::make_unique<Block>();
    Block* b = block.get();
    b->index = index;
    b->codec = codec;
    b->path = block_path(index, codec);
    b->sealed = true;
    auto data = fs_->read_all(b->path);
    if (!data) return data.status();
    std::string decoded;
    BlockRecovery br;
    br.file = b->path;
    if (codec != Compression::kNone) {
      FrameStats fst = decode_frames(*data, &decoded);
      br.dropped_frames = fst.dropped_frames;
      br.dropped_bytes += fst.dropped_bytes;
    }
    std::string_view raw = codec == Compression::kNone ? std::string_view(*data) : std::string_view(decoded);
    ScanStats s = scan_records(raw, [&](size_t off, const RecordView& rec) {
      if (rec.seq > max_seq) {
        max_seq = rec.seq;
        max_ts = rec.ts;
      } else if (rec.seq == max_seq) {
        max_ts = rec.ts;  // every record carrying last_seq carries last_ts; the latest wins
      }
      switch (rec.type) {
        case RecordType::kMsg:
          if (rec.seq <= max_msg_seq) {  // out of order: cannot be ours; treat as corrupt
            br.dropped_records++;
            return;
          }
          max_msg_seq = rec.seq;
          b->msgs.push_back(RecLoc{rec.seq, off, rec.size});
          msgs.push_back(RecoveredMsg{rec.seq, rec.ts, std::string(rec.subject),
                                      store_msg_size(rec.subject.size(), rec.headers.size(), rec.payload.size()), b});
          b->hi = std::max(b->hi, rec.seq);
          break;
        case RecordType::kDelete:
          deleted.insert(rec.seq);
          b->tombs.push_back(Tomb{rec.type, rec.seq});
          break;
        case RecordType::kDeleteUpTo:
          upto = std::max(upto, rec.seq);
          b->tombs.push_back(Tomb{rec.type, rec.seq});
          break;
        case RecordType::kSeqFloor:
          b->hi = std::max(b->hi, rec.seq);
          break;
      }
    });
    br.records = s.records;
    br.dropped_records += s.dropped_records;
    br.dropped_bytes += s.dropped_bytes;
    br.torn_tail = s.torn_tail;
    auto file = fs_->open(b->path, false);
    if (!file) return file.status();
    b->file = std::move(*file);
    if (codec == Compression::kNone) {
      bool last = index == found.rbegin()->first;
      if (s.tail_bytes > 0) {
        // A torn append (or a corrupt last record): cut it so new records follow valid ones.
        // Trailing zeros after it were pre-zeroed space, not damage.
        br.truncated_bytes = s.zero_tail >= kRecordHeaderSize ? s.tail_bytes - s.zero_tail : s.tail_bytes;
        if (Status st = b->file->truncate(s.valid_end); !st) return st;
        if (Status st = b->file->sync(); !st) return st;
      } else if (s.zero_tail > 0 && !last) {
        // Unused pre-zeroed space of a block that will not take appends: give it back (no sync
        // needed: zeros that come back after a crash read as the clean end again).
        if (Status st = b->file->truncate(s.valid_end); !st) return st;
      } else if (s.zero_tail > 0) {
        b->prezeroed = true;
      }
      b->size = s.valid_end;
    } else {
      b->size = raw.size();
      if (s.tail_bytes > 0) {  // frames hold whole records, so this is corruption inside a frame
        br.dropped_bytes += s.tail_bytes;
      }
    }
    b->written = b->synced = b->size;
    b->hi = std::max(b->hi, prev_hi);
    prev_hi = b->hi;
    next_index_ = index + 1;

    report->blocks++;
    report->records_recovered += br.records;
    report->records_dropped += br.dropped_records;
    report->bytes_dropped += br.dropped_bytes;
    report->bytes_truncated += br.truncated_bytes;
    report->frames_dropped += br.dropped_frames;
    if (br.dropped_records || br.dropped_bytes || br.truncated_bytes || br.dropped_frames) {
      report->per_block.push_back(std::move(br));
    }
    blocks_.push_back(std::move(block));
  }

  for (auto& m : msgs) {
    if (m.seq <= upto || deleted.count(m.seq)) continue;
    restore_msg(m.seq, m.ts, m.subject, m.size);
    m.block->live++;
  }
  restore_last(max_seq, max_ts);
  durable_seq_ = max_seq;
  report->msgs_recovered = state().msgs;

  // The last raw block with room keeps taking appends; otherwise start a new tail.
  if (!blocks_.empty() && blocks_.back()->codec == Compression::kNone && blocks_.back()->size < cfg_.block_size) {
    blocks_.back()->sealed = false;
    // An empty (or all-zero) file: a tail created just before a crash. Give it its floor record.
    if (tail().size == 0) append_to_tail(RecordType::kSeqFloor, last_seq(), last_ts());
  } else if (auto nb = new_tail(); !nb) {
    return nb.status();
  }
  for (size_t i = blocks_.size() - 1; i-- > 0;) {
    if (blocks_[i]->live == 0) drop_block(i);
  }
  if (Status st = sync(); !st) return st;
  return Status::ok();
}

// ---------------------------------------------------------------------------------------------
// Blocks

Result<FileStore::Block*> FileStore::new_tail() {
  auto block = std::make_unique<Block>();
  block->index = next_index_++;
  block->path = block_path(block->index, Compression::kNone);
  if (spare_ready_) {
    // The spare's zeros were synced; the rename is made durable by the next batch's dir fsync.
    spare_ready_ = false;
    if (Status st = fs_->rename(spare_path(), block->path); !st) return fail(st);
    block->prezeroed = true;
  }
  auto file = fs_->open(block->path, true);
  if (!file) return fail(file.status());
  block->file = std::move(*file);
  block->size = block->written = block->synced = block->prezeroed ? 0 : block->file->size();
  block->hi = last_seq();
  dir_dirty_ = true;
  blocks_.push_back(std::move(block));
  // The floor record makes the block say how far the stream got, even if every message before
  // it is later dropped with its block.
  append_to_tail(RecordType::kSeqFloor, last_seq(), last_ts());
  return blocks_.back().get();
}

Status FileStore::roll_tail() {
  Block& sealed = tail();
  sealed.sealed = true;
  maint_scan_ = true;
  if (sealed.file->size() > sealed.size) {
    // Sealed early inside pre-zeroed space: cut the unused zeros (no sync needed, see recover()).
    if (Status st = flush_block(&sealed); !st) return st;
    if (Status st = sealed.file->truncate(sealed.size); !st) return fail(st);
  }
  if (auto nb = new_tail(); !nb) return nb.status();
  size_t old = blocks_.size() - 2;
  if (blocks_[old]->live == 0) drop_block(old);
  return Status::ok();
}

void FileStore::append_to_tail(RecordType type, uint64_t seq, int64_t ts, std::string_view subject,
                               std::string_view headers, std::string_view payload) {
  Block& t = tail();
  size_t before = t.pending.size();
  append_record(&t.pending, type, seq, ts, subject, headers, payload);
  auto len = static_cast<uint32_t>(t.pending.size() - before);
  switch (type) {
    case RecordType::kMsg:
      t.msgs.push_back(RecLoc{seq, t.size, len});
      t.live++;
      t.hi = std::max(t.hi, seq);
      break;
    case RecordType::kSeqFloor:
      t.hi = std::max(t.hi, seq);
      break;
    case RecordType::kDelete:
    case RecordType::kDeleteUpTo:
      t.tombs.push_back(Tomb{type, seq});
      break;
  }
  t.size += len;
}

FileStore::Block* FileStore::block_for(uint64_t seq) {
  // hi ascends over blocks and every message of a block is above the previous block's hi, so
  // the first block with hi >= seq is the only candidate.
  auto it = std::partition_point(blocks_.begin(), blocks_.end(), [seq](const auto& b) { return b->hi < seq; });
  if (it == blocks_.end() || !find_loc(**it, seq)) return nullptr;
  return it->get();
}

const FileStore::RecLoc* FileStore::find_loc(const Block& b, uint64_t seq) {
  auto it = std::lower_bound(b.msgs.begin(), b.msgs.end(), seq, [](const RecLoc& l, uint64_t s) { return l.seq < s; });
  return it != b.msgs.end() && it->seq == seq ? &*it : nullptr;
}

bool FileStore::tomb_needed(const Tomb& t, const Block* except) const {
  // A tombstone matters while some other block still physically holds a message it deletes.
  auto holds = [&](const Block& b) {
    if (&b == except || b.msgs.empty()) return false;
    if (t.type == RecordType::kDelete) return find_loc(b, t.seq) != nullptr;
    return b.msgs.front().seq <= t.seq;  // kDeleteUpTo
  };
  if (t.type != RecordType::kDelete && t.type != RecordType::kDeleteUpTo) return false;
  for (const auto& b : blocks_) {
    if (holds(*b)) return true;
  }
  for (const auto& b : unlinking_) {
    if (holds(*b)) return true;
  }
  return false;
}

void FileStore::drop_block(size_t i) {
  assert(i + 1 < blocks_.size());
  std::unique_ptr<Block> b = std::move(blocks_[i]);
  blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i));
  for (const Tomb& t : b->tombs) {
    if (tomb_needed(t, b.get())) append_to_tail(t.type, t.seq, last_ts());
  }
  b->generation++;
  if (cache_index_ == b->index) cache_.reset();
  unlink_queue_.push_back(b->path);
  unlinking_.push_back(std::move(b));
}

Status FileStore::flush_block(Block* b) {
  if (b->pending.empty()) return Status::ok();
  if (Status st = b->file->write_at(b->written, b->pending); !st) {
    (void)b->file->truncate(b->written);  // best effort: recovery cuts a torn tail anyway
    // The buffered messages never reached the file: a restart will not find them, so neither
    // may a reader now (the store takes no writes from here on).
    std::vector<uint64_t> lost;
    for (const RecLoc& r : b->msgs) {
      if (r.offset >= b->written) lost.push_back(r.seq);
    }
    if (!lost.empty()) forget_unwritten(lost, lost.front() - 1);
    return fail(st);
  }
  b->written = b->size;
  b->pending.clear();
  return Status::ok();
}

Result<std::shared_ptr<const std::string>> FileStore::raw_content(const Block& b) {
  if (b.codec != Compression::kNone && cache_ && cache_index_ == b.index && cache_generation_ == b.generation) {
    return cache_;
  }
  // Through the open file, not the path: a maintenance job may be replacing the path's file.
  std::string data(b.codec == Compression::kNone ? b.written : b.file->size(), '\0');
  if (Status st = b.file->read_at(0, data.size(), data.data()); !st) return st;
  if (b.codec == Compression::kNone) {
    data.append(b.pending);
    return std::make_shared<const std::string>(std::move(data));
  }
  auto raw = std::make_shared<std::string>();
  decode_frames(data, raw.get());
  cache_ = raw;
  cache_index_ = b.index;
  cache_generation_ = b.generation;
  return std::shared_ptr<const std::string>(raw);
}

MaintenanceJob FileStore::build_job(Block* b, bool filter, Compression out) {
  MaintenanceJob job;
  job.kind = MaintenanceJob::Kind::kBuild;
  job.fs = fs_;
  job.dir = cfg_.dir;
  job.tmp_path = block_path(b->index, out) + std::string(kTmpSuffix);
  job.block = b->index;
  job.generation = b->generation;
  job.src = b->file;
  job.src_size = b->codec == Compression::kNone ? b->written : b->file->size();
  job.src_codec = b->codec;
  job.out_codec = out;
  job.level = cfg_.compression_level;
  job.frame_size = cfg_.frame_size;
  job.filter = filter;
  if (filter) {
    // Decided now, on the owner thread: a message dead now stays dead, and a tombstone not needed
    // now is never needed again (blocks only lose messages), so the job's view cannot go stale
    // in a way that loses anything; messages removed while it runs are dead records it keeps.
    for (const RecLoc& m : b->msgs) {
      if (is_live(m.seq)) job.live.push_back(m.seq);
    }
    for (const Tomb& t : b->tombs) {
      if (tomb_needed(t, b)) job.keep_tombs.push_back(t);
    }
    job.floor_seq = b->hi;
    job.floor_ts = b->hi == last_seq() ? last_ts() : 0;
  }
  return job;
}

Status FileStore::install_build(Block* b, MaintenanceJob& job) {
  std::string path = block_path(b->index, job.out_codec);
  if (Status st = fs_->rename(job.tmp_path, path); !st) return fail(st);
  auto file = fs_->open(path, false);
  if (!file) return fail(file.status());
  // A raw file replaced by its compressed form goes with the next batch, after the directory
  // fsync made the rename durable.
  if (path != b->path) unlink_queue_.push_back(b->path);
  dir_dirty_ = true;
  b->file = std::move(*file);
  b->path = path;
  b->codec = job.out_codec;
  b->size = b->written = b->synced = job.raw_size;
  b->pending.clear();
  b->prezeroed = false;
  if (job.filter) {
    b->msgs = std::move(job.msgs);
    b->tombs = std::move(job.tombs);
    b->live = static_cast<uint64_t>(std::count_if(b->msgs.begin(), b->msgs.end(), [this](const RecLoc& m) {
      return is_live(m.seq);  // some may have been removed while the job ran
    }));
  }
  b->generation++;
  if (cache_index_ == b->index) cache_.reset();
  return Status::ok();
}

Status FileStore::rewrite_block(Block* b) {
  if (Status st = flush_block(b); !st) return st;
  MaintenanceJob job = build_job(b, true, b->codec);
  if (Status st = run_maintenance_job(&job); !st) {
    (void)fs_->remove(job.tmp_path);
    return fail(st);
  }
  if (Status st = install_build(b, job); !st) return st;
  if (Status st = fs_->sync_dir(cfg_.dir); !st) return fail(st);
  return Status::ok();
}

std::optional<MaintenanceJob> FileStore::next_maintenance() {
  if (!failed_.is_ok() || maint_in_flight_) return std::nullopt;
  if (cfg_.prezero && !spare_ready_ && !prezero_failed_ && tail().size >= prezero_trigger()) {
    MaintenanceJob job;
    job.kind = MaintenanceJob::Kind::kZeroFill;
    job.fs = fs_;
    job.dir = cfg_.dir;
    job.tmp_path = spare_path();
    job.zero_bytes = cfg_.block_size;
    maint_in_flight_ = true;
    return job;
  }
  if (!maint_scan_) return std::nullopt;  // no block changed since the last scan found nothing
  for (size_t i = 0; i + 1 < blocks_.size(); ++i) {
    Block* b = blocks_[i].get();
    if (!b->sealed) continue;
    // Mostly-deleted sealed blocks are rewritten without their dead records.
    bool filter = b->msgs.size() >= 2 && b->live * 2 < b->msgs.size();
    bool compress = b->codec == Compression::kNone && cfg_.compression != Compression::kNone;
    if (!filter && !compress) continue;
    if (Status st = flush_block(b); !st) return std::nullopt;
    maint_in_flight_ = true;
    return build_job(b, filter, compress ? cfg_.compression : b->codec);
  }
  maint_scan_ = false;
  return std::nullopt;
}

std::optional<MaintenanceJob> FileStore::finish_maintenance(MaintenanceJob job) {
  maint_in_flight_ = false;
  maint_scan_ = true;
  switch (job.kind) {
    case MaintenanceJob::Kind::kSyncDir:
      if (!job.status.is_ok()) fail(job.status);
      return std::nullopt;
    case MaintenanceJob::Kind::kZeroFill:
      if (!job.status.is_ok() || !failed_.is_ok()) {
        // Not worth failing the store over (the tail works without it); stop trying.
        prezero_failed_ = !job.status.is_ok();
        (void)fs_->remove(job.tmp_path);
        return std::nullopt;
      }
      spare_ready_ = true;
      // A tail that is not pre-zeroed (a new stream's first, or a recovered one) moves to the
      // spare now rather than after block_size more bytes of slow appends.
      if (!tail().prezeroed && tail().size < cfg_.block_size) (void)roll_tail();
      return std::nullopt;
    case MaintenanceJob::Kind::kBuild:
      break;
  }
  Block* b = nullptr;
  for (auto& p : blocks_) {
    if (p->index == job.block) b = p.get();
  }
  if (!b || b->generation != job.generation || !failed_.is_ok()) {
    // The block was dropped or rewritten meanwhile (or the store failed): the result is stale.
    (void)fs_->remove(job.tmp_path);
    return std::nullopt;
  }
  if (!job.status.is_ok()) {
    (void)fs_->remove(job.tmp_path);
    fail(job.status);
    return std::nullopt;
  }
  if (Status st = install_build(b, job); !st) return std::nullopt;
  // No next job before the rename is durable: its choices (which tombstones are still needed)
  // may depend on this one.
  MaintenanceJob next;
  next.kind = MaintenanceJob::Kind::kSyncDir;
  next.owner = job.owner;
  next.fs = fs_;
  next.dir = cfg_.dir;
  maint_in_flight_ = true;
  return next;
}

Status FileStore::run_maintenance() {
  while (failed_.is_ok()) {
    auto job = next_maintenance();
    if (!job) break;
    for (;;) {
      run_maintenance_job(&*job);
      auto next = finish_maintenance(std::move(*job));
      if (!next) break;
      job = std::move(next);
    }
  }
  return failed_;
}

uint64_t FileStore::disk_bytes() const {
  uint64_t n = 0;
  for (const auto& b : blocks_) n += b->file->size();
  return n;
}

// ---------------------------------------------------------------------------------------------
// Persistence hooks

Status FileStore::persist_msg(uint64_t seq, int64_t ts, std::string_view subject, std::string_view headers,
                              std::string_view payload) {
  if (record_size(subject.size(), headers.size(), payload.size()) > kMaxRecordSize) {
    return store_error(StoreErrc::kMsgTooLarge);
  }
  // Flush before appending, so a failed write never involves the record being stored.
  if (tail().pending.size() >= cfg_.flush_threshold) {
    if (Status st = flush_block(&tail()); !st) return st;
  }
  if (tail().size >= cfg_.block_size) {
    if (Status st = roll_tail(); !st) return st;
  }
  append_to_tail(RecordType::kMsg, seq, ts, subject, headers, payload);
  return Status::ok();
}

Status FileStore::persist_skip(uint64_t seq) {
  if (tail().size >= cfg_.block_size) {
    if (Status st = roll_tail(); !st) return st;
  }
  append_to_tail(RecordType::kSeqFloor, seq, last_ts());
  return Status::ok();
}

Status FileStore::persist_removals(const std::vector<uint64_t>& removed, bool erase) {
  maint_scan_ = true;  // live counts change
  uint64_t first = first_live_seq();
  bool empty = first == last_seq() + 1;
  if (empty && removed.size() > 1) {
    // Bulk purge: one tombstone in a fresh tail covers everything; every older block goes.
    if (auto nb = new_tail(); !nb) return nb.status();
    append_to_tail(RecordType::kDeleteUpTo, last_seq(), last_ts());
    while (blocks_.size() > 1) drop_block(0);
    return erase ? sync() : Status::ok();
  }
  uint64_t floor = first - 1;  // no live message at or below floor
  if (removed.front() <= floor) append_to_tail(RecordType::kDeleteUpTo, floor, last_ts());
  for (uint64_t seq : removed) {
    if (seq > floor) append_to_tail(RecordType::kDelete, seq, last_ts());
  }
  std::vector<Block*> affected;
  for (uint64_t seq : removed) {
    Block* b = block_for(seq);
    if (!b) continue;
    b->live--;
    if (affected.empty() || affected.back() != b) affected.push_back(b);
  }
  bool dropped = false;
  for (Block* b : affected) {
    if (b == &tail() || b->live > 0) continue;
    auto it = std::find_if(blocks_.begin(), blocks_.end(), [b](const auto& p) { return p.get() == b; });
    drop_block(static_cast<size_t>(it - blocks_.begin()));
    dropped = true;
  }
  if (!erase) return Status::ok();
  for (Block* b : affected) {
    bool present = std::any_of(blocks_.begin(), blocks_.end(), [b](const auto& p) { return p.get() == b; });
    if (present) {
      if (Status st = rewrite_block(b); !st) return st;
    }
  }
  return dropped ? sync() : Status::ok();
}

Result<StoredMsg> FileStore::read_msg(uint64_t seq, const Entry& entry) {
  Block* b = block_for(seq);
  if (!b) return store_error(StoreErrc::kNotFound, "index has no block for sequence");
  const RecLoc* loc = find_loc(*b, seq);
  std::string buf;
  std::string_view data;
  size_t off = 0;
  std::shared_ptr<const std::string> content;
  if (b->codec != Compression::kNone) {
    auto c = raw_content(*b);
    if (!c) return store_error(StoreErrc::kStorageFailed, c.status().message());
    content = *c;
    data = *content;
    off = loc->offset;
  } else if (loc->offset >= b->written) {
    data = b->pending;
    off = loc->offset - b->written;
  } else {
    buf.resize(loc->len);
    if (Status st = b->file->read_at(loc->offset, loc->len, buf.data()); !st) {
      return store_error(StoreErrc::kStorageFailed, st.message());
    }
    data = buf;
  }
  RecordView rec;
  if (off + loc->len > data.size() || parse_record(data.substr(0, off + loc->len), off, &rec) != ParseOutcome::kOk ||
      rec.seq != seq) {
    return store_error(StoreErrc::kStorageFailed, "corrupt record for sequence " + std::to_string(seq));
  }
  return StoredMsg{seq, entry.ts, std::string(rec.subject), std::string(rec.headers), std::string(rec.payload)};
}

// ---------------------------------------------------------------------------------------------
// Durability

Status FileStore::flush() {
  for (auto& b : blocks_) {
    if (Status st = flush_block(b.get()); !st) return st;
  }
  return Status::ok();
}

std::optional<SyncBatch> FileStore::begin_sync() {
  if (!failed_.is_ok() || sync_in_flight_) return std::nullopt;
  if (!flush().is_ok()) return std::nullopt;
  SyncBatch batch;
  batch.fs_ = fs_;
  batch.dir_ = cfg_.dir;
  batch.seq_ = last_seq();
  for (auto& b : blocks_) {
    if (b->synced < b->written) batch.files_.push_back(SyncBatch::Target{b->file, b->index, b->generation, b->written});
  }
  batch.sync_dir_ = dir_dirty_;
  batch.unlink_ = std::move(unlink_queue_);
  unlink_queue_.clear();
  if (batch.files_.empty() && !batch.sync_dir_ && batch.unlink_.empty()) {
    durable_seq_ = last_seq();  // nothing unsynced: a skip or a removal already covered
    return std::nullopt;
  }
  dir_dirty_ = false;
  sync_in_flight_ = true;
  return batch;
}

void FileStore::end_sync(const SyncBatch& batch, const Status& status) {
  sync_in_flight_ = false;
  if (!status.is_ok()) {
    fail(status);
    return;
  }
  durable_seq_ = std::max(durable_seq_, batch.seq_);
  for (const auto& t : batch.files_) {
    for (auto& b : blocks_) {
      if (b->index == t.block && b->generation == t.generation) b->synced = std::max(b->synced, t.size);
    }
  }
  for (const auto& path : batch.unlink_) {
    std::erase_if(unlinking_, [&](const auto& b) { return b->path == path; });
  }
  if (cfg_.maintenance_inline) (void)run_maintenance();
}

Status FileStore::sync() {
  if (!failed_.is_ok()) return failed_;
  if (sync_in_flight_) return store_error(StoreErrc::kInvalidArgument, "a sync batch is in flight");
  auto batch = begin_sync();
  if (!batch) return failed_;
  Status st = batch->run();
  end_sync(*batch, st);
  return failed_;
}

}  // namespace tern::server
