// Compat: core publish/subscribe as an application using the NATS C client (libnats) sees it.
//
// Every case starts its own server (tern-server or the reference nats-server, chosen by
// TERN_TEST_SERVER_KIND) and talks to it only through the libnats public API.
// nats_Close() is never called here: it tears the library down for the whole process.

#include <nats/nats.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/compat/libnats_support.h"
#include "tests/support/server_process.h"

using namespace tern::test::libnats;
using namespace std::chrono_literals;
using tern::test::ServerProcess;

namespace {

// Returns the status of a NextMsg that is expected NOT to yield a message (destroys one if it does).
natsStatus no_msg(natsSubscription* sub, int64_t timeout_ms = 100) {
  natsMsg* m = nullptr;
  natsStatus s = natsSubscription_NextMsg(&m, sub, timeout_ms);
  if (m != nullptr) {
    UNSCOPED_INFO("unexpected message on " << natsMsg_GetSubject(m) << ": "
                                           << std::string(natsMsg_GetData(m), natsMsg_GetDataLength(m)));
    natsMsg_Destroy(m);
  }
  return s;
}

// Messages the connection has received from the server (counted before any client-side filtering).
uint64_t in_msgs(natsConnection* nc) {
  natsStatistics* st = nullptr;
  REQUIRE(natsStatistics_Create(&st) == NATS_OK);
  Stats stats(st);
  REQUIRE(natsConnection_GetStats(nc, st) == NATS_OK);
  uint64_t in = 0, in_bytes = 0, out = 0, out_bytes = 0, reconnects = 0;
  REQUIRE(natsStatistics_GetCounts(st, &in, &in_bytes, &out, &out_bytes, &reconnects) == NATS_OK);
  return in;
}

// Collects messages delivered to an async subscription callback; thread-safe.
struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> subjects;
  std::vector<std::string> payloads;

  static void on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<Collector*>(closure);
    {
      std::lock_guard<std::mutex> lock(self->mu);
      self->subjects.emplace_back(natsMsg_GetSubject(msg));
      self->payloads.push_back(data_of(msg));
    }
    natsMsg_Destroy(msg);
    self->cv.notify_all();
  }

  bool wait_for(size_t n, std::chrono::milliseconds timeout = 2s) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return payloads.size() >= n; });
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return payloads.size();
  }
};

}  // namespace

TEST_CASE("libnats: ConnectTo succeeds and the connection reports CONNECTED", "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  CHECK(natsConnection_Status(nc.get()) == NATS_CONN_STATUS_CONNECTED);
  CHECK_FALSE(natsConnection_IsClosed(nc.get()));
  char url[256] = {};
  REQUIRE(natsConnection_GetConnectedUrl(nc.get(), url, sizeof url) == NATS_OK);
  CHECK(std::string(url) == server.url());
}

TEST_CASE("libnats: server info seen by the client has server id, 1 MiB max payload and a client id",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);

  char server_id[256] = {};
  REQUIRE(natsConnection_GetConnectedServerId(nc.get(), server_id, sizeof server_id) == NATS_OK);
  CHECK(std::string(server_id).size() > 0);

  CHECK(natsConnection_GetMaxPayload(nc.get()) == 1048576);

  uint64_t cid = 0;
  REQUIRE(natsConnection_GetClientID(nc.get(), &cid) == NATS_OK);
  CHECK(cid > 0);

  // A second connection gets a different client id.
  Conn nc2 = connect(server);
  uint64_t cid2 = 0;
  REQUIRE(natsConnection_GetClientID(nc2.get(), &cid2) == NATS_OK);
  CHECK(cid2 > 0);
  CHECK(cid2 != cid);

  int64_t rtt = -1;
  REQUIRE(natsConnection_GetRTT(nc.get(), &rtt) == NATS_OK);
  CHECK(rtt >= 0);
}

TEST_CASE("libnats: connect with options (name, no echo, no reconnect) succeeds and can publish",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Opts opts = options_for(server);
  REQUIRE(natsOptions_SetName(opts.get(), "tern-compat-test-client") == NATS_OK);
  REQUIRE(natsOptions_SetNoEcho(opts.get(), true) == NATS_OK);
  REQUIRE(natsOptions_SetAllowReconnect(opts.get(), false) == NATS_OK);
  Conn nc = connect_with(opts.get());
  CHECK(natsConnection_Status(nc.get()) == NATS_CONN_STATUS_CONNECTED);

  Conn other = connect(server);
  Sub sub = subscribe_sync(other.get(), "named.client");
  flush(other.get());
  publish(nc.get(), "named.client", "from named");
  flush(nc.get());
  Msg m = next_msg(sub.get());
  CHECK(data_of(m.get()) == "from named");
}

