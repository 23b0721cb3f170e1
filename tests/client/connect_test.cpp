// Connecting and closing: handshake, server info, bad URLs, auth, the closed callback.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "client/url.h"
#include "tests/client/client_test_util.h"

using namespace std::chrono_literals;
using tern::error_code;
using tern::ErrorCode;
using tern::test::ServerProcess;

TEST_CASE("connect, read server info, close", "[client][connect]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  CHECK(conn->status() == tern::ConnectionStatus::Connected);
  tern::ServerInfo info = conn->server_info();
  CHECK(!info.server_id.empty());
  CHECK(info.max_payload > 0);
  CHECK(info.headers);
  CHECK(info.client_id > 0);
  CHECK(info.connected_url == "127.0.0.1:" + std::to_string(server.port()));
  conn->close();
  CHECK(conn->is_closed());
  CHECK(error_code(conn->publish("foo", "x")) == ErrorCode::Closed);
  CHECK(error_code(conn->flush(1s)) == ErrorCode::Closed);
  CHECK(error_code(conn->subscribe_sync("foo").status()) == ErrorCode::Closed);
  conn->close();  // idempotent
}

TEST_CASE("the closed callback runs once, last", "[client][connect]") {
  ServerProcess server;
  REQUIRE(server.start());
  tern::test::Signal sig;
  int closed = 0;
  auto opts = tern::test::fast_options(server.url());
  opts.closed = [&](tern::Connection&) { sig.update([&] { ++closed; }); };
  {
    auto conn = tern::test::connect_or_fail(server.url(), opts);
    conn->close();
    CHECK(sig.wait([&] { return closed == 1; }));
  }
  // The destructor after close() does not fire it again.
  CHECK(closed == 1);
  // The destructor alone closes and waits for the callback.
  { auto conn = tern::test::connect_or_fail(server.url(), opts); }
  CHECK(closed == 2);
}

TEST_CASE("connection refused is a ConnectionFailed error", "[client][connect]") {
  int port = tern::test::free_port();
  auto c = tern::Connection::connect(tern::test::fast_options("nats://127.0.0.1:" + std::to_string(port)));
  REQUIRE(!c.is_ok());
  CHECK(error_code(c.status()) == ErrorCode::ConnectionFailed);
  CHECK(c.status().message().find(std::to_string(port)) != std::string::npos);
}

TEST_CASE("bad URLs are refused before connecting", "[client][connect]") {
  for (const char* url : {"http://127.0.0.1:4222", "nats://127.0.0.1:99999", "nats://127.0.0.1:abc", "nats://:4222",
                          "nats://127.0.0.1:4222,", "nats://h:1/path"}) {
    INFO(url);
    auto c = tern::Connection::connect(tern::test::fast_options(url));
    REQUIRE(!c.is_ok());
    CHECK(error_code(c.status()) == ErrorCode::InvalidArgument);
  }
  auto tls = tern::Connection::connect(tern::test::fast_options("tls://127.0.0.1:4222"));
  REQUIRE(!tls.is_ok());
  CHECK(error_code(tls.status()) == ErrorCode::Unsupported);
  CHECK(tls.status().message().find("TLS") != std::string::npos);
}

TEST_CASE("server URL lists parse with credentials, defaults and IPv6", "[client][url]") {
  auto l = tern::detail::parse_server_list("nats://al%40ice:p%3Ass@host1:4333, host2 ,nats://[::1]:5000");
  REQUIRE(l.is_ok());
  REQUIRE(l->servers.size() == 3);
  CHECK(l->user == "al@ice");
  CHECK(l->password == "p:ss");
  CHECK(l->servers[0].host == "host1");
  CHECK(l->servers[0].port == 4333);
  CHECK(l->servers[1].host == "host2");
  CHECK(l->servers[1].port == 4222);
  CHECK(l->servers[2].host == "::1");
  CHECK(l->servers[2].display() == "[::1]:5000");
  auto t = tern::detail::parse_server_list("nats://s3cr3t@localhost");
  REQUIRE(t.is_ok());
  CHECK(t->token == "s3cr3t");
  CHECK(t->user.empty());
}

TEST_CASE("an empty url means NATS_URL, else 127.0.0.1:4222", "[client][url]") {
  ::setenv("NATS_URL", "nats://10.1.2.3:7000", 1);
  CHECK(tern::detail::effective_url("") == "nats://10.1.2.3:7000");
  CHECK(tern::detail::effective_url("nats://x:1") == "nats://x:1");
  ::unsetenv("NATS_URL");
  CHECK(tern::detail::effective_url("") == "nats://127.0.0.1:4222");
}

