// Reconnecting: the server goes away and a new one starts on the same port. Subscriptions
// come back (with what is left of auto-unsubscribe limits), publishes made during the outage
// are sent, and the callbacks fire in order: disconnected, reconnected, ..., closed.
#include <signal.h>

#include <catch2/catch.hpp>

#include "tests/client/client_test_util.h"

using namespace std::chrono_literals;
using tern::error_code;
using tern::ErrorCode;
using tern::Msg;
using tern::test::FixedPortServer;
using tern::test::Inbox;

namespace {

// Records the connection events in order.
struct EventLog {
  tern::test::Signal sig;
  std::vector<std::string> events;
  std::vector<tern::Status> errors;

  void attach(tern::Options& o) {
    o.disconnected = [this](tern::Connection&) { sig.update([&] { events.push_back("disconnected"); }); };
    o.reconnected = [this](tern::Connection&) { sig.update([&] { events.push_back("reconnected"); }); };
    o.closed = [this](tern::Connection&) { sig.update([&] { events.push_back("closed"); }); };
    o.error = [this](tern::Connection&, const tern::Status& st) { sig.update([&] { errors.push_back(st); }); };
  }
  bool wait_for(const std::string& ev, size_t count = 1, std::chrono::milliseconds timeout = 4s) {
    return sig.wait([&] { return std::count(events.begin(), events.end(), ev) >= static_cast<long>(count); }, timeout);
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(sig.mutex());
    return events;
  }
};

}  // namespace

TEST_CASE("reconnect to a restarted server: subscriptions resume, buffered publishes arrive", "[client][reconnect]") {
  bool hard = GENERATE(true, false);  // SIGKILL, or a clean SIGTERM shutdown
  INFO((hard ? "kill -9" : "SIGTERM"));
  FixedPortServer server(tern::test::free_port());
  REQUIRE(server.start());
  EventLog log;
  auto opts = tern::test::fast_options(server.url());
  log.attach(opts);
  auto conn = tern::test::connect_or_fail(server.url(), opts);

  Inbox in;
  auto sub = conn->subscribe("r.>", in.handler());
  REQUIRE(sub.is_ok());
  auto limited = conn->subscribe_sync("r.limited");
  REQUIRE(limited.is_ok());
  REQUIRE(limited->auto_unsubscribe(5).is_ok());
  REQUIRE(conn->publish("r.limited", "before-0").is_ok());
  REQUIRE(conn->publish("r.limited", "before-1").is_ok());
  REQUIRE(conn->request("nobody", "", 2s).status().message().size() > 0);  // makes the request inbox
  REQUIRE(conn->flush(2s).is_ok());
  REQUIRE(in.wait_for(2));
  REQUIRE(limited->next(2s).is_ok());
  REQUIRE(limited->next(2s).is_ok());

  if (hard)
    server.kill9();
  else
    server.stop();
  REQUIRE(log.wait_for("disconnected"));
  CHECK(conn->status() == tern::ConnectionStatus::Reconnecting);
  CHECK(error_code(conn->flush(100ms)) == ErrorCode::Disconnected);

  // Published while no server exists: buffered.
  for (int i = 0; i < 10; ++i) REQUIRE(conn->publish("r.buffered", std::to_string(i)).is_ok());
  for (int i = 0; i < 10; ++i) REQUIRE(conn->publish("r.limited", "after-" + std::to_string(i)).is_ok());

  REQUIRE(server.start());
  REQUIRE(log.wait_for("reconnected"));
  CHECK(conn->status() == tern::ConnectionStatus::Connected);
  REQUIRE(conn->flush(2s).is_ok());

  // The async sub got the buffered messages (sent after the re-SUB, in order).
  REQUIRE(in.wait_for(2 + 20));
  {
    std::lock_guard lock(in.signal.mutex());
    std::vector<std::string> buffered;
    for (auto& m : in.msgs)
      if (m.subject == "r.buffered") buffered.push_back(m.data);
    REQUIRE(buffered.size() == 10);
    for (int i = 0; i < 10; ++i) CHECK(buffered[i] == std::to_string(i));
  }
  // The limited sub had 3 messages left of its 5.
  for (int i = 0; i < 3; ++i) {
    auto m = limited->next(2s);
    REQUIRE(m.is_ok());
    CHECK(m->data == "after-" + std::to_string(i));
  }
  auto end = limited->next(100ms);
  CHECK(error_code(end.status()) == ErrorCode::Closed);

  // New work after the reconnect: subscribe, request over the resubscribed inbox.
  auto svc = conn->subscribe("svc", [&](Msg& m) { (void)conn->publish(m.reply, "pong"); });
  REQUIRE(svc.is_ok());
  auto r = conn->request("svc", "ping", 2s);
  REQUIRE(r.is_ok());
  CHECK(r->data == "pong");

  conn->close();
  REQUIRE(log.wait_for("closed"));
  CHECK(log.snapshot() == std::vector<std::string>{"disconnected", "reconnected", "closed"});
}

