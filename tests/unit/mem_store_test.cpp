// The Store contract (spec/semantics.md ), run against both MemStore and
// FileStore so the two cannot drift apart. FileStore-only behaviour is in file_store_test.cpp.

#include "server/stream/mem_store.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "server/stream/file_store.h"

using namespace tern::server;

namespace {

constexpr int64_t kSec = 1'000'000'000;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/tern_store_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

struct MemFactory {
  static constexpr const char* kName = "mem";
  static constexpr MsgSizeFn msg_size = mem_store_msg_size;
  std::unique_ptr<Store> make(const StoreLimits& limits) { return std::make_unique<MemStore>(limits); }
};

struct FileFactory {
  static constexpr const char* kName = "file";
  static constexpr MsgSizeFn msg_size = store_msg_size;
  TempDir dir;
  int n = 0;
  std::unique_ptr<Store> make(const StoreLimits& limits) {
    FileStoreConfig cfg;
    cfg.dir = dir.path + "/s" + std::to_string(n++);
    cfg.limits = limits;
    cfg.block_size = 512;  // tiny blocks: every test crosses block boundaries
    auto fs = FileStore::open(cfg);
    REQUIRE(fs.is_ok());
    return std::move(*fs);
  }
};

uint64_t put(Store& s, std::string_view subject, std::string_view payload = "x", int64_t ts = 1) {
  auto r = s.store_msg(subject, "", payload, ts);
  REQUIRE(r.is_ok());
  return *r;
}

}  // namespace

TEMPLATE_TEST_CASE("store: append and load", "[store]", MemFactory, FileFactory) {
  TestType f;
  auto s = f.make({});
  CHECK(s->state().first_seq == 0);
  CHECK(s->state().last_seq == 0);
  auto seq = s->store_msg("orders.new", "NATS/1.0\r\nA: b\r\n\r\n", "hello", 42);
  REQUIRE(seq.is_ok());
  CHECK(*seq == 1);
  CHECK(put(*s, "orders.old", "world", 43) == 2);
  auto m = s->load(1);
  REQUIRE(m.is_ok());
  CHECK(m->seq == 1);
  CHECK(m->ts == 42);
  CHECK(m->subject == "orders.new");
  CHECK(m->headers == "NATS/1.0\r\nA: b\r\n\r\n");
  CHECK(m->payload == "hello");
  CHECK(store_errc(s->load(3).status()) == StoreErrc::kNotFound);
  CHECK(store_errc(s->load(0).status()) == StoreErrc::kNotFound);
  auto st = s->state(true);
  CHECK(st.msgs == 2);
  CHECK(st.first_seq == 1);
  CHECK(st.last_seq == 2);
  CHECK(st.first_ts == 42);
  CHECK(st.last_ts == 43);
  CHECK(st.bytes == TestType::msg_size(10, 18, 5) + TestType::msg_size(10, 0, 5));
  CHECK(st.subjects == std::map<std::string, uint64_t>{{"orders.new", 1}, {"orders.old", 1}});
}

TEST_CASE("store: each store counts bytes as the nats store of its kind", "[store]") {
  // nats' fileStoreMsgSize: 22 + subject + [4 + headers] + payload + 8.
  CHECK(store_msg_size(3, 0, 5) == 38);
  CHECK(store_msg_size(3, 10, 5) == 52);
  // nats' memStoreMsgSize: subject + headers + payload + 16.
  CHECK(mem_store_msg_size(3, 0, 5) == 24);
  CHECK(mem_store_msg_size(3, 10, 5) == 34);
  MemStore mem;
  REQUIRE(mem.store_msg("abc", "NATS/1.0\r\n\r\n", "hello", 1).is_ok());
  REQUIRE(mem.store_msg("abc", "", "hello", 2).is_ok());
  CHECK(mem.state().bytes == (3 + 12 + 5 + 16) + (3 + 5 + 16));
  // The rule is the store's: a MemStore built with the file rule counts like a FileStore.
  MemStore as_file({}, store_msg_size);
  REQUIRE(as_file.store_msg("abc", "", "hello", 1).is_ok());
  CHECK(as_file.state().bytes == 38);
}

