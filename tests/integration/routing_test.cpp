// Message routing between connections (protocol spec sections 3.1, 3.5, 5 and 7): wildcards,
// queue groups, echo, request/reply and no-responders, as the MSG lines a subscriber sees.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/protocol_helpers.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

using namespace std::chrono_literals;
using namespace tern::test;

namespace {

constexpr const char* kRequester = R"({"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1})";

// Sends SUBs and waits for the PONG that proves they are registered.
void subscribe(RawClient& c, const std::string& subs) {
  REQUIRE(c.send(subs));
  REQUIRE(until_pong(c) == Lines{});
}

// Publishes and waits for the publisher's PONG: after it, every delivery is queued.
void publish(RawClient& c, const std::string& pubs) {
  REQUIRE(c.send(pubs));
  REQUIRE(until_pong(c) == Lines{});
}

std::string pub(const std::string& subject, const std::string& payload) {
  return "PUB " + subject + " " + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
}

// The sids of the MSG lines in `lines` (each MSG line followed by its one-line payload), sorted.
std::vector<std::string> sids_of(const Lines& lines) {
  std::vector<std::string> sids;
  for (const auto& l : lines)
    if (l.rfind("MSG ", 0) == 0) {
      auto a = l.find(' ', 4);
      auto b = l.find(' ', a + 1);
      sids.push_back(l.substr(a + 1, b - a - 1));
    }
  std::sort(sids.begin(), sids.end());
  return sids;
}

}  // namespace

TEST_CASE("a message published on one connection reaches a subscriber on another", "[routing]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient sub, p;
  connect(sub, s);
  connect(p, s);
  subscribe(sub, "SUB greet 1\r\n");
  publish(p, pub("greet", "hello"));
  CHECK(until_pong(sub) == Lines{"MSG greet 1 5", "hello"});
  // The publisher has no subscription and receives nothing.
  CHECK(until_pong(p) == Lines{});
}

TEST_CASE("'*' matches exactly one token", "[routing]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient sub, p;
  connect(sub, s);
  connect(p, s);
  subscribe(sub, "SUB foo.*.baz 1\r\n");
  publish(p, pub("foo.bar.baz", "1") + pub("foo.baz", "2") + pub("foo.a.b.baz", "3") + pub("foo.x.baz.y", "4") +
                 pub("foo.x.baz", "5"));
  CHECK(until_pong(sub) == Lines{"MSG foo.bar.baz 1 1", "1", "MSG foo.x.baz 1 1", "5"});
}

TEST_CASE("'>' matches one or more trailing tokens but not the bare prefix", "[routing]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient sub, p;
  connect(sub, s);
  connect(p, s);
  subscribe(sub, "SUB foo.> 7\r\n");
  publish(p, pub("foo", "0") + pub("foo.bar", "1") + pub("foo.bar.baz", "2") + pub("foobar.x", "3"));
  CHECK(until_pong(sub) == Lines{"MSG foo.bar 7 1", "1", "MSG foo.bar.baz 7 1", "2"});

  SECTION("a lone '>' matches everything") {
    RawClient all;
    connect(all, s);
    subscribe(all, "SUB > 1\r\n");
    publish(p, pub("a", "1") + pub("a.b.c", "2"));
    CHECK(until_pong(all) == Lines{"MSG a 1 1", "1", "MSG a.b.c 1 1", "2"});
  }
}

TEST_CASE("MSG carries the published subject and the sid of the subscription that matched", "[routing]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient a, b, p;
  connect(a, s);
  connect(b, s);
  connect(p, s);
  subscribe(a, "SUB orders.* 42\r\n");
  subscribe(b, "SUB orders.> abc\r\n");
  publish(p, pub("orders.new", "x"));
  CHECK(until_pong(a) == Lines{"MSG orders.new 42 1", "x"});
  CHECK(until_pong(b) == Lines{"MSG orders.new abc 1", "x"});
}

