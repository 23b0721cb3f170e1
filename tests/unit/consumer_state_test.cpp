// consumer_state: the durable consumer snapshot — encode/decode round trips (100k pending
// entries included), damaged bytes (every flipped bit, every truncation, hostile counts) are
// errors and never crashes, and the atomic save: a crash or failure anywhere before the rename
// leaves the previous snapshot, through the fault-injecting file layer.
#include "server/stream/consumer_state.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "server/stream/crc32c.h"
#include "tests/unit/support/fault_file_system.h"

using namespace tern::server;
using tern::Result;
using tern::Status;
namespace fsys = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/tern_cstate_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fsys::remove_all(path); }
};

ConsumerState sample_state(size_t pending = 3, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  ConsumerState s;
  s.ack_floor = {100, 200};
  uint64_t sseq = 200, cseq = 100;
  for (size_t i = 0; i < pending; ++i) {
    sseq += 1 + rng() % 5;
    cseq += 1 + rng() % 3;
    int64_t ts = 1'700'000'000'000'000'000 + static_cast<int64_t>(rng() % 1'000'000'000'000);
    s.pending[sseq] = {cseq, ts};
    if (rng() % 4 == 0) s.redelivered[sseq] = 2 + rng() % 10;
  }
  s.delivered = {cseq, sseq};
  return s;
}

// A file system whose rename fails: the process dies between the temp file's fsync and the rename.
class NoRenameFileSystem final : public FileSystem {
 public:
  explicit NoRenameFileSystem(FileSystem* base) : base_(base) {}
  Result<std::shared_ptr<File>> open(const std::string& p, bool create) override { return base_->open(p, create); }
  Result<std::string> read_all(const std::string& p) override { return base_->read_all(p); }
  Result<std::vector<std::string>> list_dir(const std::string& d) override { return base_->list_dir(d); }
  Status create_dir(const std::string& d) override { return base_->create_dir(d); }
  Status remove(const std::string& p) override { return base_->remove(p); }
  Status rename(const std::string&, const std::string&) override { return Status::error("killed before rename"); }
  Status sync_dir(const std::string& d) override { return base_->sync_dir(d); }

 private:
  FileSystem* base_;
};

ConsumerState load_ok(FileSystem& fs, const std::string& dir) {
  auto r = load_consumer_state(fs, dir);
  REQUIRE(r.is_ok());
  REQUIRE(r->has_value());
  return **r;
}

}  // namespace

TEST_CASE("consumer_state: encode/decode round trips", "[consumer_state]") {
  for (const ConsumerState& s : {ConsumerState{}, sample_state(1), sample_state(50, 7)}) {
    auto back = decode_consumer_state(encode_consumer_state(s));
    REQUIRE(back.is_ok());
    CHECK(*back == s);
  }
  // Extremes of every field.
  ConsumerState x;
  x.delivered = {UINT64_MAX, UINT64_MAX - 1};
  x.ack_floor = {0, UINT64_MAX};
  x.pending[UINT64_MAX] = {UINT64_MAX, INT64_MIN};
  x.pending[0] = {0, INT64_MAX};
  x.pending[1] = {1, -1};
  x.redelivered[UINT64_MAX] = UINT64_MAX;
  x.redelivered[0] = 2;
  auto back = decode_consumer_state(encode_consumer_state(x));
  REQUIRE(back.is_ok());
  CHECK(*back == x);
}

TEST_CASE("consumer_state: 100k pending entries save and load", "[consumer_state]") {
  TempDir tmp;
  ConsumerState s = sample_state(100'000, 3);
  REQUIRE(s.pending.size() == 100'000);
  const std::string dir = tmp.path + "/obs/C";
  REQUIRE(save_consumer_state(*posix_file_system(), dir, s).is_ok());
  CHECK(load_ok(*posix_file_system(), dir) == s);
  // Compact: well under 32 bytes per pending entry.
  CHECK(fsys::file_size(dir + "/state") < 100'000 * 32);
}

TEST_CASE("consumer_state: no state yet is not an error", "[consumer_state]") {
  TempDir tmp;
  auto missing_dir = load_consumer_state(*posix_file_system(), tmp.path + "/nope");
  REQUIRE(missing_dir.is_ok());
  CHECK_FALSE(missing_dir->has_value());
  auto empty_dir = load_consumer_state(*posix_file_system(), tmp.path);
  REQUIRE(empty_dir.is_ok());
  CHECK_FALSE(empty_dir->has_value());
}

TEST_CASE("consumer_state: every flipped bit and every truncation is an error", "[consumer_state]") {
  const std::string good = encode_consumer_state(sample_state(20, 5));
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      auto r = decode_consumer_state(bad);
      INFO("byte " << i << " bit " << bit);
      CHECK_FALSE(r.is_ok());
    }
  }
  for (size_t n = 0; n < good.size(); ++n) {
    INFO("length " << n);
    CHECK_FALSE(decode_consumer_state(std::string_view(good).substr(0, n)).is_ok());
  }
  CHECK_FALSE(decode_consumer_state(good + "x").is_ok());
}

TEST_CASE("consumer_state: hostile bytes with a valid checksum are errors, not crashes", "[consumer_state]") {
  // Re-seal arbitrary version+body bytes with a correct CRC, as an attacker (or a bug) could.
  auto seal = [](std::string body) {
    uint32_t c = crc32c(body);
    for (int i = 0; i < 4; ++i) body.push_back(static_cast<char>((c >> (8 * i)) & 0xff));
    return body;
  };
  const std::vector<std::string> bodies = {
      std::string("\x01", 1),                                        // no body
      std::string("\x02\x90", 2),                                    // unknown version
      std::string("\x01\x90", 2),                                    // empty array
      std::string("\x01\xdd\xff\xff\xff\xff", 6),                    // array of 4G elements, no bytes
      std::string("\x01\x96\x01\x02\x03\x04\xdd\x7f\xff\xff\xff\x90", 12),  // pending claims 2G
      std::string("\x01\x96\x01\x02\x03\x04\x92\x01\x02\x90", 10),   // pending not a multiple of 3
      std::string("\x01\x96\x01\x02\x03\x04\x93\x01\x02\xa1x\x90", 12),  // string where a ts belongs
      std::string("\x01\x96\xff\x02\x03\x04\x90\x90", 8),            // negative sequence
      std::string("\x01\x96\x01\x02\x03\x04\x96\x05\x01\x01\x05\x02\x02\x90", 14),  // duplicate pending seq
      std::string("\x01\x96\x01\x02\x03\x04\x90\x94\x05\x02\x05\x03", 12),          // duplicate redelivered
      std::string("\x01\x96\x01\x02\x03\x04\x90\x90\x90", 9),        // trailing bytes
      std::string("\x01\xdf\xff\xff\xff\xff", 6),                    // map of 4G
      std::string("\x01\xdb\xff\xff\xff\xff", 6),                    // str of 4G
      std::string("\x01\x91\x91\x91\x91\x91\x91\x91\x91\x91\x90", 11),  // deep nesting
  };
  for (const std::string& b : bodies) {
    INFO(b.size());
    CHECK_FALSE(decode_consumer_state(seal(b)).is_ok());
  }
  // Random garbage, sealed and not.
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) {
    std::string b(1 + rng() % 64, '\0');
    for (char& c : b) c = static_cast<char>(rng());
    b[0] = 1;
    (void)decode_consumer_state(seal(b));
    (void)decode_consumer_state(b);
  }
}