TEMPLATE_TEST_CASE("store: many messages and empty payloads", "[store]", MemFactory, FileFactory) {
  TestType f;
  auto s = f.make({});
  for (int i = 1; i <= 200; ++i) put(*s, "a." + std::to_string(i % 7), std::string(static_cast<size_t>(i % 3), 'p'), i);
  for (uint64_t i = 1; i <= 200; ++i) {
    auto m = s->load(i);
    REQUIRE(m.is_ok());
    CHECK(m->payload.size() == i % 3);
    CHECK(m->ts == static_cast<int64_t>(i));
  }
  CHECK(s->state().msgs == 200);
  CHECK(s->state().num_subjects == 7);
}

TEMPLATE_TEST_CASE("store: load_last and load_next with filters", "[store]", MemFactory, FileFactory) {
  TestType f;
  auto s = f.make({});
  put(*s, "a.1");  // 1
  put(*s, "b.1");  // 2
  put(*s, "a.2");  // 3
  put(*s, "a.1");  // 4
  put(*s, "c");    // 5
  CHECK(s->load_last("a.1")->seq == 4);
  CHECK(s->load_last("a.*")->seq == 4);
  CHECK(s->load_last("b.>")->seq == 2);
  CHECK(s->load_last("")->seq == 5);
  CHECK(store_errc(s->load_last("zzz").status()) == StoreErrc::kNotFound);
  CHECK(s->load_next("a.*", 2)->seq == 3);
  CHECK(s->load_next("a.1", 2)->seq == 4);
  CHECK(s->load_next(">", 5)->seq == 5);
  CHECK(s->load_next("", 0)->seq == 1);
  CHECK(store_errc(s->load_next("b.*", 3).status()) == StoreErrc::kNotFound);
  CHECK(s->num_pending("a.*", 1) == 3);
  CHECK(s->num_pending("", 3) == 3);
  CHECK(s->subjects_state("a.*") == std::map<std::string, uint64_t>{{"a.1", 2}, {"a.2", 1}});
}

TEMPLATE_TEST_CASE("store: max_msgs discard old and new", "[store]", MemFactory, FileFactory) {
  TestType f;
  StoreLimits old_limits;
  old_limits.max_msgs = 3;
  auto s = f.make(old_limits);
  for (int i = 0; i < 5; ++i) put(*s, "x");
  auto st = s->state();
  CHECK(st.msgs == 3);
  CHECK(st.first_seq == 3);
  CHECK(st.last_seq == 5);

  StoreLimits new_limits;
  new_limits.max_msgs = 3;
  new_limits.discard = DiscardPolicy::kNew;
  auto n = f.make(new_limits);
  for (int i = 0; i < 3; ++i) put(*n, "x");
  auto r = n->store_msg("x", "", "y", 1);
  REQUIRE_FALSE(r.is_ok());
  CHECK(store_errc(r.status()) == StoreErrc::kMaxMsgs);
  CHECK(r.status().message() == "maximum messages exceeded");
  CHECK(is_limit_rejection(store_errc(r.status())));
  CHECK(n->state().last_seq == 3);  // no sequence consumed
  REQUIRE(n->remove(1).is_ok());
  CHECK(put(*n, "x") == 4);
}

TEMPLATE_TEST_CASE("store: max_bytes discard old and new", "[store]", MemFactory, FileFactory) {
  TestType f;
  const uint64_t one = TestType::msg_size(1, 0, 10);  // 41 (file) or 27 (mem)
  StoreLimits limits;
  limits.max_bytes = static_cast<int64_t>(3 * one);
  auto s = f.make(limits);
  for (int i = 0; i < 5; ++i) put(*s, "x", std::string(10, 'p'));
  CHECK(s->state().msgs == 3);
  CHECK(s->state().bytes == 3 * one);
  CHECK(s->state().first_seq == 3);

  limits.discard = DiscardPolicy::kNew;
  limits.max_bytes = 100;
  auto n = f.make(limits);
  put(*n, "x", std::string(10, 'p'));
  put(*n, "x", std::string(10, 'p'));
  REQUIRE(n->state().bytes == 2 * one);
  // bytes + len(hdr) + len(payload) >= max_bytes is refused (file: 82 + 18 >= 100).
  const size_t refused = static_cast<size_t>(100 - 2 * one);
  auto r = n->store_msg("x", "", std::string(refused, 'p'), 1);
  CHECK(store_errc(r.status()) == StoreErrc::kMaxBytes);
  CHECK(n->store_msg("x", "", std::string(refused - 1, 'p'), 1).is_ok());  // just below
  // Taken, and then over max_bytes, so the oldest goes (as in nats).
  CHECK(n->state().msgs == 2);
  CHECK(n->state().first_seq == 2);
  CHECK(n->state().bytes == one + TestType::msg_size(1, 0, refused - 1));
}