TEST_CASE("NATS_URL is used when Options::url is empty", "[client][connect]") {
  ServerProcess server;
  REQUIRE(server.start());
  ::setenv("NATS_URL", server.url().c_str(), 1);
  auto opts = tern::test::fast_options("");
  auto c = tern::Connection::connect(opts);
  ::unsetenv("NATS_URL");
  REQUIRE(c.is_ok());
  CHECK((*c)->server_info().port == server.port());
}

TEST_CASE("the first server that answers is used", "[client][connect]") {
  ServerProcess server;
  REQUIRE(server.start());
  int dead = tern::test::free_port();
  std::string url = "nats://127.0.0.1:" + std::to_string(dead) + ",127.0.0.1:" + std::to_string(server.port());
  auto c = tern::Connection::connect(tern::test::fast_options(url));
  REQUIRE(c.is_ok());
  CHECK((*c)->server_info().connected_url == "127.0.0.1:" + std::to_string(server.port()));
}

TEST_CASE("user/password auth: refused credentials are AuthFailed, good ones connect", "[client][connect][auth]") {
  ServerProcess server;
  REQUIRE(server.start({"--user", "alice", "--pass", "s3cret"}));
  auto none = tern::Connection::connect(tern::test::fast_options(server.url()));
  REQUIRE(!none.is_ok());
  CHECK(error_code(none.status()) == ErrorCode::AuthFailed);

  auto opts = tern::test::fast_options(server.url());
  opts.user = "alice";
  opts.password = "wrong";
  auto bad = tern::Connection::connect(opts);
  REQUIRE(!bad.is_ok());
  CHECK(error_code(bad.status()) == ErrorCode::AuthFailed);
  CHECK(bad.status().message().find("Authorization Violation") != std::string::npos);

  opts.password = "s3cret";
  auto good = tern::Connection::connect(opts);
  REQUIRE(good.is_ok());
  CHECK((*good)->server_info().auth_required);
  CHECK((*good)->flush(2s).is_ok());

  // Credentials in the URL.
  auto in_url = tern::Connection::connect(
      tern::test::fast_options("nats://alice:s3cret@127.0.0.1:" + std::to_string(server.port())));
  REQUIRE(in_url.is_ok());
}

TEST_CASE("token auth", "[client][connect][auth]") {
  ServerProcess server;
  REQUIRE(server.start({"--auth", "t0ken"}));
  auto bad = tern::Connection::connect(tern::test::fast_options(server.url()));
  REQUIRE(!bad.is_ok());
  CHECK(error_code(bad.status()) == ErrorCode::AuthFailed);
  auto opts = tern::test::fast_options(server.url());
  opts.token = "t0ken";
  auto good = tern::Connection::connect(opts);
  REQUIRE(good.is_ok());
  auto in_url =
      tern::Connection::connect(tern::test::fast_options("nats://t0ken@127.0.0.1:" + std::to_string(server.port())));
  REQUIRE(in_url.is_ok());
}

TEST_CASE("error codes round-trip through Status", "[client][errors]") {
  auto st = tern::make_error(ErrorCode::NoResponders, "nobody home");
  CHECK(st.message() == "no_responders: nobody home");
  CHECK(error_code(st) == ErrorCode::NoResponders);
  CHECK(error_code(tern::Status::ok()) == ErrorCode::Ok);
  CHECK(error_code(tern::Status::error("something else")) == ErrorCode::Unknown);
  CHECK(error_code(tern::Status::error("ok: sneaky")) == ErrorCode::Unknown);
}

TEST_CASE("verbose and pedantic connections work (+OK lines are skipped)", "[client][connect]") {
  ServerProcess server;
  REQUIRE(server.start());
  auto opts = tern::test::fast_options(server.url());
  opts.verbose = true;
  opts.pedantic = true;
  opts.name = "verbose-client";
  auto conn = tern::test::connect_or_fail(server.url(), opts);
  auto sub = conn->subscribe_sync("v.>");
  REQUIRE(sub.is_ok());
  REQUIRE(conn->publish("v.1", "one").is_ok());
  REQUIRE(conn->flush(2s).is_ok());
  auto m = sub->next(2s);
  REQUIRE(m.is_ok());
  CHECK(m->data == "one");
  auto r = conn->request("nobody.here", "", 2s);
  CHECK(error_code(r.status()) == ErrorCode::NoResponders);
}
