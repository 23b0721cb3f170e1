// FileStore maintenance off the owner thread (maintenance.h): jobs cut by next_maintenance(), run
// on another thread, installed or discarded by finish_maintenance(); races with removals, purges
// and erases of the same block; reads during a job; a crash between any two steps; the worker's
// hand-back through a uv loop; and the Syncer's group commit while a job is stuck.

#include "server/stream/maintenance.h"

#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "server/stream/file_store.h"
#include "server/stream/syncer.h"
#include "tests/unit/support/fault_file_system.h"

using namespace tern::server;
using tern::Result;
using tern::Status;
namespace fsys = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/tern_maint_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fsys::remove_all(path); }
};

std::string payload_for(uint64_t seq) { return "payload-" + std::to_string(seq) + std::string(seq % 23, '*'); }

std::unique_ptr<FileStore> open_ok(const FileStoreConfig& cfg, RecoveryReport* report = nullptr) {
  auto r = FileStore::open(cfg, report);
  REQUIRE(r.is_ok());
  return std::move(*r);
}

size_t count_ext(const std::string& dir, const std::string& ext) {
  size_t n = 0;
  for (auto& e : fsys::directory_iterator(dir)) n += e.path().extension() == ext;
  return n;
}

FileStoreConfig async_config(const std::string& dir, Compression c) {
  FileStoreConfig cfg;
  cfg.dir = dir;
  cfg.block_size = 2048;
  cfg.frame_size = 512;
  cfg.compression = c;
  cfg.maintenance_inline = false;
  cfg.prezero = false;
  return cfg;
}

void fill(FileStore& s, uint64_t n) {
  for (uint64_t q = 1; q <= n; ++q) REQUIRE(*s.store_msg("m.x", "", payload_for(q), static_cast<int64_t>(q)) == q);
  REQUIRE(s.sync().is_ok());
}

// Runs a job and its follow-ups to the end on this thread.
void finish_all(FileStore& s, MaintenanceJob job) {
  for (;;) {
    run_maintenance_job(&job);
    auto next = s.finish_maintenance(std::move(job));
    if (!next) return;
    job = std::move(*next);
  }
}

// Every message 1..n is present with its payload unless removed(q); returns how many are.
template <class Removed>
uint64_t check_all(FileStore& s, uint64_t n, Removed removed) {
  uint64_t present = 0;
  for (uint64_t q = 1; q <= n; ++q) {
    auto m = s.load(q);
    if (removed(q)) {
      CHECK_FALSE(m.is_ok());
      continue;
    }
    REQUIRE(m.is_ok());
    CHECK(m->payload == payload_for(q));
    ++present;
  }
  return present;
}

}  // namespace

TEST_CASE("maintenance: a compression job runs off the owner thread while reads go on", "[store][maint]") {
  TempDir tmp;
  auto cfg = async_config(tmp.path + "/s", Compression::kZstd);
  auto s = open_ok(cfg);
  constexpr uint64_t kMsgs = 300;
  fill(*s, kMsgs);
  REQUIRE(s->num_blocks() > 3);
  REQUIRE(count_ext(cfg.dir, ".zst") == 0);
  size_t jobs = 0;
  while (auto job = s->next_maintenance()) {
    CHECK(job->kind == MaintenanceJob::Kind::kBuild);
    CHECK_FALSE(s->next_maintenance());  // one job at a time
    auto done = std::async(std::launch::async, [j = std::move(*job)]() mutable {
      run_maintenance_job(&j);
      return j;
    });
    // Reads (raw blocks, compressed blocks, the tail) keep working while the job runs.
    check_all(*s, kMsgs, [](uint64_t) { return false; });
    MaintenanceJob finished = done.get();
    REQUIRE(finished.status.is_ok());
    auto next = s->finish_maintenance(std::move(finished));
    REQUIRE(next);
    CHECK(next->kind == MaintenanceJob::Kind::kSyncDir);
    CHECK_FALSE(s->next_maintenance());  // not before the rename is durable
    finish_all(*s, std::move(*next));
    check_all(*s, kMsgs, [](uint64_t) { return false; });
    ++jobs;
  }
  CHECK(jobs == s->num_blocks() - 1);  // every sealed block
  REQUIRE(s->sync().is_ok());          // unlinks the raw files the compressed ones replaced
  CHECK(count_ext(cfg.dir, ".zst") == jobs);
  CHECK(count_ext(cfg.dir, ".blk") == 1);
  CHECK(count_ext(cfg.dir, ".tmp") == 0);
  s.reset();
  RecoveryReport report;
  s = open_ok(cfg, &report);
  CHECK(report.clean());
  CHECK(check_all(*s, kMsgs, [](uint64_t) { return false; }) == kMsgs);
}

