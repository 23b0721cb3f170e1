// Publish and subscribe: exact payloads, headers, wildcards, queue groups, sync
// subscriptions, unsubscribe and auto-unsubscribe, pending limits, many threads at once.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <thread>

#include "tests/client/client_test_util.h"

using namespace std::chrono_literals;
using tern::error_code;
using tern::ErrorCode;
using tern::Msg;
using tern::test::Inbox;
using tern::test::ServerProcess;

TEST_CASE("payloads arrive byte for byte: empty, binary, CRLF inside, large", "[client][pubsub]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  auto sub = conn->subscribe_sync("data");
  REQUIRE(sub.is_ok());
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  std::string large(conn->server_info().max_payload, 'x');
  large[0] = 'a';
  large.back() = 'z';
  std::vector<std::string> payloads{"", "hello", std::string("a\r\nPUB x 1\r\n\0b", 15), binary, large};
  for (const auto& p : payloads) REQUIRE(conn->publish("data", p).is_ok());
  for (const auto& p : payloads) {
    auto m = sub->next(2s);
    REQUIRE(m.is_ok());
    CHECK(m->subject == "data");
    CHECK(m->reply.empty());
    CHECK(m->data.size() == p.size());
    CHECK(m->data == p);
    CHECK(!m->has_headers);
  }
  // One byte over max_payload is refused on the client side.
  auto too_big = conn->publish("data", std::string(conn->server_info().max_payload + 1, 'x'));
  CHECK(error_code(too_big) == ErrorCode::MaxPayload);
}

TEST_CASE("reply subjects are delivered", "[client][pubsub]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  auto sub = conn->subscribe_sync("q");
  REQUIRE(sub.is_ok());
  REQUIRE(conn->publish("q", "my.reply", "x").is_ok());
  auto m = sub->next(2s);
  REQUIRE(m.is_ok());
  CHECK(m->reply == "my.reply");
}

TEST_CASE("headers round trip: multi-valued, case kept, order kept", "[client][pubsub][headers]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  auto sub = conn->subscribe_sync("h.>");
  REQUIRE(sub.is_ok());
  Msg out("h.1", "payload");
  out.headers.add("X-Trace", "abc");
  out.headers.add("x-trace", "lower");
  out.headers.add("Multi", "one");
  out.headers.add("Multi", "two");
  out.headers.add("Empty", "");
  REQUIRE(conn->publish(out).is_ok());
  // A header block with no fields at all.
  Msg bare("h.2", "");
  bare.has_headers = true;
  REQUIRE(conn->publish(bare).is_ok());

  auto m = sub->next(2s);
  REQUIRE(m.is_ok());
  CHECK(m->has_headers);
  CHECK(m->data == "payload");
  CHECK(m->headers == out.headers);
  REQUIRE(m->headers.get("X-Trace"));
  CHECK(*m->headers.get("X-Trace") == "abc");
  CHECK(*m->headers.get("x-trace") == "lower");
  CHECK(m->headers.values("Multi") == std::vector<std::string>{"one", "two"});
  CHECK(m->headers.get("MULTI") == nullptr);

  auto b = sub->next(2s);
  REQUIRE(b.is_ok());
  CHECK(b->has_headers);
  CHECK(b->headers.empty());
  CHECK(b->data.empty());
  CHECK(!b->is_status());

  Msg bad("h.3", "");
  bad.headers.add("Bad Key", "v");
  CHECK(error_code(conn->publish(bad)) == ErrorCode::InvalidArgument);
  Msg bad2("h.3", "");
  bad2.headers.add("K", "line\r\nbreak");
  CHECK(error_code(conn->publish(bad2)) == ErrorCode::InvalidArgument);
}

TEST_CASE("Headers set/remove", "[client][headers]") {
  tern::Headers h;
  h.add("A", "1");
  h.add("B", "2");
  h.add("A", "3");
  h.set("A", "4");
  CHECK(h.values("A") == std::vector<std::string>{"4"});
  CHECK(h.fields().back().first == "A");
  CHECK(h.remove("B") == 1);
  CHECK(h.get("B") == nullptr);
}

TEST_CASE("wildcards: * matches one token, > the rest, the MSG carries the published subject", "[client][pubsub]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  Inbox star, gt, all;
  auto s1 = conn->subscribe("a.*.c", star.handler());
  auto s2 = conn->subscribe("a.>", gt.handler());
  auto s3 = conn->subscribe(">", all.handler());
  REQUIRE((s1.is_ok() && s2.is_ok() && s3.is_ok()));
  for (const char* subj : {"a.b.c", "a.b", "a.b.c.d", "x"}) REQUIRE(conn->publish(subj, subj).is_ok());
  REQUIRE(conn->flush(2s).is_ok());
  REQUIRE(all.wait_for(4));
  REQUIRE(gt.wait_for(3));
  REQUIRE(star.wait_for(1));
  REQUIRE(conn->flush(2s).is_ok());
  std::lock_guard l1(star.signal.mutex());
  CHECK(star.msgs.size() == 1);
  CHECK(star.msgs[0].subject == "a.b.c");
  std::lock_guard l2(gt.signal.mutex());
  std::set<std::string> got;
  for (auto& m : gt.msgs) got.insert(m.subject);
  CHECK(got == std::set<std::string>{"a.b.c", "a.b", "a.b.c.d"});

  for (const char* bad : {"", "a..b", "a.>.b", ".a", "a b"}) {
    INFO(bad);
    CHECK(error_code(conn->subscribe_sync(bad).status()) == ErrorCode::InvalidArgument);
  }
  CHECK(error_code(conn->publish("", "x")) == ErrorCode::InvalidArgument);
  CHECK(error_code(conn->publish("a b", "x")) == ErrorCode::InvalidArgument);
}

