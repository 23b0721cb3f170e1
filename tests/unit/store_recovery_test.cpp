// FileStore recovery under injected faults (through FaultFileSystem): power loss dropping
// unsynced bytes, a torn last record cut at every byte, single-bit flips, ENOSPC and EIO.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "server/stream/block_format.h"
#include "tests/unit/support/fault_file_system.h"
#include "server/stream/file_store.h"

using namespace tern::server;
namespace fsys = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/tern_recovery_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fsys::remove_all(path); }
};

std::string payload_for(uint64_t seq) { return "payload-" + std::to_string(seq) + std::string(seq % 17, '#'); }
std::string subject_for(uint64_t seq) { return "rec.s" + std::to_string(seq % 5); }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::vector<std::string> block_files(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : fsys::directory_iterator(dir)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::unique_ptr<FileStore> open_ok(const FileStoreConfig& cfg, RecoveryReport* report = nullptr) {
  auto r = FileStore::open(cfg, report);
  REQUIRE(r.is_ok());
  return std::move(*r);
}

// Every message 1..n that is present must be byte-exact; returns how many are present.
uint64_t check_contents(FileStore& s, uint64_t n) {
  uint64_t present = 0;
  for (uint64_t q = 1; q <= n; ++q) {
    auto m = s.load(q);
    if (!m.is_ok()) continue;
    ++present;
    CHECK(m->payload == payload_for(q));
    CHECK(m->subject == subject_for(q));
  }
  return present;
}

FileStoreConfig plain_config(const std::string& dir) {
  FileStoreConfig cfg;
  cfg.dir = dir;
  return cfg;
}

}  // namespace

TEST_CASE("recovery: a crash loses only unsynced bytes, never half a message", "[store]") {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    TempDir tmp;
    FaultFileSystem fs;
    std::mt19937_64 rng(seed);
    FileStoreConfig cfg;
    cfg.dir = tmp.path + "/s";
    cfg.fs = &fs;
    cfg.block_size = 700 + (seed * 97) % 900;
    // Odd seeds: inline maintenance, so tails are pre-zeroed spares written in place and a
    // crash reverts overwrites rather than cutting appends.
    cfg.maintenance_inline = seed % 2 == 1;
    cfg.prezero = seed % 2 == 1;
    uint64_t synced = 0, stored = 0;
    {
      auto s = open_ok(cfg);
      uint64_t total = 150 + rng() % 150;
      for (uint64_t q = 1; q <= total; ++q) {
        REQUIRE(*s->store_msg(subject_for(q), "", payload_for(q), static_cast<int64_t>(q)) == q);
        if (rng() % 10 == 0) {
          REQUIRE(s->sync().is_ok());
          synced = q;
        } else if (rng() % 7 == 0) {
          REQUIRE(s->flush().is_ok());  // written, not fsynced: may or may not survive
        }
      }
      stored = total;
      CHECK(s->durable_seq() == synced);
    }
    fs.crash(&rng);
    RecoveryReport report;
    FileStoreConfig plain = cfg;
    plain.fs = nullptr;
    auto s = open_ok(plain, &report);
    INFO("seed " << seed << " synced " << synced << " stored " << stored << ": " << report.summary());
    CHECK(report.records_dropped == 0);  // unsynced data is cut at a record boundary or torn, never corrupt
    auto st = s->state();
    CHECK(st.first_seq == 1);
    CHECK(st.last_seq >= synced);
    // Everything synced is there. Unsynced messages may or may not be (pages of different block
    // files reach the disk in any order, so even gaps are possible), but each one present is whole.
    for (uint64_t q = 1; q <= synced; ++q) CHECK(s->load(q).is_ok());
    CHECK(check_contents(*s, stored) == st.msgs);
    // The store keeps working after recovery.
    uint64_t next = st.last_seq + 1;
    REQUIRE(*s->store_msg(subject_for(next), "", payload_for(next), 1) == next);
    REQUIRE(s->sync().is_ok());
  }
}