TEST_CASE("libnats: publish and SubscribeSync deliver exact payloads, including empty and binary",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn pub = connect(server);
  Conn subc = connect(server);
  Sub sub = subscribe_sync(subc.get(), "exact.payload");
  flush(subc.get());

  const std::vector<std::string> payloads = {
      "hello", "", std::string("bin\0ary\r\nMSG x 1 2\r\n\xff\x00", 22),
      std::string(4096, 'x'),  // bigger than the max control line, but payloads don't count
  };
  for (const auto& p : payloads) publish(pub.get(), "exact.payload", p);
  flush(pub.get());

  for (const auto& p : payloads) {
    Msg m = next_msg(sub.get());
    CHECK(std::string(natsMsg_GetSubject(m.get())) == "exact.payload");
    CHECK(natsMsg_GetReply(m.get()) == nullptr);
    CHECK(natsMsg_GetDataLength(m.get()) == static_cast<int>(p.size()));
    CHECK(data_of(m.get()) == p);
  }
  CHECK(no_msg(sub.get()) == NATS_TIMEOUT);
}

TEST_CASE("libnats: a published reply subject reaches the subscriber unchanged", "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  Sub sub = subscribe_sync(nc.get(), "with.reply");
  flush(nc.get());
  REQUIRE(natsConnection_PublishRequestString(nc.get(), "with.reply", "my.reply.subject", "body") == NATS_OK);
  Msg m = next_msg(sub.get());
  REQUIRE(natsMsg_GetReply(m.get()) != nullptr);
  CHECK(std::string(natsMsg_GetReply(m.get())) == "my.reply.subject");
  CHECK(data_of(m.get()) == "body");
}

TEST_CASE("libnats: async subscribe invokes the callback for each message in order", "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Collector got;
  Conn subc = connect(server);
  Conn pub = connect(server);
  Sub sub = subscribe_async(subc.get(), "async.cb", Collector::on_msg, &got);
  flush(subc.get());

  for (int i = 0; i < 20; ++i) publish(pub.get(), "async.cb", "m" + std::to_string(i));
  flush(pub.get());

  REQUIRE(got.wait_for(20));
  std::lock_guard<std::mutex> lock(got.mu);
  REQUIRE(got.payloads.size() == 20);
  for (int i = 0; i < 20; ++i) {
    CHECK(got.payloads[i] == "m" + std::to_string(i));
    CHECK(got.subjects[i] == "async.cb");
  }
}

TEST_CASE("libnats: '*' wildcard matches exactly one token and reports the published subject",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  Conn pub = connect(server);
  Sub mid = subscribe_sync(nc.get(), "wc.*.end");
  Sub tail = subscribe_sync(nc.get(), "wc.*");
  flush(nc.get());

  publish(pub.get(), "wc.a.end", "1");       // mid
  publish(pub.get(), "wc.b", "2");           // tail
  publish(pub.get(), "wc", "3");             // neither: '*' needs one token
  publish(pub.get(), "wc.a.b.end", "4");     // neither: '*' is one token only
  publish(pub.get(), "wc.x.y", "5");         // neither
  publish(pub.get(), "wc.a.end.more", "6");  // neither
  publish(pub.get(), "other.a.end", "7");    // neither
  flush(pub.get());

  Msg m1 = next_msg(mid.get());
  CHECK(std::string(natsMsg_GetSubject(m1.get())) == "wc.a.end");
  CHECK(data_of(m1.get()) == "1");
  Msg m2 = next_msg(tail.get());
  CHECK(std::string(natsMsg_GetSubject(m2.get())) == "wc.b");
  CHECK(data_of(m2.get()) == "2");
  flush(nc.get());
  CHECK(no_msg(mid.get(), 50) == NATS_TIMEOUT);
  CHECK(no_msg(tail.get(), 50) == NATS_TIMEOUT);
}

