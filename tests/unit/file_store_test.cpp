// FileStore beyond the Store contract: reopening, compression, group commit through a Syncer,
// space reclamation, CRC32C. The contract itself is in mem_store_test.cpp (run on both stores).

#include "server/stream/file_store.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "server/stream/block_format.h"
#include "server/stream/crc32c.h"
#include "tests/unit/support/fault_file_system.h"
#include "server/stream/syncer.h"

using namespace tern::server;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/tern_fstore_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::unique_ptr<FileStore> open_store(const FileStoreConfig& cfg, RecoveryReport* report = nullptr) {
  auto r = FileStore::open(cfg, report);
  REQUIRE(r.is_ok());
  return std::move(*r);
}

std::string telemetry(int i) {
  return R"({"device":"sensor-)" + std::to_string(i % 50) + R"(","ts":)" + std::to_string(1700000000000 + i * 250) +
         R"(,"temp_c":)" + std::to_string(20 + (i % 7)) + "." + std::to_string(i % 10) + R"(,"humidity":)" +
         std::to_string(40 + (i % 13)) + R"(,"status":"ok","fw":"1.4.2"})";
}

size_t dir_files(const std::string& dir, std::string_view ext) {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ext) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("crc32c: known vectors, hardware and table agree", "[store]") {
  CHECK(crc32c("123456789") == 0xE3069283u);  // the CRC-32C check value
  CHECK(crc32c("") == 0);
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  for (size_t n : {0, 1, 7, 8, 9, 63, 1000}) {
    CHECK(crc32c_extend(0, data.data(), n) == crc32c_extend_portable(0, data.data(), n));
  }
  uint32_t part = crc32c_extend(0, data.data(), 300);
  CHECK(crc32c_extend(part, data.data() + 300, 700) == crc32c(data));
}

TEST_CASE("block format: records round trip and resync", "[store]") {
  std::string buf;
  append_record(&buf, RecordType::kMsg, 7, 99, "a.b", "H", "payload");
  append_record(&buf, RecordType::kDelete, 3, 0);
  RecordView rec;
  REQUIRE(parse_record(buf, 0, &rec) == ParseOutcome::kOk);
  CHECK(rec.seq == 7);
  CHECK(rec.ts == 99);
  CHECK(rec.subject == "a.b");
  CHECK(rec.headers == "H");
  CHECK(rec.payload == "payload");
  CHECK(rec.size == kRecordHeaderSize + 11);
  CHECK(parse_record(buf.substr(0, 20), 0, &rec) == ParseOutcome::kTruncated);
  buf[kRecordHeaderSize + 1] ^= 0x10;  // corrupt the first record's subject
  int seen = 0;
  auto stats = scan_records(buf, [&](size_t, const RecordView& r) {
    CHECK(r.type == RecordType::kDelete);
    ++seen;
  });
  CHECK(seen == 1);
  CHECK(stats.dropped_records == 1);
  CHECK(stats.tail_bytes == 0);
}

TEST_CASE("file store: reopen keeps messages, tombstones and last_seq", "[store]") {
  TempDir tmp;
  FileStoreConfig cfg;
  cfg.dir = tmp.path + "/s";
  cfg.block_size = 1024;
  {
    auto s = open_store(cfg);
    for (int i = 1; i <= 100; ++i) REQUIRE(s->store_msg("t." + std::to_string(i % 5), "", telemetry(i), i).is_ok());
    REQUIRE(*s->remove(10));
    REQUIRE(*s->erase(50));
    REQUIRE(*s->compact(5) == 4);
    REQUIRE(*s->skip_msg() == 101);
    REQUIRE(s->sync().is_ok());
    CHECK(s->durable_seq() == 101);
    CHECK(s->num_blocks() > 5);
  }
  RecoveryReport report;
  auto s = open_store(cfg, &report);
  CHECK(report.clean());
  auto st = s->state(true);
  CHECK(st.msgs == 94);
  CHECK(st.first_seq == 5);
  CHECK(st.last_seq == 101);
  CHECK(st.last_ts == 100);
  CHECK(st.num_deleted == 3);
  CHECK(store_errc(s->load(10).status()) == StoreErrc::kNotFound);
  CHECK(s->load(77)->payload == telemetry(77));
  CHECK(*s->store_msg("t.x", "", "after", 200) == 102);

  // Purge everything, reopen: empty, and sequences continue (R-12.3).
  REQUIRE(*s->purge() == 95);
  REQUIRE(s->sync().is_ok());
  s.reset();
  s = open_store(cfg);
  CHECK(s->state().msgs == 0);
  CHECK(s->state().first_seq == 103);
  CHECK(s->num_blocks() == 1);
  CHECK(*s->store_msg("t.x", "", "again", 300) == 103);
}

