// Property test: random operation sequences applied to a MemStore and a FileStore give identical
// answers, with the FileStore reopened (after a sync, or after a process crash that keeps written
// bytes) at random points. Seeds are fixed so a failure reproduces.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "server/stream/file_store.h"
#include "server/stream/mem_store.h"

using namespace tern::server;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/tern_prop_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

const char* const kSubjects[] = {"a.x", "a.y", "b.x", "b.y.z", "c"};
const char* const kFilters[] = {"", ">", "a.*", "*.x", "b.>", "c", "a.x", "nope"};

void compare_states(Store& mem, Store& file) {
  auto a = mem.state(true), b = file.state(true);
  REQUIRE(a.msgs == b.msgs);
  REQUIRE(a.bytes == b.bytes);
  REQUIRE(a.first_seq == b.first_seq);
  REQUIRE(a.last_seq == b.last_seq);
  REQUIRE(a.first_ts == b.first_ts);
  REQUIRE(a.last_ts == b.last_ts);
  REQUIRE(a.num_deleted == b.num_deleted);
  REQUIRE(a.subjects == b.subjects);
}

void compare_msg(const tern::Result<StoredMsg>& a, const tern::Result<StoredMsg>& b) {
  REQUIRE(a.is_ok() == b.is_ok());
  if (!a.is_ok()) return;
  CHECK(a.value().seq == b.value().seq);
  CHECK(a.value().ts == b.value().ts);
  CHECK(a.value().subject == b.value().subject);
  CHECK(a.value().headers == b.value().headers);
  CHECK(a.value().payload == b.value().payload);
}

StoreLimits random_limits(std::mt19937_64& rng) {
  StoreLimits l;
  switch (rng() % 6) {
    case 0:
      break;
    case 1:
      l.max_msgs = 20 + static_cast<int64_t>(rng() % 30);
      break;
    case 2:
      l.max_bytes = 2000 + static_cast<int64_t>(rng() % 3000);
      break;
    case 3:
      l.max_msgs_per_subject = 1 + static_cast<int64_t>(rng() % 4);
      break;
    case 4:
      l.max_msgs = 30;
      l.max_msgs_per_subject = 3;
      l.discard = DiscardPolicy::kNew;
      break;
    case 5:
      l.max_age_ns = 50;
      break;
  }
  return l;
}

}  // namespace

TEST_CASE("store property: MemStore and FileStore agree under random operations", "[store]") {
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    TempDir tmp;
    std::mt19937_64 rng(seed);
    StoreLimits limits = random_limits(rng);
    FileStoreConfig cfg;
    cfg.dir = tmp.path + "/s";
    cfg.limits = limits;
    cfg.block_size = 300 + rng() % 2000;
    cfg.frame_size = 256;
    cfg.compression = static_cast<Compression>(rng() % 3);
    cfg.maintenance_inline = true;
    cfg.prezero = rng() % 2 == 0;
    MemStore mem(limits, store_msg_size);  // the file rule, so bytes and max_bytes evictions compare exactly
    auto opened = FileStore::open(cfg);
    REQUIRE(opened.is_ok());
    std::unique_ptr<FileStore> file = std::move(*opened);
    int64_t now = 0;
    INFO("seed " << seed << " compression " << compression_name(cfg.compression) << " block " << cfg.block_size);
    for (int step = 0; step < 450; ++step) {
      uint64_t last = mem.state().last_seq;
      uint64_t pick = last ? 1 + rng() % last : 1;
      std::string_view filter = kFilters[rng() % std::size(kFilters)];
      unsigned op = static_cast<unsigned>(rng() % 100);
      INFO("step " << step << " op " << op);
      if (op < 55) {
        now += static_cast<int64_t>(rng() % 5);
        std::string subject = kSubjects[rng() % std::size(kSubjects)];
        std::string headers = rng() % 4 == 0 ? "NATS/1.0\r\nX: " + std::to_string(step) + "\r\n\r\n" : "";
        std::string payload(rng() % 120, static_cast<char>('a' + step % 26));
        auto a = mem.store_msg(subject, headers, payload, now);
        auto b = file->store_msg(subject, headers, payload, now);
        REQUIRE(a.is_ok() == b.is_ok());
        if (a.is_ok()) {
          REQUIRE(*a == *b);
        } else {
          REQUIRE(store_errc(a.status()) == store_errc(b.status()));
        }
      } else if (op < 63) {
        REQUIRE(*mem.remove(pick) == *file->remove(pick));
      } else if (op < 65) {
        REQUIRE(*mem.erase(pick) == *file->erase(pick));
      } else if (op < 67) {
        uint64_t keep = rng() % 3;
        REQUIRE(*mem.purge_ex(filter, 0, keep) == *file->purge_ex(filter, 0, keep));
      } else if (op < 69) {
        REQUIRE(*mem.purge_ex(filter, pick, 0) == *file->purge_ex(filter, pick, 0));
      } else if (op < 70) {
        REQUIRE(*mem.purge() == *file->purge());
      } else if (op < 72) {
        uint64_t to = pick + rng() % 3;
        REQUIRE(*mem.compact(to) == *file->compact(to));
      } else if (op < 74) {
        REQUIRE(*mem.skip_msg() == *file->skip_msg());
      } else if (op < 77) {
        now += static_cast<int64_t>(rng() % 20);
        REQUIRE(*mem.expire(now) == *file->expire(now));
      } else if (op < 78) {
        StoreLimits l = random_limits(rng);
        REQUIRE(mem.update_limits(l).is_ok());
        REQUIRE(file->update_limits(l).is_ok());
      } else if (op < 88) {
        compare_msg(mem.load(pick), file->load(pick));
        compare_msg(mem.load_next(filter, pick), file->load_next(filter, pick));
        compare_msg(mem.load_last(filter), file->load_last(filter));
        REQUIRE(mem.num_pending(filter, pick) == file->num_pending(filter, pick));
      } else if (op < 92) {
        REQUIRE(file->sync().is_ok());
      } else if (op < 96) {
        REQUIRE(file->flush().is_ok());
      } else {
        // Reopen: after a sync, or as a process crash (the destructor only write()s).
        if (rng() % 2) REQUIRE(file->sync().is_ok());
        cfg.limits = mem.limits();
        file.reset();
        RecoveryReport report;
        auto r = FileStore::open(cfg, &report);
        REQUIRE(r.is_ok());
        file = std::move(*r);
        INFO(report.summary());
        REQUIRE(report.clean());
      }
      compare_states(mem, *file);
    }
    // Final full comparison.
    for (uint64_t q = 0; q <= mem.state().last_seq + 1; ++q) compare_msg(mem.load(q), file->load(q));
  }
}