TEST_CASE("maintenance: a job racing with a removal, purge or erase of its block", "[store][maint]") {
  TempDir tmp;
  constexpr uint64_t kMsgs = 200;

  SECTION("the block is dropped (every message removed) while compressing: discarded") {
    auto cfg = async_config(tmp.path + "/a", Compression::kLz4);
    auto s = open_ok(cfg);
    fill(*s, kMsgs);
    auto job = s->next_maintenance();
    REQUIRE(job);
    uint32_t block = job->block;
    // Remove everything up to well past the first block: its live count reaches 0 and it goes.
    REQUIRE(*s->compact(60) == 59);
    run_maintenance_job(&*job);
    REQUIRE(job->status.is_ok());
    std::string tmp_path = job->tmp_path;
    REQUIRE(fsys::exists(tmp_path));
    CHECK_FALSE(s->finish_maintenance(std::move(*job)));
    CHECK_FALSE(fsys::exists(tmp_path));
    char name[32];
    std::snprintf(name, sizeof name, "/%010u.lz4", block);
    CHECK_FALSE(fsys::exists(cfg.dir + name));
    REQUIRE(s->run_maintenance().is_ok());  // the rest proceeds
    REQUIRE(s->sync().is_ok());
    s.reset();
    RecoveryReport report;
    s = open_ok(cfg, &report);
    CHECK(report.clean());
    CHECK(check_all(*s, kMsgs, [](uint64_t q) { return q < 60; }) == kMsgs - 59);
  }

  SECTION("a message of the block is removed while compacting: applied, the removal holds") {
    auto cfg = async_config(tmp.path + "/b", Compression::kNone);
    auto s = open_ok(cfg);
    fill(*s, kMsgs);
    // The first sealed block (about 30 messages) keeps only 1, 2 and 5: a compaction candidate.
    for (uint64_t q = 3; q <= 40; ++q) {
      if (q != 5) REQUIRE(*s->remove(q));
    }
    REQUIRE(s->sync().is_ok());
    auto job = s->next_maintenance();
    REQUIRE(job);
    REQUIRE(job->filter);
    CHECK(job->live == std::vector<uint64_t>{1, 2, 5});
    REQUIRE(*s->remove(2));  // the block still holds 1 and 5: it stays, same generation
    finish_all(*s, std::move(*job));
    REQUIRE(s->health().is_ok());
    auto removed = [](uint64_t q) { return q >= 2 && q <= 40 && q != 5; };
    check_all(*s, kMsgs, removed);
    REQUIRE(s->sync().is_ok());
    s.reset();
    RecoveryReport report;
    s = open_ok(cfg, &report);
    CHECK(report.clean());
    CHECK(check_all(*s, kMsgs, removed) == kMsgs - 38);
  }

  SECTION("a purge while a job runs: discarded, the store stays empty") {
    auto cfg = async_config(tmp.path + "/c", Compression::kZstd);
    auto s = open_ok(cfg);
    fill(*s, kMsgs);
    auto job = s->next_maintenance();
    REQUIRE(job);
    auto done = std::async(std::launch::async, [j = std::move(*job)]() mutable {
      run_maintenance_job(&j);
      return j;
    });
    REQUIRE(*s->purge() == kMsgs);
    CHECK_FALSE(s->finish_maintenance(done.get()));
    REQUIRE(s->sync().is_ok());
    CHECK(count_ext(cfg.dir, ".zst") == 0);
    CHECK(count_ext(cfg.dir, ".tmp") == 0);
    s.reset();
    s = open_ok(cfg);
    CHECK(s->state().msgs == 0);
    CHECK(s->state().last_seq == kMsgs);
  }

  SECTION("an erase rewrites the block while a job runs: the job is discarded, the erase holds") {
    auto cfg = async_config(tmp.path + "/d", Compression::kLz4);
    auto s = open_ok(cfg);
    fill(*s, kMsgs);
    auto job = s->next_maintenance();
    REQUIRE(job);
    REQUIRE(*s->erase(3));  // message 3 is in the first block, the job's
    run_maintenance_job(&*job);
    CHECK_FALSE(s->finish_maintenance(std::move(*job)));
    REQUIRE(s->run_maintenance().is_ok());
    REQUIRE(s->sync().is_ok());
    s.reset();
    s = open_ok(cfg);
    CHECK(check_all(*s, kMsgs, [](uint64_t q) { return q == 3; }) == kMsgs - 1);
    // Erased means gone from the files too, not just tombstoned.
    for (auto& e : fsys::directory_iterator(cfg.dir)) {
      auto data = posix_file_system()->read_all(e.path().string());
      REQUIRE(data.is_ok());
      if (e.path().extension() == ".blk") CHECK(data->find(payload_for(3)) == std::string::npos);
    }
  }
}