TEST_CASE("file store: compression none/lz4/zstd round trips and reopens", "[store]") {
  for (Compression c : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    TempDir tmp;
    FileStoreConfig cfg;
    cfg.dir = tmp.path + "/s";
    cfg.compression = c;
    cfg.maintenance_inline = true;
    cfg.block_size = 32 << 10;
    cfg.frame_size = 8 << 10;
    uint64_t raw = 0;
    {
      auto s = open_store(cfg);
      for (int i = 1; i <= 2000; ++i) {
        std::string p = telemetry(i);
        raw += p.size();
        REQUIRE(s->store_msg("telemetry.s" + std::to_string(i % 50), "", p, i).is_ok());
      }
      REQUIRE(s->remove(1500).is_ok());
      REQUIRE(s->sync().is_ok());
      REQUIRE(s->sync().is_ok());  // the second batch unlinks the raw files replaced by compressed ones
      for (int i : {1, 2, 999, 1000, 1999, 2000}) CHECK(s->load(static_cast<uint64_t>(i))->payload == telemetry(i));
      INFO(compression_name(c) << ": raw payload " << raw << " bytes, on disk " << s->disk_bytes());
      if (c != Compression::kNone) CHECK(s->disk_bytes() * 3 / 2 < raw);
      REQUIRE(s->erase(10).is_ok());  // rewrite of a compressed block
    }
    if (c != Compression::kNone) CHECK(dir_files(cfg.dir, c == Compression::kLz4 ? ".lz4" : ".zst") > 0);
    RecoveryReport report;
    auto s = open_store(cfg, &report);
    CHECK(report.clean());
    CHECK(s->state().msgs == 1998);
    for (int i = 1; i <= 2000; ++i) {
      auto m = s->load(static_cast<uint64_t>(i));
      if (i == 1500 || i == 10) {
        CHECK_FALSE(m.is_ok());
      } else {
        REQUIRE(m.is_ok());
        CHECK(m->payload == telemetry(i));
      }
    }
  }
}

TEST_CASE("file store: deleting whole blocks reclaims their files", "[store]") {
  TempDir tmp;
  FileStoreConfig cfg;
  cfg.dir = tmp.path + "/s";
  cfg.block_size = 4096;
  cfg.maintenance_inline = true;
  auto s = open_store(cfg);
  for (int i = 1; i <= 1000; ++i) REQUIRE(s->store_msg("x", "", std::string(100, 'p'), i).is_ok());
  REQUIRE(s->sync().is_ok());
  size_t before = dir_files(cfg.dir, ".blk");
  CHECK(before > 20);
  REQUIRE(*s->compact(900) == 899);
  // Interior deletes leave sealed blocks mostly empty; maintenance rewrites them.
  for (uint64_t q = 900; q < 990; ++q) {
    if (q % 4) REQUIRE(*s->remove(q));
  }
  REQUIRE(s->sync().is_ok());
  REQUIRE(s->sync().is_ok());
  CHECK(dir_files(cfg.dir, ".blk") < 6);
  s.reset();
  s = open_store(cfg);
  CHECK(s->state().msgs == 101 - 67);
  CHECK(s->load(992)->payload == std::string(100, 'p'));
}