TEST_CASE("overlapping subscriptions on one connection each get a copy", "[routing]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient sub, p;
  connect(sub, s);
  connect(p, s);
  subscribe(sub, "SUB a.b 1\r\nSUB a.* 2\r\nSUB a.> 3\r\nSUB > 4\r\nSUB *.b 5\r\nSUB a.b 6\r\nSUB x 7\r\n");
  publish(p, pub("a.b", "m"));
  auto got = until_pong(sub);
  CHECK(got.size() == 12);
  CHECK(sids_of(got) == std::vector<std::string>{"1", "2", "3", "4", "5", "6"});
  for (size_t i = 0; i + 1 < got.size(); i += 2) {
    CHECK(got[i].rfind("MSG a.b ", 0) == 0);
    CHECK(got[i + 1] == "m");
  }
}

TEST_CASE("publish subjects with '*' or '>' tokens are routed like nats-server", "[routing]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient sub, p;
  connect(sub, s);
  connect(p, s);
  // Each wildcard token in a publish subject behaves as a literal that only a wildcard
  // subscription token can match.
  subscribe(sub, "SUB a.* 1\r\nSUB a.> 2\r\nSUB *.* 3\r\nSUB *.> 4\r\nSUB > 5\r\nSUB a.b 6\r\n"
                 "SUB a.b.c 7\r\nSUB a.*.c 8\r\n");

  SECTION("PUB a.*") {
    publish(p, pub("a.*", "x"));
    auto got = until_pong(sub);
    CHECK(sids_of(got) == std::vector<std::string>{"1", "2", "3", "4", "5"});
    for (size_t i = 0; i < got.size(); i += 2) CHECK(got[i].rfind("MSG a.* ", 0) == 0);
  }
  SECTION("PUB a.>") {
    publish(p, pub("a.>", "x"));
    auto got = until_pong(sub);
    CHECK(sids_of(got) == std::vector<std::string>{"1", "2", "3", "4", "5"});
    for (size_t i = 0; i < got.size(); i += 2) CHECK(got[i].rfind("MSG a.> ", 0) == 0);
  }
  SECTION("PUB a.*.c") {
    publish(p, pub("a.*.c", "x"));
    CHECK(sids_of(until_pong(sub)) == std::vector<std::string>{"2", "4", "5", "8"});
  }
  SECTION("a JetStream-style consumer create subject reaches a '$JS.API.>' subscription") {
    RawClient api;
    connect(api, s);
    subscribe(api, "SUB $JS.API.> 1\r\n");
    publish(p, pub("$JS.API.CONSUMER.CREATE.ORDERS.worker.ORDERS.*", "{}"));
    CHECK(until_pong(api) == Lines{"MSG $JS.API.CONSUMER.CREATE.ORDERS.worker.ORDERS.* 1 2", "{}"});
  }
}

TEST_CASE("a queue group delivers each message to exactly one member", "[routing][queue]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient m1, m2, m3, p;
  connect(m1, s);
  connect(m2, s);
  connect(m3, s);
  connect(p, s);
  subscribe(m1, "SUB work q 1\r\n");
  subscribe(m2, "SUB work q 1\r\n");
  subscribe(m3, "SUB work q 1\r\n");
  const int kMessages = 300;
  std::string batch;
  for (int i = 0; i < kMessages; ++i) batch += pub("work", std::to_string(i));
  publish(p, batch);

  std::vector<std::string> payloads;
  std::vector<size_t> counts;
  for (RawClient* m : {&m1, &m2, &m3}) {
    auto got = until_pong(*m);
    REQUIRE(got.size() % 2 == 0);
    for (size_t i = 0; i < got.size(); i += 2) {
      CHECK(got[i].rfind("MSG work 1 ", 0) == 0);
      payloads.push_back(got[i + 1]);
    }
    counts.push_back(got.size() / 2);
  }
  // Every message exactly once across the group.
  REQUIRE(payloads.size() == kMessages);
  std::sort(payloads.begin(), payloads.end());
  CHECK(std::adjacent_find(payloads.begin(), payloads.end()) == payloads.end());
  // Random choice: each member's share is Binomial(300, 1/3), mean 100, sd ~8.2. Below 50 is
  // more than 6 sd away, so this bound cannot flake but catches "always the first member".
  for (size_t c : counts) CHECK(c > 50);
}