TEST_CASE("recovery: a torn last record is cut at every byte offset", "[store]") {
  TempDir tmp;
  FileStoreConfig cfg;
  cfg.dir = tmp.path + "/s";
  {
    auto s = open_ok(cfg);
    for (uint64_t q = 1; q <= 5; ++q) REQUIRE(s->store_msg(subject_for(q), "", payload_for(q), 1).is_ok());
    REQUIRE(s->sync().is_ok());
  }
  auto files = block_files(cfg.dir);
  REQUIRE(files.size() == 1);
  std::string before = read_file(files[0]);
  {
    auto s = open_ok(cfg);
    REQUIRE(s->store_msg(subject_for(6), "NATS/1.0\r\nK: v\r\n\r\n", payload_for(6), 1).is_ok());
    REQUIRE(s->sync().is_ok());
  }
  std::string full = read_file(files[0]);
  REQUIRE(full.size() > before.size());
  size_t last_len = full.size() - before.size();
  for (size_t cut = 0; cut < last_len; ++cut) {
    write_file(files[0], full.substr(0, before.size() + cut));
    RecoveryReport report;
    auto s = open_ok(cfg, &report);
    INFO("cut at " << cut << " of " << last_len << ": " << report.summary());
    CHECK(report.bytes_truncated == cut);
    CHECK(report.records_dropped == 0);
    CHECK(s->state().msgs == 5);
    CHECK(s->state().last_seq == 5);
    CHECK(check_contents(*s, 6) == 5);
  }
  write_file(files[0], full.substr(0, before.size() + last_len / 2));
  auto s = open_ok(cfg);
  CHECK(*s->store_msg(subject_for(6), "", payload_for(6), 1) == 6);  // appends after the cut
  REQUIRE(s->sync().is_ok());
  s.reset();
  RecoveryReport report;
  s = open_ok(cfg, &report);
  CHECK(report.clean());
  CHECK(check_contents(*s, 6) == 6);
}

// The tail a spare became: records, then zeros to block_size. Returns its path.
std::string prezeroed_tail(const std::string& dir) {
  std::string tail;
  for (auto& f : block_files(dir)) {
    if (fsys::path(f).extension() == ".blk") tail = f;
  }
  return tail;
}

TEST_CASE("recovery: pre-zeroed tail space is a clean end, a torn record in it is cut at every offset",
          "[store]") {
  TempDir tmp;
  FileStoreConfig cfg;
  cfg.dir = tmp.path + "/s";
  cfg.block_size = 4096;
  cfg.maintenance_inline = true;  // the spare is zero-filled after the first sync past 512 bytes
  cfg.prezero = true;
  uint64_t n = 0;
  {
    auto s = open_ok(cfg);
    while (n < 20) {
      ++n;
      REQUIRE(s->store_msg(subject_for(n), "", payload_for(n), 1).is_ok());
    }
    REQUIRE(s->sync().is_ok());  // zero-fills the spare and moves the tail onto it
    REQUIRE(s->sync().is_ok());
    for (int i = 0; i < 5; ++i) {
      ++n;
      REQUIRE(s->store_msg(subject_for(n), "", payload_for(n), 1).is_ok());
    }
    REQUIRE(s->sync().is_ok());
  }
  std::string tail = prezeroed_tail(cfg.dir);
  REQUIRE_FALSE(tail.empty());
  CHECK(fsys::file_size(tail) == cfg.block_size);  // written in place, not appended
  std::string before = read_file(tail);
  FileStoreConfig plain = cfg;
  plain.maintenance_inline = false;  // keep the files as they are while reopening
  plain.prezero = false;
  {
    RecoveryReport report;
    auto s = open_ok(plain, &report);
    INFO(report.summary());
    CHECK(report.clean());
    CHECK(report.records_dropped == 0);
    CHECK(s->state().msgs == n);
    CHECK(check_contents(*s, n) == n);
    ++n;
    REQUIRE(s->store_msg(subject_for(n), "NATS/1.0\r\nK: v\r\n\r\n", payload_for(n), 1).is_ok());
    REQUIRE(s->sync().is_ok());
  }
  std::string full = read_file(tail);
  REQUIRE(full.size() == before.size());  // still in place after a reopen
  ScanStats a = scan_records(before, [](size_t, const RecordView&) {});
  ScanStats b = scan_records(full, [](size_t, const RecordView&) {});
  REQUIRE(a.zero_tail > 0);
  REQUIRE(b.valid_end > a.valid_end);
  size_t last_len = b.valid_end - a.valid_end;
  for (size_t cut = 0; cut < last_len; ++cut) {
    std::string torn = full;
    std::fill(torn.begin() + static_cast<std::ptrdiff_t>(a.valid_end + cut), torn.end(), '\0');
    write_file(tail, torn);
    RecoveryReport report;
    auto s = open_ok(plain, &report);
    INFO("cut at " << cut << " of " << last_len << ": " << report.summary());
    CHECK(report.records_dropped == 0);
    CHECK(report.bytes_truncated <= cut);
    if (cut == 0) CHECK(report.clean());
    CHECK(s->state().msgs == n - 1);
    CHECK(check_contents(*s, n) == n - 1);
    s.reset();
    write_file(tail, torn);  // the reopen may have cut the file: restore the padded form
  }
  // Garbage (not zeros) after the last record is still damage.
  std::string bad = before;
  bad[a.valid_end + 100] = 'x';
  write_file(tail, bad);
  RecoveryReport report;
  auto s = open_ok(plain, &report);
  CHECK_FALSE(report.clean());
  CHECK(s->state().msgs == n - 1);
}

