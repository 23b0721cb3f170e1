// Compat: authentication (token, user/password, config-file users) as an application using
// the NATS C client sees it. A rejected CONNECT gets -ERR 'Authorization Violation' from the
// server; libnats turns that into NATS_CONNECTION_AUTH_FAILED from natsConnection_Connect.

#include <nats/nats.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/compat/libnats_support.h"
#include "tests/support/server_process.h"

using namespace tern::test::libnats;
using namespace std::chrono_literals;
using tern::test::ServerProcess;
using tern::test::write_temp_file;

namespace {

std::string url_with(const ServerProcess& server, const std::string& userinfo) {
  return "nats://" + userinfo + "@127.0.0.1:" + std::to_string(server.port());
}

// Outcome of one connect attempt: the status, the library's last error text, and the
// connection when it succeeded.
struct Attempt {
  natsStatus status = NATS_ERR;
  std::string error;
  Conn conn;
};

Attempt try_connect(const ServerProcess& server, const char* user, const char* pass, const char* token,
                    const std::string& url = {}) {
  Opts opts = options_for(server, url);
  natsOptions* o = opts.get();
  REQUIRE(natsOptions_SetAllowReconnect(o, false) == NATS_OK);
  if (user != nullptr || pass != nullptr) REQUIRE(natsOptions_SetUserInfo(o, user, pass) == NATS_OK);
  if (token != nullptr) REQUIRE(natsOptions_SetToken(o, token) == NATS_OK);

  Attempt a;
  natsConnection* nc = nullptr;
  a.status = natsConnection_Connect(&nc, o);
  if (a.status != NATS_OK) {
    natsStatus last = NATS_OK;
    const char* text = nats_GetLastError(&last);
    a.error = text ? text : "";
  }
  a.conn.reset(nc);
  return a;
}

// Proves an authenticated connection is fully usable: subscribe, publish, receive.
void check_round_trip(natsConnection* nc) {
  Sub sub = subscribe_sync(nc, "auth.rt");
  REQUIRE(natsConnection_PublishString(nc, "auth.rt", "authed") == NATS_OK);
  flush(nc);
  Msg msg = next_msg(sub.get());
  CHECK(data_of(msg.get()) == "authed");
}

void check_rejected(const Attempt& a) {
  INFO("last error: " << a.error);
  CHECK(a.status == NATS_CONNECTION_AUTH_FAILED);
  CHECK(a.conn == nullptr);
  CHECK(a.error.find("Authorization Violation") != std::string::npos);
}

}  // namespace

TEST_CASE("libnats: token auth (--auth) accepts the right token via options and via the URL",
          "[compat][libnats][auth]") {
  ServerProcess server;
  start(server, {"--auth", "s3cr3t-tok"});

  Attempt by_option = try_connect(server, nullptr, nullptr, "s3cr3t-tok");
  REQUIRE(by_option.status == NATS_OK);
  check_round_trip(by_option.conn.get());

  Attempt by_url = try_connect(server, nullptr, nullptr, nullptr, url_with(server, "s3cr3t-tok"));
  REQUIRE(by_url.status == NATS_OK);
  check_round_trip(by_url.conn.get());
}

TEST_CASE("libnats: token auth rejects a wrong or missing token with NATS_CONNECTION_AUTH_FAILED",
          "[compat][libnats][auth]") {
  ServerProcess server;
  start(server, {"--auth", "s3cr3t-tok"});

  auto t0 = std::chrono::steady_clock::now();
  check_rejected(try_connect(server, nullptr, nullptr, "wrong-tok"));
  check_rejected(try_connect(server, nullptr, nullptr, nullptr));
  check_rejected(try_connect(server, "user", "s3cr3t-tok", nullptr));  // right secret, wrong mechanism
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);                   // rejected promptly, no auth timeout

  // The server is still healthy for a good client.
  Attempt good = try_connect(server, nullptr, nullptr, "s3cr3t-tok");
  CHECK(good.status == NATS_OK);
}