TEST_CASE("maintenance: a crash between any two steps of a job recovers every record", "[store][maint]") {
  for (Compression c : {Compression::kNone, Compression::kLz4}) {
    // Count the job's file operations once, then die after each prefix of them.
    uint64_t total_ops = 0;
    for (uint64_t die_after = 0;; ++die_after) {
      TempDir tmp;
      FaultFileSystem fs;
      auto cfg = async_config(tmp.path + "/s", c);
      cfg.fs = &fs;
      constexpr uint64_t kMsgs = 150;
      auto removed = [](uint64_t q) { return q >= 3 && q <= 30; };
      {
        auto s = open_ok(cfg);
        fill(*s, kMsgs);
        for (uint64_t q = 3; q <= 30; ++q) REQUIRE(*s->remove(q));  // block 1: compaction
        REQUIRE(s->sync().is_ok());
        uint64_t ops_before = fs.mutating_ops();
        if (total_ops) fs.die_after_ops(die_after);
        // Every job there is (compaction and/or compression of each sealed block), then the
        // batch that unlinks replaced files.
        (void)s->run_maintenance();
        (void)s->sync();
        if (!total_ops) {
          REQUIRE(s->health().is_ok());
          total_ops = fs.mutating_ops() - ops_before;
          REQUIRE(total_ops > 4);
          continue;  // the measuring run; the next ones die
        }
      }
      fs.crash();
      FileStoreConfig plain = cfg;
      plain.fs = nullptr;
      RecoveryReport report;
      auto s = open_ok(plain, &report);
      INFO("codec " << compression_name(c) << ", died after " << die_after << " of " << total_ops
                    << " ops: " << report.summary());
      CHECK(report.records_dropped == 0);
      CHECK(report.frames_dropped == 0);
      CHECK(check_all(*s, kMsgs, removed) == kMsgs - 28);
      CHECK(count_ext(plain.dir, ".tmp") == 0);
      if (die_after >= total_ops) break;
    }
  }
}

TEST_CASE("maintenance: the worker hands jobs back on the loop thread", "[store][maint]") {
  TempDir tmp;
  auto cfg = async_config(tmp.path + "/s", Compression::kZstd);
  cfg.prezero = true;
  auto s = open_ok(cfg);
  fill(*s, 300);
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::thread::id loop_thread = std::this_thread::get_id();
  int outstanding = 0;
  size_t kinds[3] = {0, 0, 0};
  MaintenanceWorker worker(&loop, [&](MaintenanceJob job) {
    CHECK(std::this_thread::get_id() == loop_thread);
    kinds[static_cast<int>(job.kind)]++;
    --outstanding;
    auto next = s->finish_maintenance(std::move(job));
    if (!next) next = s->next_maintenance();
    if (next) {
      ++outstanding;
      worker.submit(std::move(*next));
    }
  });
  auto first = s->next_maintenance();
  REQUIRE(first);
  CHECK(first->kind == MaintenanceJob::Kind::kZeroFill);  // the spare comes before compression
  ++outstanding;
  worker.submit(std::move(*first));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (outstanding > 0 && std::chrono::steady_clock::now() < deadline) uv_run(&loop, UV_RUN_ONCE);
  CHECK(outstanding == 0);
  CHECK(kinds[static_cast<int>(MaintenanceJob::Kind::kZeroFill)] == 1);
  CHECK(kinds[static_cast<int>(MaintenanceJob::Kind::kBuild)] >= 3);
  CHECK(kinds[static_cast<int>(MaintenanceJob::Kind::kSyncDir)] == kinds[static_cast<int>(MaintenanceJob::Kind::kBuild)]);
  worker.stop();
  uv_run(&loop, UV_RUN_DEFAULT);  // runs the close
  CHECK(uv_loop_close(&loop) == 0);
  REQUIRE(s->sync().is_ok());
  CHECK(check_all(*s, 300, [](uint64_t) { return false; }) == 300);
  CHECK(count_ext(cfg.dir, ".zst") >= 3);
}