TEST_CASE("libnats: '>' wildcard matches one or more trailing tokens but not the prefix alone",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  Conn pub = connect(server);
  Sub gt = subscribe_sync(nc.get(), "gt.>");
  Sub all = subscribe_sync(nc.get(), ">");
  flush(nc.get());

  publish(pub.get(), "gt", "0");        // all only
  publish(pub.get(), "gt.a", "1");      // both
  publish(pub.get(), "gt.a.b.c", "2");  // both
  publish(pub.get(), "gtx.a", "3");     // all only
  flush(pub.get());

  std::vector<std::string> gt_subjects;
  for (int i = 0; i < 2; ++i) gt_subjects.emplace_back(natsMsg_GetSubject(next_msg(gt.get()).get()));
  CHECK(gt_subjects == std::vector<std::string>{"gt.a", "gt.a.b.c"});
  flush(nc.get());
  CHECK(no_msg(gt.get(), 50) == NATS_TIMEOUT);

  std::vector<std::string> all_subjects;
  for (int i = 0; i < 4; ++i) all_subjects.emplace_back(natsMsg_GetSubject(next_msg(all.get()).get()));
  CHECK(all_subjects == std::vector<std::string>{"gt", "gt.a", "gt.a.b.c", "gtx.a"});
  CHECK(no_msg(all.get(), 50) == NATS_TIMEOUT);
}

TEST_CASE("libnats: overlapping subscriptions on one connection each get their own copy", "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  Sub literal = subscribe_sync(nc.get(), "dup.x");
  Sub literal2 = subscribe_sync(nc.get(), "dup.x");
  Sub star = subscribe_sync(nc.get(), "dup.*");
  flush(nc.get());
  publish(nc.get(), "dup.x", "once");
  flush(nc.get());
  for (natsSubscription* s : {literal.get(), literal2.get(), star.get()}) {
    Msg m = next_msg(s);
    CHECK(data_of(m.get()) == "once");
    CHECK(no_msg(s, 20) == NATS_TIMEOUT);
  }
  CHECK(in_msgs(nc.get()) == 3);
}

TEST_CASE("libnats: queue group delivers each message to exactly one member and every member gets some",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  constexpr int kMessages = 300;
  Conn c1 = connect(server);
  Conn c2 = connect(server);
  Conn pub = connect(server);
  std::vector<Sub> members;
  for (natsConnection* c : {c1.get(), c2.get(), c2.get()}) {  // 3 members on 2 connections
    members.push_back(queue_subscribe_sync(c, "work.items", "workers"));
  }
  Sub plain = subscribe_sync(c1.get(), "work.items");  // not in the group: sees everything
  flush(c1.get());
  flush(c2.get());

  for (int i = 0; i < kMessages; ++i) publish(pub.get(), "work.items", std::to_string(i));
  flush(pub.get());
  flush(c1.get());
  flush(c2.get());

  std::vector<int> seen(kMessages, 0);
  std::vector<int> per_member;
  int total = 0;
  for (auto& member : members) {
    int pending = 0, bytes = 0;
    REQUIRE(natsSubscription_GetPending(member.get(), &pending, &bytes) == NATS_OK);
    per_member.push_back(pending);
    for (int k = 0; k < pending; ++k) {
      Msg m = next_msg(member.get());
      int idx = std::stoi(data_of(m.get()));
      REQUIRE(idx >= 0);
      REQUIRE(idx < kMessages);
      ++seen[idx];
      ++total;
    }
  }
  INFO("per member: " << per_member[0] << ", " << per_member[1] << ", " << per_member[2]);
  CHECK(total == kMessages);
  CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
  CHECK(std::all_of(per_member.begin(), per_member.end(), [](int n) { return n > 0; }));

  int plain_pending = 0, plain_bytes = 0;
  REQUIRE(natsSubscription_GetPending(plain.get(), &plain_pending, &plain_bytes) == NATS_OK);
  CHECK(plain_pending == kMessages);
}