TEST_CASE("queue groups are independent of each other and of plain subscribers", "[routing][queue]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient a1, a2, b1, plain, p;
  connect(a1, s);
  connect(a2, s);
  connect(b1, s);
  connect(plain, s);
  connect(p, s);
  subscribe(a1, "SUB job ga 1\r\n");
  subscribe(a2, "SUB job.* ga 1\r\n");  // same group by name, different subject
  subscribe(b1, "SUB job gb 1\r\n");
  subscribe(plain, "SUB job 1\r\nSUB > 2\r\n");
  std::string batch;
  for (int i = 0; i < 20; ++i) batch += pub("job", std::to_string(i));
  publish(p, batch);
  // a2's subject "job.*" does not match "job", so group ga is a1 alone here.
  CHECK(until_pong(a1).size() == 40);
  CHECK(until_pong(a2) == Lines{});
  CHECK(until_pong(b1).size() == 40);
  CHECK(until_pong(plain).size() == 80);

  SECTION("members on different subjects share one group for a message both match") {
    batch.clear();
    for (int i = 0; i < 20; ++i) batch += pub("job.x", std::to_string(i));
    RawClient a3;
    connect(a3, s);
    subscribe(a3, "SUB job.x ga 1\r\n");
    publish(p, batch);
    CHECK(until_pong(a2).size() + until_pong(a3).size() == 40);
    CHECK(until_pong(a1) == Lines{});
    CHECK(until_pong(b1) == Lines{});
    CHECK(until_pong(plain).size() == 40);  // only "SUB > 2" matches job.x
  }
}

TEST_CASE("queue subscribers on one connection: one copy per group", "[routing][queue]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s);
  REQUIRE(c.send("SUB q.x g1 1\r\nSUB q.* g1 2\r\nSUB q.x g2 3\r\nSUB q.x 4\r\n" + pub("q.x", "v")));
  auto got = until_pong(c);
  auto sids = sids_of(got);
  REQUIRE(sids.size() == 3);
  CHECK((sids[0] == "1" || sids[0] == "2"));
  CHECK(sids[1] == "3");
  CHECK(sids[2] == "4");
}

TEST_CASE("echo:false keeps a connection's own messages from its subscriptions", "[routing]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient noecho, other;
  connect(noecho, s, R"({"verbose":false,"pedantic":false,"echo":false})");
  connect(other, s);
  subscribe(noecho, "SUB e 1\r\nSUB e qq 2\r\n");
  subscribe(other, "SUB e 1\r\n");
  publish(noecho, pub("e", "self"));
  CHECK(until_pong(noecho) == Lines{});
  CHECK(until_pong(other) == Lines{"MSG e 1 4", "self"});
  // Messages from others still arrive.
  RawClient third;
  connect(third, s);
  publish(third, pub("e", "peer"));
  auto got = until_pong(noecho);
  CHECK(sids_of(got) == std::vector<std::string>{"1", "2"});

  SECTION("with echo on (the default) a connection gets its own messages") {
    RawClient echo;
    connect(echo, s);
    REQUIRE(echo.send("SUB e 1\r\n" + pub("e", "me")));
    CHECK(until_pong(echo) == Lines{"MSG e 1 2", "me"});
  }
}

TEST_CASE("request/reply through a muxed _INBOX.<id>.* subscription", "[routing]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient requester, responder;
  connect(requester, s, kRequester);
  connect(responder, s);
  subscribe(responder, "SUB service.echo 1\r\n");
  // nats.go style: one wildcard inbox subscription, a literal reply per request.
  subscribe(requester, "SUB _INBOX.Xyz12.* 1\r\n");
  publish(requester, "PUB service.echo _INBOX.Xyz12.aB3dE5gH 4\r\nping\r\n");
  CHECK(next_line(responder) == "MSG service.echo 1 _INBOX.Xyz12.aB3dE5gH 4");
  CHECK(next_line(responder) == "ping");
  publish(responder, pub("_INBOX.Xyz12.aB3dE5gH", "pong!"));
  CHECK(until_pong(requester) == Lines{"MSG _INBOX.Xyz12.aB3dE5gH 1 5", "pong!"});
}