TEMPLATE_TEST_CASE("store: max_msgs_per_subject keeps the newest per subject", "[store]", MemFactory, FileFactory) {
  TestType f;
  StoreLimits limits;
  limits.max_msgs_per_subject = 2;
  auto s = f.make(limits);
  put(*s, "kv.a", "1");
  put(*s, "kv.b", "1");
  put(*s, "kv.a", "2");
  put(*s, "kv.a", "3");  // removes seq 1
  put(*s, "kv.b", "2");
  put(*s, "kv.b", "3");  // removes seq 2
  auto st = s->state(true);
  CHECK(st.msgs == 4);
  CHECK(st.first_seq == 3);
  CHECK(st.subjects == std::map<std::string, uint64_t>{{"kv.a", 2}, {"kv.b", 2}});
  CHECK(s->load_last("kv.a")->payload == "3");

  // Discard new still replaces per subject, and max_msgs lets the replacement in.
  limits.discard = DiscardPolicy::kNew;
  limits.max_msgs = 2;
  limits.max_msgs_per_subject = 1;
  auto n = f.make(limits);
  put(*n, "kv.a", "1");
  put(*n, "kv.b", "1");
  CHECK(n->store_msg("kv.a", "", "2", 1).is_ok());
  CHECK(store_errc(n->store_msg("kv.c", "", "1", 1).status()) == StoreErrc::kMaxMsgs);
  CHECK(n->state().msgs == 2);

  // discard_new_per_subject refuses instead.
  limits.discard_new_per_subject = true;
  limits.max_msgs = 0;
  auto p = f.make(limits);
  put(*p, "kv.a", "1");
  CHECK(store_errc(p->store_msg("kv.a", "", "2", 1).status()) == StoreErrc::kMaxMsgsPerSubject);
  CHECK(p->load_last("kv.a")->payload == "1");
}

TEMPLATE_TEST_CASE("store: max_msg_size and header limit", "[store]", MemFactory, FileFactory) {
  TestType f;
  StoreLimits limits;
  limits.max_msg_size = 10;
  auto s = f.make(limits);
  CHECK(s->store_msg("x", "NATS/1.0\r\n", "", 1).is_ok());  // exactly 10
  CHECK(store_errc(s->store_msg("x", "", std::string(11, 'p'), 1).status()) == StoreErrc::kMsgTooLarge);
  auto u = f.make({});
  CHECK(store_errc(u->store_msg("x", std::string(65536, 'h'), "", 1).status()) == StoreErrc::kHeadersTooLarge);
  CHECK(store_errc(u->store_msg("", "", "", 1).status()) == StoreErrc::kInvalidArgument);
  CHECK(u->state().last_seq == 0);
}

TEMPLATE_TEST_CASE("store: max_age with an injected clock", "[store]", MemFactory, FileFactory) {
  TestType f;
  StoreLimits limits;
  limits.max_age_ns = 10 * kSec;
  auto s = f.make(limits);
  put(*s, "x", "a", 100 * kSec);
  put(*s, "x", "b", 105 * kSec);
  put(*s, "x", "c", 109 * kSec);
  CHECK(s->state().msgs == 3);
  CHECK(*s->expire(109 * kSec) == 0);
  CHECK(*s->expire(110 * kSec) == 1);  // now - ts >= max_age
  CHECK(s->state().first_seq == 2);
  put(*s, "x", "d", 116 * kSec);  // storing also expires, relative to the new message's time
  CHECK(s->state().first_seq == 3);
  CHECK(*s->expire(1000 * kSec) == 2);
  auto st = s->state();
  CHECK(st.msgs == 0);
  CHECK(st.first_seq == 5);
  CHECK(st.last_seq == 4);
}