TEST_CASE("libnats: two different queue groups on one subject each get every message once", "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  constexpr int kMessages = 50;
  Conn nc = connect(server);
  std::vector<Sub> a, b;
  for (int i = 0; i < 2; ++i) {
    a.push_back(queue_subscribe_sync(nc.get(), "groups.x", "A"));
    b.push_back(queue_subscribe_sync(nc.get(), "groups.x", "B"));
  }
  flush(nc.get());
  for (int i = 0; i < kMessages; ++i) publish(nc.get(), "groups.x", std::to_string(i));
  flush(nc.get());
  auto pending_sum = [](std::vector<Sub>& group) {
    int sum = 0;
    for (auto& s : group) {
      int msgs = 0, bytes = 0;
      REQUIRE(natsSubscription_GetPending(s.get(), &msgs, &bytes) == NATS_OK);
      sum += msgs;
    }
    return sum;
  };
  CHECK(pending_sum(a) == kMessages);
  CHECK(pending_sum(b) == kMessages);
}

TEST_CASE("libnats: after subscribe + FlushTimeout the subscription receives messages from another connection",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn subc = connect(server);
  Conn pub = connect(server);
  // Repeat: a race between SUB and another connection's PUB would show up as a lost message.
  for (int i = 0; i < 20; ++i) {
    std::string subject = "flush.ready." + std::to_string(i);
    Sub sub = subscribe_sync(subc.get(), subject.c_str());
    REQUIRE(natsConnection_FlushTimeout(subc.get(), 1000) == NATS_OK);
    publish(pub.get(), subject.c_str(), "x");
    REQUIRE(natsConnection_FlushTimeout(pub.get(), 1000) == NATS_OK);
    Msg m = next_msg(sub.get(), 1000);
    CHECK(data_of(m.get()) == "x");
  }
}

TEST_CASE("libnats: after the publisher's flush, a flush on the subscriber guarantees the message arrived",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn subc = connect(server);
  Conn pub = connect(server);
  Sub sub = subscribe_sync(subc.get(), "flush.order");
  flush(subc.get());
  for (int i = 0; i < 100; ++i) publish(pub.get(), "flush.order", "y");
  flush(pub.get());
  flush(subc.get());  // PONG is sent after every message queued to this client
  int pending = 0, bytes = 0;
  REQUIRE(natsSubscription_GetPending(sub.get(), &pending, &bytes) == NATS_OK);
  CHECK(pending == 100);
  CHECK(bytes == 100);
}

TEST_CASE("libnats: AutoUnsubscribe(3) delivers exactly 3 messages and the server stops sending",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn subc = connect(server);
  Conn pub = connect(server);
  Sub sub = subscribe_sync(subc.get(), "auto.unsub");
  REQUIRE(natsSubscription_AutoUnsubscribe(sub.get(), 3) == NATS_OK);
  flush(subc.get());

  for (int i = 0; i < 10; ++i) publish(pub.get(), "auto.unsub", std::to_string(i));
  flush(pub.get());
  flush(subc.get());

  for (int i = 0; i < 3; ++i) {
    Msg m = next_msg(sub.get());
    CHECK(data_of(m.get()) == std::to_string(i));
  }
  CHECK(no_msg(sub.get(), 50) == NATS_MAX_DELIVERED_MSGS);
  CHECK_FALSE(natsSubscription_IsValid(sub.get()));
  // The server, not just the client library, stopped after 3.
  CHECK(in_msgs(subc.get()) == 3);
}

TEST_CASE("libnats: AutoUnsubscribe on an async subscription invokes the callback exactly max times",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Collector got;
  Conn nc = connect(server);
  Sub sub = subscribe_async(nc.get(), "auto.async", Collector::on_msg, &got);
  REQUIRE(natsSubscription_AutoUnsubscribe(sub.get(), 5) == NATS_OK);
  flush(nc.get());
  for (int i = 0; i < 12; ++i) publish(nc.get(), "auto.async", std::to_string(i));
  flush(nc.get());
  REQUIRE(got.wait_for(5));
  flush(nc.get());
  CHECK(got.count() == 5);
  CHECK(in_msgs(nc.get()) == 5);
}