TEST_CASE("recovery: a flipped bit drops exactly the record it hits", "[store]") {
  TempDir tmp;
  FileStoreConfig cfg;
  cfg.dir = tmp.path + "/pristine";
  cfg.block_size = 2048;
  constexpr uint64_t kMsgs = 120;
  {
    auto s = open_ok(cfg);
    for (uint64_t q = 1; q <= kMsgs; ++q) REQUIRE(s->store_msg(subject_for(q), "", payload_for(q), 1).is_ok());
    REQUIRE(s->sync().is_ok());
  }
  auto pristine = block_files(cfg.dir);
  std::mt19937_64 rng(42);
  for (int round = 0; round < 40; ++round) {
    std::string work = tmp.path + "/work";
    fsys::remove_all(work);
    fsys::copy(cfg.dir, work);
    size_t fi = rng() % pristine.size();
    std::string path = work + "/" + fsys::path(pristine[fi]).filename().string();
    std::string data = read_file(path);
    if (data.empty()) continue;
    size_t byte = rng() % data.size();
    int bit = static_cast<int>(rng() % 8);
    // Which record does the byte belong to?
    uint64_t hit_seq = 0;
    bool hit_is_msg = false;
    scan_records(data, [&](size_t off, const RecordView& r) {
      if (byte >= off && byte < off + r.size) {
        hit_seq = r.seq;
        hit_is_msg = r.type == RecordType::kMsg;
      }
    });
    data[byte] = static_cast<char>(data[byte] ^ (1 << bit));
    write_file(path, data);
    FileStoreConfig wc = cfg;
    wc.dir = work;
    RecoveryReport report;
    auto s = open_ok(wc, &report);
    INFO("round " << round << " file " << path << " byte " << byte << " bit " << bit << " seq " << hit_seq << ": "
                  << report.summary());
    uint64_t torn = report.bytes_truncated > 0 && report.per_block.size() == 1 && report.per_block[0].torn_tail;
    CHECK(report.records_dropped + torn == 1);
    CHECK(report.per_block.size() == 1);
    uint64_t present = check_contents(*s, kMsgs);
    CHECK(present == kMsgs - (hit_is_msg ? 1 : 0));
    if (hit_is_msg) CHECK_FALSE(s->load(hit_seq).is_ok());
  }
}

TEST_CASE("recovery: a flipped bit in a compressed block loses only its frame", "[store]") {
  TempDir tmp;
  FileStoreConfig cfg;
  cfg.dir = tmp.path + "/s";
  cfg.block_size = 8192;
  cfg.frame_size = 1024;
  cfg.compression = Compression::kZstd;
  cfg.maintenance_inline = true;
  constexpr uint64_t kMsgs = 300;
  {
    auto s = open_ok(cfg);
    for (uint64_t q = 1; q <= kMsgs; ++q) REQUIRE(s->store_msg(subject_for(q), "", payload_for(q), 1).is_ok());
    REQUIRE(s->sync().is_ok());
    REQUIRE(s->sync().is_ok());
  }
  std::string victim;
  for (auto& f : block_files(cfg.dir)) {
    if (fsys::path(f).extension() == ".zst") victim = f;
  }
  REQUIRE_FALSE(victim.empty());
  std::string data = read_file(victim);
  data[data.size() / 2] ^= 0x04;
  write_file(victim, data);
  RecoveryReport report;
  auto s = open_ok(cfg, &report);
  INFO(report.summary());
  CHECK(report.frames_dropped == 1);
  uint64_t present = check_contents(*s, kMsgs);
  CHECK(present < kMsgs);
  CHECK(present > kMsgs - 40);  // one 1 KiB frame holds a few dozen records at most
}

