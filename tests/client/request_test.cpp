// Request/reply over the shared inbox, no responders, timeouts, flush.
#include <atomic>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "tests/client/client_test_util.h"

using namespace std::chrono_literals;
using tern::error_code;
using tern::ErrorCode;
using tern::Msg;
using tern::test::ServerProcess;

namespace {

// A responder that answers "echo:<data>" and copies the request's headers back.
tern::Subscription serve_echo(tern::Connection& conn, const std::string& subject) {
  auto sub = conn.subscribe(subject, [&conn](Msg& m) {
    Msg reply(m.reply, "echo:" + m.data);
    reply.headers = m.headers;
    (void)conn.publish(reply);
  });
  REQUIRE(sub.is_ok());
  REQUIRE(conn.flush(2s).is_ok());
  return std::move(*sub);
}

}  // namespace

TEST_CASE("request gets the reply, over one shared inbox subscription", "[client][request]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto svc = tern::test::connect_or_fail(server.url());
  auto cli = tern::test::connect_or_fail(server.url());
  auto s = serve_echo(*svc, "svc.echo");

  // Watch the reply subjects: all share one prefix "_INBOX.<nuid>.".
  auto spy = svc->subscribe_sync("_INBOX.>");
  REQUIRE(spy.is_ok());
  REQUIRE(svc->flush(2s).is_ok());
  for (int i = 0; i < 5; ++i) {
    auto r = cli->request("svc.echo", "hi" + std::to_string(i), 2s);
    REQUIRE(r.is_ok());
    CHECK(r->data == "echo:hi" + std::to_string(i));
  }
  std::set<std::string> prefixes;
  for (int i = 0; i < 5; ++i) {
    auto m = spy->next(2s);
    REQUIRE(m.is_ok());
    prefixes.insert(m->subject.substr(0, m->subject.rfind('.')));
  }
  CHECK(prefixes.size() == 1);

  Msg req("svc.echo", "with headers");
  req.headers.add("Trace-Id", "42");
  auto r = cli->request(req, 2s);
  REQUIRE(r.is_ok());
  CHECK(r->data == "echo:with headers");
  REQUIRE(r->headers.get("Trace-Id"));
  CHECK(*r->headers.get("Trace-Id") == "42");
}

TEST_CASE("concurrent requests from several threads each get their own reply", "[client][request][threads]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto svc = tern::test::connect_or_fail(server.url());
  auto cli = tern::test::connect_or_fail(server.url());
  auto s = serve_echo(*svc, "svc.mt");
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string body = std::to_string(t) + "/" + std::to_string(i);
        auto r = cli->request("svc.mt", body, 2s);
        if (!r || r->data != "echo:" + body) ++bad;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(bad.load() == 0);
}

TEST_CASE("no responders is its own error, fast, distinct from a timeout", "[client][request]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto cli = tern::test::connect_or_fail(server.url());
  auto start = std::chrono::steady_clock::now();
  auto r = cli->request("nobody.home", "x", 2s);
  REQUIRE(!r.is_ok());
  CHECK(error_code(r.status()) == ErrorCode::NoResponders);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(r.status().message().find("nobody.home") != std::string::npos);
}

TEST_CASE("a request nobody answers times out", "[client][request]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto svc = tern::test::connect_or_fail(server.url());
  auto cli = tern::test::connect_or_fail(server.url());
  auto silent = svc->subscribe_sync("svc.silent");  // receives, never replies
  REQUIRE(silent.is_ok());
  REQUIRE(svc->flush(2s).is_ok());
  auto start = std::chrono::steady_clock::now();
  auto r = cli->request("svc.silent", "x", 150ms);
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(!r.is_ok());
  CHECK(error_code(r.status()) == ErrorCode::Timeout);
  CHECK(took >= 150ms);
  CHECK(took < 1s);
  // A late reply is dropped quietly, and the next request still works.
  auto got = silent->next(2s);
  REQUIRE(got.is_ok());
  REQUIRE(svc->publish(got->reply, "late").is_ok());
  auto s = serve_echo(*svc, "svc.after");
  auto ok = cli->request("svc.after", "y", 2s);
  REQUIRE(ok.is_ok());
  CHECK(ok->data == "echo:y");
}

TEST_CASE("a request can be made from inside a callback", "[client][request]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto svc = tern::test::connect_or_fail(server.url());
  auto conn = tern::test::connect_or_fail(server.url());
  auto s = serve_echo(*svc, "svc.inner");
  tern::test::Signal sig;
  std::string answer;
  auto sub = conn->subscribe("trigger", [&](Msg&) {
    auto r = conn->request("svc.inner", "from-callback", 2s);
    sig.update([&] { answer = r ? r->data : r.status().message(); });
  });
  REQUIRE(sub.is_ok());
  REQUIRE(conn->publish("trigger", "").is_ok());
  REQUIRE(sig.wait([&] { return !answer.empty(); }));
  CHECK(answer == "echo:from-callback");
}

TEST_CASE("flush: the server has processed everything sent before it", "[client][flush]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto a = tern::test::connect_or_fail(server.url());
  auto b = tern::test::connect_or_fail(server.url());
  auto sub = b->subscribe_sync("f");
  REQUIRE(sub.is_ok());
  REQUIRE(b->flush(2s).is_ok());  // after this the SUB is in place
  for (int i = 0; i < 1000; ++i) REQUIRE(a->publish("f", "x").is_ok());
  REQUIRE(a->flush(2s).is_ok());
  REQUIRE(b->flush(2s).is_ok());  // b's PONG comes after every message routed to b
  CHECK(sub->pending_msgs() == 1000);
  // Many flushes in a row pair up with their PONGs.
  for (int i = 0; i < 50; ++i) REQUIRE(a->flush(2s).is_ok());
}