TEST_CASE("libnats: Unsubscribe stops delivery from the server", "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn subc = connect(server);
  Conn pub = connect(server);
  Sub sub = subscribe_sync(subc.get(), "unsub.me");
  flush(subc.get());

  publish(pub.get(), "unsub.me", "before");
  flush(pub.get());
  Msg m = next_msg(sub.get());
  CHECK(data_of(m.get()) == "before");

  REQUIRE(natsSubscription_Unsubscribe(sub.get()) == NATS_OK);
  CHECK_FALSE(natsSubscription_IsValid(sub.get()));
  flush(subc.get());

  const uint64_t in_before = in_msgs(subc.get());
  for (int i = 0; i < 5; ++i) publish(pub.get(), "unsub.me", "after");
  flush(pub.get());
  flush(subc.get());
  CHECK(in_msgs(subc.get()) == in_before);
  CHECK(no_msg(sub.get(), 20) == NATS_INVALID_SUBSCRIPTION);

  // A fresh subscription on the same subject still works.
  Sub again = subscribe_sync(subc.get(), "unsub.me");
  flush(subc.get());
  publish(pub.get(), "unsub.me", "again");
  flush(pub.get());
  Msg m2 = next_msg(again.get());
  CHECK(data_of(m2.get()) == "again");
}

TEST_CASE("libnats: Unsubscribe of one of two subscriptions leaves the other receiving", "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  Sub keep = subscribe_sync(nc.get(), "unsub.one");
  Sub drop = subscribe_sync(nc.get(), "unsub.one");
  flush(nc.get());
  REQUIRE(natsSubscription_Unsubscribe(drop.get()) == NATS_OK);
  publish(nc.get(), "unsub.one", "z");
  flush(nc.get());
  Msg m = next_msg(keep.get());
  CHECK(data_of(m.get()) == "z");
  CHECK(in_msgs(nc.get()) == 1);
}

namespace {

// An async callback that holds the first message until released, so later ones pile up
// in the client's pending queue; counts everything it sees.
struct GatedCounter {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int count = 0;
  std::vector<std::string> payloads;

  static void on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<GatedCounter*>(closure);
    std::unique_lock<std::mutex> lock(self->mu);
    self->cv.wait_for(lock, 5s, [&] { return self->open; });
    ++self->count;
    self->payloads.push_back(data_of(msg));
    lock.unlock();
    natsMsg_Destroy(msg);
    self->cv.notify_all();
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
  int get() {
    std::lock_guard<std::mutex> lock(mu);
    return count;
  }
};

// Opens the gate when a test leaves early, so no callback is left waiting on a dead counter.
struct ReleaseOnExit {
  GatedCounter& gate;
  ~ReleaseOnExit() { gate.release(); }
};

struct ClosedSignal {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  static void on_closed(natsConnection*, void* closure) {
    auto* self = static_cast<ClosedSignal*>(closure);
    std::lock_guard<std::mutex> lock(self->mu);
    self->closed = true;
    self->cv.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return closed; });
  }
};

}  // namespace

TEST_CASE("libnats: natsSubscription_Drain delivers every pending message, then stops the subscription",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  constexpr int kMessages = 50;
  GatedCounter got;
  Conn subc = connect(server);
  Conn pub = connect(server);
  Sub sub = subscribe_async(subc.get(), "drain.sub", GatedCounter::on_msg, &got);
  ReleaseOnExit release_on_exit{got};
  flush(subc.get());

  for (int i = 0; i < kMessages; ++i) publish(pub.get(), "drain.sub", std::to_string(i));
  flush(pub.get());
  flush(subc.get());  // everything is now in the client, stuck behind the gate
  int pending = 0, bytes = 0;
  REQUIRE(natsSubscription_GetPending(sub.get(), &pending, &bytes) == NATS_OK);
  CHECK(pending >= kMessages - 1);

  REQUIRE(natsSubscription_Drain(sub.get()) == NATS_OK);
  got.release();
  REQUIRE(natsSubscription_WaitForDrainCompletion(sub.get(), 3000) == NATS_OK);
  CHECK(natsSubscription_DrainCompletionStatus(sub.get()) == NATS_OK);
  CHECK(got.get() == kMessages);
  {
    std::lock_guard<std::mutex> lock(got.mu);
    for (int i = 0; i < static_cast<int>(got.payloads.size()); ++i) CHECK(got.payloads[i] == std::to_string(i));
  }

  // The server no longer sends to the drained subscription; the connection stays up.
  const uint64_t in_before = in_msgs(subc.get());
  publish(pub.get(), "drain.sub", "late");
  flush(pub.get());
  flush(subc.get());
  CHECK(in_msgs(subc.get()) == in_before);
  CHECK(got.get() == kMessages);
  CHECK(natsConnection_Status(subc.get()) == NATS_CONN_STATUS_CONNECTED);
}