namespace {

// Blocks every open() of a *.tmp path (a maintenance job's output) until released.
class GateFileSystem final : public FileSystem {
 public:
  Result<std::shared_ptr<File>> open(const std::string& path, bool create) override {
    if (path.size() > 4 && path.compare(path.size() - 4, 4, ".tmp") == 0) {
      std::unique_lock lock(mu_);
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return open_; });
    }
    return base_->open(path, create);
  }
  Result<std::string> read_all(const std::string& path) override { return base_->read_all(path); }
  Result<std::vector<std::string>> list_dir(const std::string& dir) override { return base_->list_dir(dir); }
  Status create_dir(const std::string& dir) override { return base_->create_dir(dir); }
  Status remove(const std::string& path) override { return base_->remove(path); }
  Status rename(const std::string& from, const std::string& to) override { return base_->rename(from, to); }
  Status sync_dir(const std::string& dir) override { return base_->sync_dir(dir); }

  bool wait_entered(std::chrono::milliseconds t) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, t, [this] { return entered_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  FileSystem* base_ = posix_file_system();
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
};

}  // namespace

TEST_CASE("maintenance: group commit on the Syncer is not held back by a running job", "[store][maint]") {
  TempDir tmp;
  GateFileSystem gate;
  auto cfg = async_config(tmp.path + "/s", Compression::kZstd);
  cfg.fs = &gate;
  auto s = open_ok(cfg);
  fill(*s, 300);
  auto job = s->next_maintenance();
  REQUIRE(job);
  std::thread worker([&] { run_maintenance_job(&*job); });
  REQUIRE(gate.wait_entered(std::chrono::seconds(5)));  // the job is stuck writing its output
  Syncer syncer;
  for (uint64_t q = 301; q <= 310; ++q) {
    REQUIRE(*s->store_msg("m.x", "", payload_for(q), 1) == q);
    auto batch = s->begin_sync();
    REQUIRE(batch);
    std::promise<Status> done;
    auto fut = done.get_future();
    syncer.submit(std::move(*batch), [&](SyncBatch b, Status st) {
      *batch = std::move(b);
      done.set_value(std::move(st));
    });
    REQUIRE(fut.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    Status st = fut.get();
    s->end_sync(*batch, st);
    CHECK(s->durable_seq() == q);
  }
  gate.release();
  worker.join();
  finish_all(*s, std::move(*job));
  REQUIRE(s->health().is_ok());
  CHECK(check_all(*s, 310, [](uint64_t) { return false; }) == 310);
}

TEST_CASE("file store: the tail is written in place into a pre-zeroed spare", "[store][maint]") {
  TempDir tmp;
  FaultFileSystem fs;
  FileStoreConfig cfg;
  cfg.dir = tmp.path + "/s";
  cfg.block_size = 16 << 10;
  cfg.maintenance_inline = true;
  cfg.prezero = true;
  cfg.fs = &fs;
  auto s = open_ok(cfg);
  uint64_t n = 0;
  auto put = [&](int k) {
    for (int i = 0; i < k; ++i) {
      ++n;
      REQUIRE(*s->store_msg("m.x", "", payload_for(n), 1) == n);
    }
    REQUIRE(s->sync().is_ok());
  };
  put(40);  // past block_size / 8: the spare is zero-filled and the tail moves onto it
  put(1);
  auto tail_file = [&] {
    std::string last;
    for (auto& e : fsys::directory_iterator(cfg.dir)) {
      if (e.path().extension() == ".blk" && e.path().string() > last) last = e.path().string();
    }
    return last;
  };
  std::string t = tail_file();
  CHECK(fsys::file_size(t) == cfg.block_size);
  uint64_t written = fs.bytes_written();
  put(20);
  CHECK(fsys::file_size(t) == cfg.block_size);  // records went into the zeros, no growth
  CHECK(fs.bytes_written() > written);
  // Fill past the block: the next tail is the next spare; the sealed one is cut to its data.
  put(400);
  CHECK(tail_file() != t);
  CHECK(fsys::file_size(t) >= cfg.block_size);
  s.reset();
  RecoveryReport report;
  cfg.fs = nullptr;
  s = open_ok(cfg, &report);
  INFO(report.summary());
  CHECK(report.clean());
  CHECK(check_all(*s, n, [](uint64_t) { return false; }) == n);
}