TEST_CASE("no responders: a request nobody receives gets a 503 HMSG on the requester's reply subscription",
          "[routing]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient requester;
  connect(requester, s, kRequester);
  subscribe(requester, "SUB _INBOX.abc.* 9\r\n");
  REQUIRE(requester.send("PUB nobody.home _INBOX.abc.r1 0\r\n\r\n"));
  CHECK(next_line(requester) == "HMSG _INBOX.abc.r1 9 16 16");
  CHECK(requester.read_bytes(18).value_or("<none>") == "NATS/1.0 503\r\n\r\n\r\n");
  CHECK(until_pong(requester) == Lines{});

  SECTION("also for HPUB requests") {
    REQUIRE(requester.send("HPUB nobody.home _INBOX.abc.r2 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"));
    CHECK(until_pong(requester) == Lines{"HMSG _INBOX.abc.r2 9 16 16", "NATS/1.0 503", "", ""});
  }
  SECTION("echo-suppressed self-delivery counts as nobody") {
    RawClient self;
    connect(self, s, R"({"verbose":false,"headers":true,"no_responders":true,"echo":false})");
    subscribe(self, "SUB svc 1\r\nSUB _INBOX.me.* 2\r\n");
    REQUIRE(self.send("PUB svc _INBOX.me.1 0\r\n\r\n"));
    CHECK(until_pong(self) == Lines{"HMSG _INBOX.me.1 2 16 16", "NATS/1.0 503", "", ""});
  }
  SECTION("nothing when the requester has no subscription matching the reply") {
    REQUIRE(requester.send("PUB nobody.home other.inbox 0\r\n\r\n"));
    CHECK(until_pong(requester) == Lines{});
  }
  SECTION("nothing when someone does receive the request") {
    RawClient responder;
    connect(responder, s);
    subscribe(responder, "SUB somebody 1\r\n");
    REQUIRE(requester.send("PUB somebody _INBOX.abc.r3 0\r\n\r\n"));
    CHECK(until_pong(requester) == Lines{});
    CHECK(until_pong(responder) == Lines{"MSG somebody 1 _INBOX.abc.r3 0", ""});
  }
  SECTION("nothing without a reply subject") {
    REQUIRE(requester.send("PUB nobody.home 0\r\n\r\n"));
    CHECK(until_pong(requester) == Lines{});
  }
}

TEST_CASE("no responders: nothing is sent when the requester did not ask for it", "[routing]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient requester;
  connect(requester, s, R"({"verbose":false,"pedantic":false,"headers":true,"no_responders":false})");
  subscribe(requester, "SUB _INBOX.abc.* 9\r\n");
  REQUIRE(requester.send("PUB nobody.home _INBOX.abc.r1 0\r\n\r\n"));
  CHECK(until_pong(requester) == Lines{});
  // Same when headers are on but no_responders is simply absent.
  RawClient other;
  connect(other, s, R"({"verbose":false,"headers":true})");
  subscribe(other, "SUB _INBOX.q.* 1\r\n");
  REQUIRE(other.send("PUB nobody.home _INBOX.q.1 0\r\n\r\n"));
  CHECK(until_pong(other) == Lines{});
}

TEST_CASE("messages from one publisher arrive in publish order", "[routing]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient sub, wild, p;
  connect(sub, s);
  connect(wild, s);
  connect(p, s);
  subscribe(sub, "SUB seq 1\r\n");
  subscribe(wild, "SUB > 1\r\n");
  Lines expected;
  for (int i = 0; i < 1000; ++i) {
    std::string body = std::to_string(i);
    // Sent in several writes to exercise more than one read on the server.
    REQUIRE(p.send(pub("seq", body)));
    expected.push_back("MSG seq 1 " + std::to_string(body.size()));
    expected.push_back(body);
  }
  REQUIRE(until_pong(p) == Lines{});
  CHECK(until_pong(sub) == expected);
  CHECK(until_pong(wild) == expected);
}