TEST_CASE("libnats: natsConnection_Drain delivers every pending message and then closes the connection",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  constexpr int kMessages = 50;
  GatedCounter got;
  ClosedSignal closed;
  Opts opts = options_for(server);
  REQUIRE(natsOptions_SetClosedCB(opts.get(), ClosedSignal::on_closed, &closed) == NATS_OK);
  Conn subc = connect_with(opts.get());
  Conn pub = connect(server);
  Sub sub = subscribe_async(subc.get(), "drain.conn", GatedCounter::on_msg, &got);
  ReleaseOnExit release_on_exit{got};
  flush(subc.get());

  for (int i = 0; i < kMessages; ++i) publish(pub.get(), "drain.conn", std::to_string(i));
  flush(pub.get());
  flush(subc.get());
  int pending = 0, bytes = 0;
  REQUIRE(natsSubscription_GetPending(sub.get(), &pending, &bytes) == NATS_OK);
  CHECK(pending >= kMessages - 1);

  REQUIRE(natsConnection_DrainTimeout(subc.get(), 3000) == NATS_OK);
  got.release();
  REQUIRE(closed.wait(4s));
  CHECK(natsConnection_IsClosed(subc.get()));
  CHECK(got.get() == kMessages);
  const char* last_error = nullptr;
  CHECK(natsConnection_GetLastError(subc.get(), &last_error) == NATS_OK);
}

TEST_CASE("libnats: echo is on by default and off with natsOptions_SetNoEcho", "[compat][libnats][core]") {
  ServerProcess server;
  start(server);

  SECTION("default: a connection receives its own messages") {
    Conn nc = connect(server);
    Sub sub = subscribe_sync(nc.get(), "echo.test");
    flush(nc.get());
    publish(nc.get(), "echo.test", "self");
    flush(nc.get());
    Msg m = next_msg(sub.get());
    CHECK(data_of(m.get()) == "self");
  }

  SECTION("no echo: own messages are skipped, others' are delivered, others receive ours") {
    Opts opts = options_for(server);
    REQUIRE(natsOptions_SetNoEcho(opts.get(), true) == NATS_OK);
    Conn quiet = connect_with(opts.get());
    Conn other = connect(server);
    Sub quiet_sub = subscribe_sync(quiet.get(), "echo.test");
    Sub quiet_queue = queue_subscribe_sync(quiet.get(), "echo.test", "q");
    Sub other_sub = subscribe_sync(other.get(), "echo.test");
    flush(quiet.get());
    flush(other.get());

    publish(quiet.get(), "echo.test", "from quiet");
    flush(quiet.get());
    publish(other.get(), "echo.test", "from other");
    flush(other.get());
    flush(quiet.get());

    Msg q1 = next_msg(quiet_sub.get());
    CHECK(data_of(q1.get()) == "from other");
    CHECK(no_msg(quiet_sub.get(), 50) == NATS_TIMEOUT);
    Msg qq = next_msg(quiet_queue.get());
    CHECK(data_of(qq.get()) == "from other");
    CHECK(no_msg(quiet_queue.get(), 20) == NATS_TIMEOUT);
    CHECK(in_msgs(quiet.get()) == 2);

    Msg o1 = next_msg(other_sub.get());
    CHECK(data_of(o1.get()) == "from quiet");
    Msg o2 = next_msg(other_sub.get());
    CHECK(data_of(o2.get()) == "from other");
  }
}

TEST_CASE(
    "libnats: a payload of exactly max_payload is delivered, one byte more fails client-side with NATS_MAX_PAYLOAD",
    "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  Sub sub = subscribe_sync(nc.get(), "max.payload");
  flush(nc.get());
  const int64_t max = natsConnection_GetMaxPayload(nc.get());
  REQUIRE(max == 1048576);

  std::string too_big(static_cast<size_t>(max) + 1, 'b');
  CHECK(natsConnection_Publish(nc.get(), "max.payload", too_big.data(), static_cast<int>(too_big.size())) ==
        NATS_MAX_PAYLOAD);
  // The connection is still fine.
  CHECK(natsConnection_Status(nc.get()) == NATS_CONN_STATUS_CONNECTED);

  std::string exact(static_cast<size_t>(max), 'e');
  exact.front() = '<';
  exact.back() = '>';
  publish(nc.get(), "max.payload", exact);
  flush(nc.get());
  Msg m = next_msg(sub.get());
  CHECK(natsMsg_GetDataLength(m.get()) == max);
  CHECK(data_of(m.get()) == exact);
  CHECK(no_msg(sub.get(), 20) == NATS_TIMEOUT);
}