TEST_CASE("file store: group commit through a Syncer shares fsyncs among producers", "[store]") {
  TempDir tmp;
  FaultFileSystem fs;
  FileStoreConfig cfg;
  cfg.dir = tmp.path + "/s";
  cfg.fs = &fs;
  auto store = open_store(cfg);
  uint64_t syncs_at_start = fs.file_syncs();

  // The "loop": one thread owns the store. Producers queue publishes and wait for their ack,
  // exactly as connections would; the Syncer posts batch results back to the loop's queue.
  constexpr int kProducers = 8, kPerProducer = 250;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, uint64_t*>> inbox;          // producer id, where to put the seq
  std::vector<std::pair<SyncBatch, tern::Status>> done;  // from the Syncer
  uint64_t durable = 0;
  bool stop = false;
  Syncer syncer;
  std::thread loop([&] {
    std::unique_lock lock(mu);
    while (!stop) {
      cv.wait(lock, [&] { return stop || !inbox.empty() || !done.empty(); });
      auto msgs = std::move(inbox);
      inbox.clear();
      auto results = std::move(done);
      done.clear();
      lock.unlock();
      for (auto& [id, out] : msgs) {
        auto seq = store->store_msg("p." + std::to_string(id), "", "data", 1);
        if (!seq.is_ok()) std::abort();  // Catch2 assertions are not thread-safe
        *out = *seq;
      }
      for (auto& [batch, st] : results) store->end_sync(batch, st);
      if (auto batch = store->begin_sync()) {
        syncer.submit(std::move(*batch), [&](SyncBatch b, tern::Status st) {
          std::lock_guard g(mu);
          done.emplace_back(std::move(b), std::move(st));
          cv.notify_all();
        });
      }
      lock.lock();
      durable = store->durable_seq();
      cv.notify_all();
    }
  });
  std::vector<std::thread> producers;
  std::atomic<int> acked{0};
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        uint64_t seq = 0;
        std::unique_lock lock(mu);
        inbox.emplace_back(p, &seq);
        cv.notify_all();
        cv.wait(lock, [&] { return seq != 0 && durable >= seq; });  // the publish ack
        acked++;
      }
    });
  }
  for (auto& t : producers) t.join();
  {
    std::lock_guard g(mu);
    stop = true;
    cv.notify_all();
  }
  loop.join();
  uint64_t fsyncs = fs.file_syncs() - syncs_at_start;
  INFO("appends " << kProducers * kPerProducer << ", fsyncs " << fsyncs);
  CHECK(acked == kProducers * kPerProducer);
  CHECK(store->state().msgs == kProducers * kPerProducer);
  CHECK(fsyncs < static_cast<uint64_t>(kProducers * kPerProducer) / 2);  // many appends per fsync
  CHECK(fsyncs >= 1);
}

TEST_CASE("file store: durable_seq follows sync", "[store]") {
  TempDir tmp;
  FaultFileSystem fs;
  FileStoreConfig cfg;
  cfg.dir = tmp.path + "/s";
  cfg.fs = &fs;
  auto s = open_store(cfg);
  uint64_t base = fs.file_syncs();
  for (int i = 0; i < 100; ++i) REQUIRE(s->store_msg("x", "", "y", 1).is_ok());
  CHECK(s->durable_seq() == 0);
  auto batch = s->begin_sync();
  REQUIRE(batch);
  CHECK(batch->seq() == 100);
  CHECK_FALSE(s->begin_sync());  // one batch in flight at a time
  REQUIRE(s->store_msg("x", "", "y", 1).is_ok());
  tern::Status st = batch->run();
  s->end_sync(*batch, st);
  CHECK(s->durable_seq() == 100);
  REQUIRE(s->sync().is_ok());
  CHECK(s->durable_seq() == 101);
  CHECK(fs.file_syncs() - base == 2);
}