TEST_CASE("another client sees what was buffered during the outage", "[client][reconnect]") {
  FixedPortServer server(tern::test::free_port());
  REQUIRE(server.start());
  EventLog plog, slog;
  auto popts = tern::test::fast_options(server.url());
  plog.attach(popts);
  auto sopts = tern::test::fast_options(server.url());
  slog.attach(sopts);
  auto pub = tern::test::connect_or_fail(server.url(), popts);
  auto subc = tern::test::connect_or_fail(server.url(), sopts);
  auto sub = subc->subscribe_sync("x");
  REQUIRE(sub.is_ok());
  REQUIRE(subc->flush(2s).is_ok());
  server.kill9();
  REQUIRE(plog.wait_for("disconnected"));
  REQUIRE(slog.wait_for("disconnected"));
  // Keep the publisher from reconnecting before the subscriber has: buffer, then restart.
  for (int i = 0; i < 5; ++i) REQUIRE(pub->publish("x", std::to_string(i)).is_ok());
  REQUIRE(server.start());
  REQUIRE(slog.wait_for("reconnected"));
  REQUIRE(plog.wait_for("reconnected"));
  // The publisher may have replayed before the subscriber's SUB was back; publish one more
  // after both are up, and check order for what arrived.
  REQUIRE(subc->flush(2s).is_ok());
  REQUIRE(pub->publish("x", "last").is_ok());
  std::vector<std::string> got;
  for (;;) {
    auto m = sub->next(2s);
    REQUIRE(m.is_ok());
    got.push_back(m->data);
    if (m->data == "last") break;
  }
  CHECK(got.back() == "last");
  for (size_t i = 0; i + 1 < got.size(); ++i) CHECK(got[i] == std::to_string(5 - (got.size() - 1) + i));
}

TEST_CASE("the reconnect buffer is bounded", "[client][reconnect]") {
  FixedPortServer server(tern::test::free_port());
  REQUIRE(server.start());
  EventLog log;
  auto opts = tern::test::fast_options(server.url());
  opts.reconnect_buffer_size = 1000;
  opts.reconnect_wait = 5s;  // stay disconnected for the whole test
  log.attach(opts);
  auto conn = tern::test::connect_or_fail(server.url(), opts);
  server.kill9();
  REQUIRE(log.wait_for("disconnected"));
  int accepted = 0;
  tern::Status st;
  for (int i = 0; i < 100 && (st = conn->publish("b", std::string(100, 'x'))); ++i) ++accepted;
  CHECK(error_code(st) == ErrorCode::BufferFull);
  CHECK(accepted >= 5);
  CHECK(accepted < 10);
}

TEST_CASE("buffering off: publish while disconnected is an error", "[client][reconnect]") {
  FixedPortServer server(tern::test::free_port());
  REQUIRE(server.start());
  EventLog log;
  auto opts = tern::test::fast_options(server.url());
  opts.reconnect_buffer_size = 0;
  opts.reconnect_wait = 5s;
  log.attach(opts);
  auto conn = tern::test::connect_or_fail(server.url(), opts);
  server.kill9();
  REQUIRE(log.wait_for("disconnected"));
  CHECK(error_code(conn->publish("b", "x")) == ErrorCode::Disconnected);
}

TEST_CASE("giving up after max_reconnect_attempts closes the connection", "[client][reconnect]") {
  FixedPortServer server(tern::test::free_port());
  REQUIRE(server.start());
  EventLog log;
  auto opts = tern::test::fast_options(server.url());
  opts.max_reconnect_attempts = 3;
  log.attach(opts);
  auto conn = tern::test::connect_or_fail(server.url(), opts);
  auto sub = conn->subscribe_sync("z");
  REQUIRE(sub.is_ok());
  server.kill9();
  REQUIRE(log.wait_for("closed"));
  CHECK(log.snapshot() == std::vector<std::string>{"disconnected", "closed"});
  CHECK(conn->is_closed());
  CHECK(error_code(conn->last_error()) == ErrorCode::ConnectionFailed);
  CHECK(conn->last_error().message().find("3 reconnect attempts") != std::string::npos);
  CHECK(error_code(sub->next(10ms).status()) == ErrorCode::Closed);
  CHECK(error_code(conn->publish("z", "")) == ErrorCode::Closed);
}

TEST_CASE("allow_reconnect=false: a lost connection closes", "[client][reconnect]") {
  FixedPortServer server(tern::test::free_port());
  REQUIRE(server.start());
  EventLog log;
  auto opts = tern::test::fast_options(server.url());
  opts.allow_reconnect = false;
  log.attach(opts);
  auto conn = tern::test::connect_or_fail(server.url(), opts);
  server.stop();
  REQUIRE(log.wait_for("closed"));
  CHECK(log.snapshot() == std::vector<std::string>{"disconnected", "closed"});
  CHECK(error_code(conn->last_error()) == ErrorCode::Disconnected);
}

TEST_CASE("a server that stops answering PINGs is detected as stale, then reconnected", "[client][reconnect]") {
  FixedPortServer server(tern::test::free_port());
  REQUIRE(server.start());
  EventLog log;
  auto opts = tern::test::fast_options(server.url());
  opts.ping_interval = 50ms;
  opts.max_pings_out = 2;
  opts.connect_timeout = 300ms;
  log.attach(opts);
  auto conn = tern::test::connect_or_fail(server.url(), opts);
  REQUIRE(::kill(server.pid(), SIGSTOP) == 0);
  bool stale = log.wait_for("disconnected");
  REQUIRE(::kill(server.pid(), SIGCONT) == 0);
  REQUIRE(stale);
  REQUIRE(log.wait_for("reconnected"));
  CHECK(conn->flush(2s).is_ok());
}