TEST_CASE("libnats: a 512 KiB message round-trips byte for byte", "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Conn pub = connect(server);
  Conn subc = connect(server);
  Sub sub = subscribe_sync(subc.get(), "large.msg");
  flush(subc.get());

  std::string big(512 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 31 + i / 251) & 0xff);
  publish(pub.get(), "large.msg", big);
  publish(pub.get(), "large.msg", "after");
  flush(pub.get());

  Msg m = next_msg(sub.get());
  REQUIRE(natsMsg_GetDataLength(m.get()) == static_cast<int>(big.size()));
  CHECK(data_of(m.get()) == big);
  Msg after = next_msg(sub.get());
  CHECK(data_of(after.get()) == "after");
}

TEST_CASE("libnats: 10000 small messages are all received, in publish order", "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  constexpr int kMessages = 10000;
  Conn pub = connect(server);
  Conn subc = connect(server);
  Sub sub = subscribe_sync(subc.get(), "many.small");
  flush(subc.get());

  for (int i = 0; i < kMessages; ++i) publish(pub.get(), "many.small", std::to_string(i));
  flush(pub.get());

  int in_order = 0;
  for (int i = 0; i < kMessages; ++i) {
    Msg m = next_msg(sub.get(), 2000);
    if (data_of(m.get()) == std::to_string(i)) {
      ++in_order;
    } else {
      FAIL("message " << i << " was '" << data_of(m.get()) << "'");
    }
  }
  CHECK(in_order == kMessages);
  int64_t dropped = -1;
  REQUIRE(natsSubscription_GetDropped(sub.get(), &dropped) == NATS_OK);
  CHECK(dropped == 0);
  CHECK(no_msg(sub.get(), 20) == NATS_TIMEOUT);
}

TEST_CASE("libnats: a verbose + pedantic connection (server sends +OK) still subscribes, publishes and requests",
          "[compat][libnats][core]") {
  ServerProcess server;
  start(server);
  Opts opts = options_for(server);
  REQUIRE(natsOptions_SetVerbose(opts.get(), true) == NATS_OK);
  REQUIRE(natsOptions_SetPedantic(opts.get(), true) == NATS_OK);
  Conn nc = connect_with(opts.get());
  Sub sub = subscribe_sync(nc.get(), "verbose.x");
  Sub gone = subscribe_sync(nc.get(), "verbose.gone");
  REQUIRE(natsSubscription_Unsubscribe(gone.get()) == NATS_OK);
  flush(nc.get());
  for (int i = 0; i < 10; ++i) publish(nc.get(), "verbose.x", std::to_string(i));
  flush(nc.get());
  for (int i = 0; i < 10; ++i) {
    Msg m = next_msg(sub.get());
    CHECK(data_of(m.get()) == std::to_string(i));
  }
  natsMsg* r = nullptr;
  CHECK(natsConnection_RequestString(&r, nc.get(), "verbose.nobody", "?", 2000) == NATS_NO_RESPONDERS);
  if (r != nullptr) natsMsg_Destroy(r);
  CHECK(natsConnection_Status(nc.get()) == NATS_CONN_STATUS_CONNECTED);
}

TEST_CASE("libnats: a max_payload set in the server config is what the client enforces", "[compat][libnats][core]") {
  const std::string conf = tern::test::write_temp_file("max_payload: 2048\n");
  ServerProcess server;
  start(server, {"-c", conf});
  Conn nc = connect(server);
  CHECK(natsConnection_GetMaxPayload(nc.get()) == 2048);
  Sub sub = subscribe_sync(nc.get(), "small.max");
  flush(nc.get());
  std::string ok(2048, 'o');
  std::string too_big(2049, 'x');
  CHECK(natsConnection_Publish(nc.get(), "small.max", too_big.data(), static_cast<int>(too_big.size())) ==
        NATS_MAX_PAYLOAD);
  publish(nc.get(), "small.max", ok);
  flush(nc.get());
  Msg m = next_msg(sub.get());
  CHECK(data_of(m.get()) == ok);
}