TEST_CASE("libnats: user/password auth (--user/--pass) accepts the right credentials via options and URL",
          "[compat][libnats][auth]") {
  ServerProcess server;
  start(server, {"--user", "alice", "--pass", "pa55word"});

  Attempt by_option = try_connect(server, "alice", "pa55word", nullptr);
  REQUIRE(by_option.status == NATS_OK);
  check_round_trip(by_option.conn.get());

  Attempt by_url = try_connect(server, nullptr, nullptr, nullptr, url_with(server, "alice:pa55word"));
  REQUIRE(by_url.status == NATS_OK);
  check_round_trip(by_url.conn.get());
}

TEST_CASE("libnats: user/password auth rejects wrong password, wrong user and missing credentials",
          "[compat][libnats][auth]") {
  ServerProcess server;
  start(server, {"--user", "alice", "--pass", "pa55word"});

  SECTION("wrong password") { check_rejected(try_connect(server, "alice", "nope", nullptr)); }
  SECTION("wrong user") { check_rejected(try_connect(server, "mallory", "pa55word", nullptr)); }
  SECTION("password case matters") { check_rejected(try_connect(server, "alice", "PA55WORD", nullptr)); }
  SECTION("no credentials") { check_rejected(try_connect(server, nullptr, nullptr, nullptr)); }
  SECTION("token instead of user/password") { check_rejected(try_connect(server, nullptr, nullptr, "pa55word")); }
  SECTION("wrong password in the URL") {
    check_rejected(try_connect(server, nullptr, nullptr, nullptr, url_with(server, "alice:bad")));
  }
}

TEST_CASE("libnats: config-file users list accepts each listed user and rejects others", "[compat][libnats][auth]") {
  const std::string conf = write_temp_file(R"(
authorization {
  users = [
    { user: "svc-a", password: "pw-a" }
    { user: "svc-b", password: "pw-b" }
  ]
}
)");
  ServerProcess server;
  start(server, {"-c", conf});

  Attempt a = try_connect(server, "svc-a", "pw-a", nullptr);
  REQUIRE(a.status == NATS_OK);
  Attempt b = try_connect(server, "svc-b", "pw-b", nullptr);
  REQUIRE(b.status == NATS_OK);

  // Users can talk to each other (same account).
  Sub sub = subscribe_sync(b.conn.get(), "between.users");
  flush(b.conn.get());
  REQUIRE(natsConnection_PublishString(a.conn.get(), "between.users", "hi b") == NATS_OK);
  flush(a.conn.get());
  Msg msg = next_msg(sub.get());
  CHECK(data_of(msg.get()) == "hi b");

  check_rejected(try_connect(server, "svc-a", "pw-b", nullptr));  // another user's password
  check_rejected(try_connect(server, "svc-c", "pw-c", nullptr));
}

TEST_CASE("libnats: config-file token accepts the token and rejects a wrong one", "[compat][libnats][auth]") {
  const std::string conf = write_temp_file("authorization {\n  token: \"cfg-token-123\"\n}\n");
  ServerProcess server;
  start(server, {"-c", conf});

  Attempt good = try_connect(server, nullptr, nullptr, "cfg-token-123");
  REQUIRE(good.status == NATS_OK);
  check_round_trip(good.conn.get());
  check_rejected(try_connect(server, nullptr, nullptr, "cfg-token-12"));
}

TEST_CASE("libnats: without auth configured, a client that sends credentials still connects",
          "[compat][libnats][auth]") {
  ServerProcess server;
  start(server, {});
  Attempt with_token = try_connect(server, nullptr, nullptr, "unneeded");
  REQUIRE(with_token.status == NATS_OK);
  Attempt with_user = try_connect(server, "someone", "whatever", nullptr);
  REQUIRE(with_user.status == NATS_OK);
  check_round_trip(with_user.conn.get());
}