TEMPLATE_TEST_CASE("store: remove, erase and gaps", "[store]", MemFactory, FileFactory) {
  TestType f;
  auto s = f.make({});
  for (int i = 0; i < 10; ++i) put(*s, "x", std::to_string(i));
  CHECK(*s->remove(5) == true);
  CHECK(*s->remove(5) == false);
  CHECK(*s->erase(6) == true);
  CHECK(*s->remove(99) == false);
  auto st = s->state();
  CHECK(st.msgs == 8);
  CHECK(st.num_deleted == 2);
  CHECK(store_errc(s->load(5).status()) == StoreErrc::kNotFound);
  CHECK(s->load_next("", 5)->seq == 7);
  CHECK(*s->remove(1) == true);
  CHECK(s->state().first_seq == 2);
  CHECK(s->state().num_deleted == 2);
  CHECK(*s->remove(10) == true);
  CHECK(s->state().last_seq == 10);  // last_seq never decreases
  CHECK(put(*s, "x") == 11);
}

TEMPLATE_TEST_CASE("store: purge variants", "[store]", MemFactory, FileFactory) {
  TestType f;
  auto fill = [&](Store& s) {
    for (int i = 0; i < 4; ++i) {
      put(s, "a.x");
      put(s, "b.y");
    }
  };
  SECTION("purge all") {
    auto s = f.make({});
    fill(*s);
    CHECK(*s->purge() == 8);
    auto st = s->state();
    CHECK(st.msgs == 0);
    CHECK(st.bytes == 0);
    CHECK(st.first_seq == 9);
    CHECK(st.last_seq == 8);
    CHECK(put(*s, "a.x") == 9);
  }
  SECTION("by subject") {
    auto s = f.make({});
    fill(*s);
    CHECK(*s->purge_ex("a.*", 0, 0) == 4);
    CHECK(s->state().msgs == 4);
    CHECK(s->state().first_seq == 2);
    CHECK(s->subjects_state("").count("a.x") == 0);
  }
  SECTION("by subject up to seq") {
    auto s = f.make({});
    fill(*s);
    CHECK(*s->purge_ex("b.y", 6, 0) == 2);  // b.y is 2, 4, 6, 8: seq < 6 -> 2, 4
    CHECK(s->state().msgs == 6);
  }
  SECTION("keep") {
    auto s = f.make({});
    fill(*s);
    CHECK(*s->purge_ex("a.x", 0, 1) == 3);
    CHECK(s->subjects_state("a.x").at("a.x") == 1);
    CHECK(s->load_last("a.x")->seq == 7);
    CHECK(*s->purge_ex("", 0, 2) == 3);
    CHECK(s->state().first_seq == 7);
  }
  SECTION("compact and seq without filter") {
    auto s = f.make({});
    fill(*s);
    CHECK(*s->compact(4) == 3);
    CHECK(s->state().first_seq == 4);
    CHECK(*s->purge_ex("", 6, 0) == 2);
    CHECK(s->state().first_seq == 6);
    CHECK(*s->compact(20) == 3);  // past the end: the stream restarts at 20
    CHECK(s->state().first_seq == 20);
    CHECK(s->state().last_seq == 19);
    CHECK(put(*s, "a.x") == 20);
  }
  SECTION("seq and keep together are refused") {
    auto s = f.make({});
    fill(*s);
    CHECK(store_errc(s->purge_ex("a.x", 3, 1).status()) == StoreErrc::kInvalidArgument);
  }
}

TEMPLATE_TEST_CASE("store: skip_msg and update_limits", "[store]", MemFactory, FileFactory) {
  TestType f;
  auto s = f.make({});
  put(*s, "x");
  CHECK(*s->skip_msg() == 2);
  CHECK(put(*s, "x") == 3);
  CHECK(s->state().num_deleted == 1);
  for (int i = 0; i < 5; ++i) put(*s, i % 2 ? "a" : "b");
  StoreLimits limits;
  limits.max_msgs_per_subject = 1;
  REQUIRE(s->update_limits(limits).is_ok());  // enforced at once
  CHECK(s->state().msgs == 3);                // x, a, b
  limits.max_msgs = 1;
  REQUIRE(s->update_limits(limits).is_ok());
  CHECK(s->state().msgs == 1);
  CHECK(s->state().first_seq == 8);
}