TEST_CASE("queue groups: each message goes to one member per group", "[client][pubsub][queue]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto c1 = tern::test::connect_or_fail(server.url());
  auto c2 = tern::test::connect_or_fail(server.url());
  auto pub = tern::test::connect_or_fail(server.url());
  Inbox w1, w2, other, plain;
  auto q1 = c1->queue_subscribe("jobs", "workers", w1.handler());
  auto q2 = c2->queue_subscribe("jobs", "workers", w2.handler());
  auto q3 = c2->queue_subscribe("jobs", "auditors", other.handler());
  auto p = c1->subscribe("jobs", plain.handler());
  REQUIRE((q1.is_ok() && q2.is_ok() && q3.is_ok() && p.is_ok()));
  REQUIRE(c1->flush(2s).is_ok());
  REQUIRE(c2->flush(2s).is_ok());
  const size_t n = 200;
  for (size_t i = 0; i < n; ++i) REQUIRE(pub->publish("jobs", std::to_string(i)).is_ok());
  REQUIRE(pub->flush(2s).is_ok());
  REQUIRE(other.wait_for(n));
  REQUIRE(plain.wait_for(n));
  // Both connections have everything once their own PING comes back after the publisher's flush.
  REQUIRE(c1->flush(2s).is_ok());
  REQUIRE(c2->flush(2s).is_ok());
  auto total = [&] { return w1.size() + w2.size(); };
  REQUIRE(tern::test::eventually([&] { return total() >= n; }));
  CHECK(total() == n);
  CHECK(w1.size() > 0);
  CHECK(w2.size() > 0);
  CHECK(error_code(c1->queue_subscribe("jobs", "bad group", w1.handler()).status()) == ErrorCode::InvalidArgument);
}

TEST_CASE("sync subscription: next() times out, then gets messages in order", "[client][pubsub]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  auto sub = conn->subscribe_sync("s");
  REQUIRE(sub.is_ok());
  auto none = sub->next(50ms);
  REQUIRE(!none.is_ok());
  CHECK(error_code(none.status()) == ErrorCode::Timeout);
  for (int i = 0; i < 100; ++i) REQUIRE(conn->publish("s", std::to_string(i)).is_ok());
  for (int i = 0; i < 100; ++i) {
    auto m = sub->next(2s);
    REQUIRE(m.is_ok());
    CHECK(m->data == std::to_string(i));
  }
  CHECK(sub->delivered() == 100);
  CHECK(sub->pending_msgs() == 0);
}

TEST_CASE("unsubscribe stops delivery, a second unsubscribe is Closed", "[client][pubsub]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  auto sub = conn->subscribe_sync("u");
  REQUIRE(sub.is_ok());
  REQUIRE(conn->publish("u", "1").is_ok());
  REQUIRE(sub->next(2s).is_ok());
  REQUIRE(sub->unsubscribe().is_ok());
  CHECK(!sub->is_valid());
  CHECK(error_code(sub->unsubscribe()) == ErrorCode::Closed);
  REQUIRE(conn->publish("u", "2").is_ok());
  REQUIRE(conn->flush(2s).is_ok());
  auto m = sub->next(50ms);
  REQUIRE(!m.is_ok());
  CHECK(error_code(m.status()) == ErrorCode::Closed);
  tern::Subscription empty;
  CHECK(error_code(empty.unsubscribe()) == ErrorCode::Closed);
}