TEST_CASE("recovery: ENOSPC or EIO on write fails closed and reopens clean", "[store]") {
  for (uint64_t budget : {0ull, 37ull, 1000ull, 5000ull}) {
    TempDir tmp;
    FaultFileSystem fs;
    FileStoreConfig cfg;
    cfg.dir = tmp.path + "/s";
    cfg.fs = &fs;
    cfg.block_size = 1500;
    uint64_t accepted = 0, durable = 0;
    {
      auto s = open_ok(cfg);
      fs.fail_writes_after(budget, budget == 0 ? "Input/output error" : "No space left on device");
      for (uint64_t q = 1; q <= 200; ++q) {
        auto r = s->store_msg(subject_for(q), "", payload_for(q), 1);
        if (!r.is_ok()) {
          CHECK(store_errc(r.status()) == StoreErrc::kStorageFailed);
          break;
        }
        accepted = q;
        if (q % 5 == 0 && !s->sync().is_ok()) break;
      }
      durable = s->durable_seq();
      INFO("budget " << budget << " accepted " << accepted << " durable " << durable);
      CHECK_FALSE(s->health().is_ok());
      CHECK(store_errc(s->health()) == StoreErrc::kStorageFailed);
      // Refuses every later write, with the I/O error in the message.
      auto r = s->store_msg("x", "", "y", 1);
      CHECK(store_errc(r.status()) == StoreErrc::kStorageFailed);
      CHECK(r.status().message().find(budget == 0 ? "Input/output" : "No space") != std::string::npos);
      CHECK(store_errc(s->remove(1).status()) == StoreErrc::kStorageFailed);
      CHECK(store_errc(s->purge().status()) == StoreErrc::kStorageFailed);
      CHECK_FALSE(s->sync().is_ok());
      // Reads see what reached the file: every durable message, and none of those whose write
      // failed (a restart would not find them).
      uint64_t readable = check_contents(*s, accepted);
      CHECK(readable >= durable);
      CHECK(s->state().msgs == readable);
      CHECK(s->state().last_seq == readable);
    }
    fs.crash();  // and the machine goes down too: only what was fsynced may count
    RecoveryReport report;
    auto s = open_ok(plain_config(cfg.dir), &report);
    INFO(report.summary());
    CHECK(report.records_dropped == 0);
    CHECK(s->state().msgs >= durable);
    for (uint64_t q = 1; q <= durable; ++q) CHECK(s->load(q).is_ok());
    CHECK(check_contents(*s, 200) == s->state().msgs);
  }
}

TEST_CASE("recovery: EIO on fsync fails closed and reopens clean", "[store]") {
  TempDir tmp;
  FaultFileSystem fs;
  FileStoreConfig cfg;
  cfg.dir = tmp.path + "/s";
  cfg.fs = &fs;
  {
    auto s = open_ok(cfg);
    for (uint64_t q = 1; q <= 10; ++q) REQUIRE(s->store_msg(subject_for(q), "", payload_for(q), 1).is_ok());
    REQUIRE(s->sync().is_ok());
    for (uint64_t q = 11; q <= 20; ++q) REQUIRE(s->store_msg(subject_for(q), "", payload_for(q), 1).is_ok());
    fs.fail_next_sync();
    auto st = s->sync();
    CHECK(store_errc(st) == StoreErrc::kStorageFailed);
    CHECK(s->durable_seq() == 10);  // no ack may go past what was fsynced
    CHECK(store_errc(s->store_msg("x", "", "y", 1).status()) == StoreErrc::kStorageFailed);
    CHECK(check_contents(*s, 20) == 20);
    CHECK(s->load_last("rec.>")->seq == 20);
  }
  fs.crash();
  RecoveryReport report;
  auto s = open_ok(plain_config(cfg.dir), &report);
  CHECK(report.records_dropped == 0);
  CHECK(s->state().msgs == 10);
  CHECK(check_contents(*s, 20) == 10);
}

TEST_CASE("recovery: EIO on the Syncer thread reaches the owner through end_sync", "[store]") {
  TempDir tmp;
  FaultFileSystem fs;
  FileStoreConfig cfg;
  cfg.dir = tmp.path + "/s";
  cfg.fs = &fs;
  auto s = open_ok(cfg);
  REQUIRE(s->store_msg("a", "", "b", 1).is_ok());
  auto batch = s->begin_sync();
  REQUIRE(batch);
  fs.fail_next_sync();
  tern::Status st = batch->run();
  CHECK_FALSE(st.is_ok());
  s->end_sync(*batch, st);
  CHECK(s->durable_seq() == 0);
  CHECK(store_errc(s->health()) == StoreErrc::kStorageFailed);
  CHECK_FALSE(s->begin_sync());
}