TEST_CASE("consumer_state: a damaged state file is reported by load", "[consumer_state]") {
  TempDir tmp;
  REQUIRE(save_consumer_state(*posix_file_system(), tmp.path, sample_state(10)).is_ok());
  const std::string path = tmp.path + "/state";
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() / 2] ^= 0x10;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  auto r = load_consumer_state(*posix_file_system(), tmp.path);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("damaged") != std::string::npos);
  // Truncated to nothing: also an error (an empty file is not "no state").
  { std::ofstream out(path, std::ios::binary | std::ios::trunc); }
  CHECK_FALSE(load_consumer_state(*posix_file_system(), tmp.path).is_ok());
}

TEST_CASE("consumer_state: save replaces atomically and fsyncs file and directory", "[consumer_state]") {
  TempDir tmp;
  FaultFileSystem fs;
  const std::string dir = tmp.path + "/stream/obs/C";  // created on first save
  ConsumerState a = sample_state(5, 1), b = sample_state(8, 2);
  REQUIRE(save_consumer_state(fs, dir, a).is_ok());
  CHECK(load_ok(fs, dir) == a);
  uint64_t syncs = fs.file_syncs(), dir_syncs = fs.dir_syncs();
  REQUIRE(save_consumer_state(fs, dir, b).is_ok());
  CHECK(fs.file_syncs() == syncs + 1);
  CHECK(fs.dir_syncs() == dir_syncs + 1);
  CHECK(load_ok(fs, dir) == b);
  // Only the state file remains: the temp file was renamed away.
  auto names = fs.list_dir(dir);
  REQUIRE(names.is_ok());
  CHECK(*names == std::vector<std::string>{"state"});
  // The first save survives a crash right after it returns.
  fs.crash();
  CHECK(load_ok(fs, dir) == b);
}

TEST_CASE("consumer_state: a crash before the rename leaves the old snapshot", "[consumer_state]") {
  TempDir tmp;
  FaultFileSystem fs;
  const std::string dir = tmp.path + "/C";
  ConsumerState old_state = sample_state(100, 1), new_state = sample_state(200, 2);
  REQUIRE(save_consumer_state(fs, dir, old_state).is_ok());

  SECTION("killed between the temp file's fsync and the rename") {
    NoRenameFileSystem dying(&fs);
    CHECK_FALSE(save_consumer_state(dying, dir, new_state).is_ok());
    fs.crash();
    CHECK(load_ok(fs, dir) == old_state);
  }
  SECTION("the disk fills up while writing the temp file (torn write)") {
    fs.fail_writes_after(100);
    CHECK_FALSE(save_consumer_state(fs, dir, new_state).is_ok());
    fs.clear_faults();
    fs.crash();
    CHECK(load_ok(fs, dir) == old_state);
  }
  SECTION("the temp file's fsync fails") {
    fs.fail_next_sync();
    CHECK_FALSE(save_consumer_state(fs, dir, new_state).is_ok());
    fs.clear_faults();
    fs.crash();
    CHECK(load_ok(fs, dir) == old_state);
  }
  SECTION("power loss with part of the temp file written") {
    std::mt19937_64 rng(9);
    NoRenameFileSystem dying(&fs);
    (void)save_consumer_state(dying, dir, new_state);
    fs.crash(&rng);
    CHECK(load_ok(fs, dir) == old_state);
  }
  // Whatever temp file was left behind does not stop the next save.
  REQUIRE(save_consumer_state(fs, dir, new_state).is_ok());
  CHECK(load_ok(fs, dir) == new_state);
}