TEST_CASE("auto_unsubscribe delivers exactly n messages", "[client][pubsub]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  SECTION("sync") {
    auto sub = conn->subscribe_sync("au");
    REQUIRE(sub.is_ok());
    REQUIRE(sub->auto_unsubscribe(3).is_ok());
    for (int i = 0; i < 10; ++i) REQUIRE(conn->publish("au", std::to_string(i)).is_ok());
    REQUIRE(conn->flush(2s).is_ok());
    for (int i = 0; i < 3; ++i) {
      auto m = sub->next(2s);
      REQUIRE(m.is_ok());
      CHECK(m->data == std::to_string(i));
    }
    auto end = sub->next(100ms);
    REQUIRE(!end.is_ok());
    CHECK(error_code(end.status()) == ErrorCode::Closed);
    CHECK(sub->delivered() == 3);
  }
  SECTION("async, limit set after some were delivered") {
    Inbox in;
    auto sub = conn->subscribe("au", in.handler());
    REQUIRE(sub.is_ok());
    REQUIRE(conn->publish("au", "a").is_ok());
    REQUIRE(in.wait_for(1));
    REQUIRE(sub->auto_unsubscribe(3).is_ok());
    for (int i = 0; i < 10; ++i) REQUIRE(conn->publish("au", std::to_string(i)).is_ok());
    REQUIRE(conn->flush(2s).is_ok());
    REQUIRE(in.wait_for(3));
    REQUIRE(tern::test::eventually([&] { return !sub->is_valid(); }));
    CHECK(in.size() == 3);
    CHECK(!sub->is_valid());
  }
}

TEST_CASE("a slow consumer drops beyond its pending limit and reports it once", "[client][pubsub][slow]") {
  ServerProcess server;
  REQUIRE(server.start());
  tern::test::Signal sig;
  std::vector<tern::Status> errors;
  auto opts = tern::test::fast_options(server.url());
  opts.error = [&](tern::Connection&, const tern::Status& st) { sig.update([&] { errors.push_back(st); }); };
  auto conn = tern::test::connect_or_fail(server.url(), opts);

  // The callback blocks until released, so everything else piles up.
  std::atomic<bool> release{false};
  tern::test::Signal gate;
  std::atomic<int> seen{0};
  auto sub = conn->subscribe("slow", [&](Msg&) {
    gate.wait([&] { return release.load(); }, 5s);
    ++seen;
  });
  REQUIRE(sub.is_ok());
  REQUIRE(sub->set_pending_limits(5, 1 << 20).is_ok());
  for (int i = 0; i < 20; ++i) REQUIRE(conn->publish("slow", "m").is_ok());
  REQUIRE(conn->flush(2s).is_ok());
  REQUIRE(sig.wait([&] { return !errors.empty(); }));
  gate.update([&] { release = true; });
  REQUIRE(tern::test::eventually([&] { return sub->pending_msgs() == 0; }));
  REQUIRE(conn->flush(2s).is_ok());
  {
    std::lock_guard lock(sig.mutex());
    REQUIRE(errors.size() == 1);
    CHECK(error_code(errors[0]) == ErrorCode::SlowConsumer);
    CHECK(errors[0].message().find("'slow'") != std::string::npos);
  }
  CHECK(sub->dropped() == 15);
  CHECK(seen.load() == 5);
  CHECK(sub->delivered() == 20);
}

TEST_CASE("many threads publish, subscribe and flush at once", "[client][pubsub][threads]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  constexpr int kThreads = 4, kPerThread = 500;
  Inbox in;
  auto sub = conn->subscribe("mt.>", in.handler());
  REQUIRE(sub.is_ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto own = conn->subscribe_sync("mt.own." + std::to_string(t));
      if (!own) ++failures;
      for (int i = 0; i < kPerThread; ++i) {
        if (!conn->publish("mt." + std::to_string(t), std::to_string(i))) ++failures;
        if (i % 100 == 0 && !conn->flush(2s)) ++failures;
      }
      if (!conn->publish("mt.own." + std::to_string(t), "self")) ++failures;
      auto m = own->next(2s);
      if (!m || m->data != "self") ++failures;
      (void)conn->new_inbox();
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
  REQUIRE(in.wait_for(kThreads * kPerThread + kThreads));
  // Per publisher thread, order is kept.
  std::lock_guard lock(in.signal.mutex());
  std::map<std::string, int> last;
  bool ordered = true;
  for (auto& m : in.msgs) {
    if (m.subject.starts_with("mt.own.")) continue;
    int v = std::stoi(m.data);
    auto it = last.find(m.subject);
    if (it != last.end() && v != it->second + 1) ordered = false;
    last[m.subject] = v;
  }
  CHECK(ordered);
  CHECK(last.size() == kThreads);
}

TEST_CASE("inboxes are unique", "[client][pubsub]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string in = conn->new_inbox();
    CHECK(in.size() == 7 + 22);
    CHECK(in.starts_with("_INBOX."));
    seen.insert(in);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("echo off: our own publishes are not delivered to us", "[client][pubsub]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto opts = tern::test::fast_options(server.url());
  opts.echo = false;
  auto quiet = tern::test::connect_or_fail(server.url(), opts);
  auto other = tern::test::connect_or_fail(server.url());
  auto sub = quiet->subscribe_sync("e");
  REQUIRE(sub.is_ok());
  REQUIRE(quiet->flush(2s).is_ok());
  REQUIRE(quiet->publish("e", "mine").is_ok());
  REQUIRE(other->publish("e", "theirs").is_ok());
  auto m = sub->next(2s);
  REQUIRE(m.is_ok());
  CHECK(m->data == "theirs");
}
