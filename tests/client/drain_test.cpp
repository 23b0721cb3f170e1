// drain(): unsubscribe, deliver what already arrived, flush, close.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "tests/client/client_test_util.h"

using namespace std::chrono_literals;
using tern::error_code;
using tern::ErrorCode;
using tern::Msg;
using tern::test::ServerProcess;

TEST_CASE("drain delivers every pending message, then closes", "[client][drain]") {
  ServerProcess server;
  REQUIRE(server.start());
  tern::test::Signal sig;
  std::vector<std::string> events;
  auto opts = tern::test::fast_options(server.url());
  opts.closed = [&](tern::Connection&) { sig.update([&] { events.push_back("closed"); }); };
  auto conn = tern::test::connect_or_fail(server.url(), opts);
  auto pub = tern::test::connect_or_fail(server.url());

  // A slow callback, so that messages are still queued when drain starts.
  std::atomic<int> handled{0};
  auto sub = conn->subscribe("d", [&](Msg&) {
    std::this_thread::sleep_for(1ms);
    ++handled;
    sig.update([&] { events.push_back("msg"); });
  });
  REQUIRE(sub.is_ok());
  auto sync = conn->subscribe_sync("d.sync");
  REQUIRE(sync.is_ok());
  REQUIRE(conn->flush(2s).is_ok());
  for (int i = 0; i < 100; ++i) REQUIRE(pub->publish("d", "m").is_ok());
  REQUIRE(pub->publish("d.sync", "s").is_ok());
  REQUIRE(pub->flush(2s).is_ok());
  REQUIRE(conn->flush(2s).is_ok());  // everything has reached conn

  // A sync subscription's messages are taken by its reader while drain waits.
  std::thread reader([&] {
    auto m = sync->next(2s);
    CHECK(m.is_ok());
  });
  tern::Status st = conn->drain(3s);
  reader.join();
  CHECK(st.is_ok());
  CHECK(handled.load() == 100);
  CHECK(conn->is_closed());
  CHECK(conn->last_error().is_ok());
  REQUIRE(sig.wait([&] { return !events.empty() && events.back() == "closed"; }));
  CHECK(events.size() == 101);
  CHECK(error_code(conn->drain(1s)) == ErrorCode::Closed);
}

TEST_CASE("publishes made before drain reach the server", "[client][drain]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  auto watcher = tern::test::connect_or_fail(server.url());
  auto sub = watcher->subscribe_sync("out");
  REQUIRE(sub.is_ok());
  REQUIRE(watcher->flush(2s).is_ok());
  for (int i = 0; i < 50; ++i) REQUIRE(conn->publish("out", std::to_string(i)).is_ok());
  REQUIRE(conn->drain(2s).is_ok());
  for (int i = 0; i < 50; ++i) {
    auto m = sub->next(2s);
    REQUIRE(m.is_ok());
    CHECK(m->data == std::to_string(i));
  }
}

TEST_CASE("drain cannot run inside a callback, after it the connection is closed", "[client][drain]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  tern::test::Signal sig;
  tern::Status inner;
  bool done = false;
  auto sub = conn->subscribe("x", [&](Msg&) {
    tern::Status st = conn->drain(1s);
    sig.update([&] {
      inner = st;
      done = true;
    });
  });
  REQUIRE(sub.is_ok());
  REQUIRE(conn->publish("x", "").is_ok());
  REQUIRE(sig.wait([&] { return done; }));
  CHECK(error_code(inner) == ErrorCode::InvalidArgument);
  REQUIRE(conn->drain(2s).is_ok());
  CHECK(error_code(conn->subscribe_sync("y").status()) == ErrorCode::Closed);
}
