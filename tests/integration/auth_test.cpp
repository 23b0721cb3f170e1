// Authentication and permissions (protocol spec sections 2 and 9): token, user/password,
// users lists with bcrypt hashes, and per-user publish/subscribe permissions, seen from a
// raw client. Configs use nats-server syntax, which tern-server reads too.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/protocol_helpers.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

using namespace std::chrono_literals;
using namespace tern::test;

namespace {

// bcrypt("s3cret") at cost 4, generated with python3 crypt (METHOD_BLOWFISH); the $2a$ form
// is the same hash with the older version prefix. nats-server accepts both.
constexpr const char* kBcrypt2b = "$2b$04$5fd.k0WxKgJDoVGQUyv7qeArmAQ6DLhs5IrCbNViEhMYILjVvfo8G";
constexpr const char* kBcrypt2a = "$2a$04$5fd.k0WxKgJDoVGQUyv7qeArmAQ6DLhs5IrCbNViEhMYILjVvfo8G";

// What the server answers to "CONNECT <json>\r\nPING\r\n" on a fresh connection: "PONG" when
// accepted, or everything it sent before closing.
std::string connect_reply(const ServerProcess& s, const std::string& json) {
  RawClient c;
  if (!c.connect_and_read_info(s.port())) return "<no INFO>";
  if (!c.send("CONNECT " + json + "\r\nPING\r\n")) return "<send failed>";
  auto line = c.read_line(3s);
  if (line && *line == "PONG") return "PONG";
  std::string out = line ? *line + "\r\n" : "";
  if (!c.wait_closed(3s)) return out + "<still open>";
  return out + c.drain(1ms);
}

const std::string kViolation = "-ERR 'Authorization Violation'\r\n";

nlohmann::json info_of(const ServerProcess& s) {
  RawClient c;
  std::string info;
  REQUIRE(c.connect_and_read_info(s.port(), &info));
  return nlohmann::json::parse(info);
}

}  // namespace

TEST_CASE("token auth from --auth: the right token connects, a wrong or missing one is refused", "[auth]") {
  ServerProcess s;
  REQUIRE(s.start({"--auth", "s3cret"}));
  CHECK(info_of(s)["auth_required"] == true);
  CHECK(connect_reply(s, R"({"verbose":false,"auth_token":"s3cret"})") == "PONG");
  CHECK(connect_reply(s, R"({"verbose":false,"auth_token":"wrong"})") == kViolation);
  CHECK(connect_reply(s, R"({"verbose":false})") == kViolation);
  CHECK(connect_reply(s, R"({"verbose":false,"user":"s3cret"})") == kViolation);
  CHECK(connect_reply(s, R"({"verbose":false,"pass":"s3cret"})") == kViolation);
}

TEST_CASE("token auth from a config file", "[auth]") {
  ServerProcess s;
  REQUIRE(s.start(with_config("authorization { token: \"s3cret\" }\n")));
  CHECK(info_of(s)["auth_required"] == true);
  CHECK(connect_reply(s, R"({"verbose":false,"auth_token":"s3cret"})") == "PONG");
  CHECK(connect_reply(s, R"({"verbose":false,"auth_token":"S3CRET"})") == kViolation);
  CHECK(connect_reply(s, R"({"verbose":false})") == kViolation);
}

TEST_CASE("user/password from --user/--pass", "[auth]") {
  ServerProcess s;
  REQUIRE(s.start({"--user", "alice", "--pass", "pw1"}));
  CHECK(info_of(s)["auth_required"] == true);
  CHECK(connect_reply(s, R"({"verbose":false,"user":"alice","pass":"pw1"})") == "PONG");
  CHECK(connect_reply(s, R"({"verbose":false,"user":"alice","pass":"bad"})") == kViolation);
  CHECK(connect_reply(s, R"({"verbose":false,"user":"bob","pass":"pw1"})") == kViolation);
  CHECK(connect_reply(s, R"({"verbose":false,"user":"alice"})") == kViolation);
  CHECK(connect_reply(s, R"({"verbose":false,"auth_token":"pw1"})") == kViolation);
}

TEST_CASE("user/password from a config file, and verbose +OK after a good CONNECT", "[auth]") {
  ServerProcess s;
  REQUIRE(s.start(with_config("authorization { user: alice, password: pw1 }\n")));
  CHECK(info_of(s)["auth_required"] == true);
  CHECK(connect_reply(s, R"({"verbose":false,"user":"alice","pass":"pw1"})") == "PONG");
  CHECK(connect_reply(s, R"({"verbose":false,"user":"alice","pass":"pw2"})") == kViolation);
  RawClient v;
  REQUIRE(v.connect_and_read_info(s.port()));
  REQUIRE(v.send("CONNECT {\"verbose\":true,\"user\":\"alice\",\"pass\":\"pw1\"}\r\nPING\r\n"));
  CHECK(next_line(v) == "+OK");
  CHECK(next_line(v) == "PONG");
}

TEST_CASE("a users list with plain and bcrypt passwords", "[auth]") {
  ServerProcess s;
  REQUIRE(s.start(with_config(std::string("authorization {\n  users = [\n") +
                              "    {user: alice, password: pw1}\n"
                              "    {user: bob, password: \"" + kBcrypt2a + "\"}\n"
                              "    {user: carol, password: \"" + kBcrypt2b + "\"}\n"
                              "  ]\n}\n")));
  CHECK(info_of(s)["auth_required"] == true);
  CHECK(connect_reply(s, R"({"verbose":false,"user":"alice","pass":"pw1"})") == "PONG");
  CHECK(connect_reply(s, R"({"verbose":false,"user":"bob","pass":"s3cret"})") == "PONG");
  CHECK(connect_reply(s, R"({"verbose":false,"user":"carol","pass":"s3cret"})") == "PONG");
  CHECK(connect_reply(s, R"({"verbose":false,"user":"bob","pass":"s3cret!"})") == kViolation);
  CHECK(connect_reply(s, R"({"verbose":false,"user":"alice","pass":"s3cret"})") == kViolation);
  CHECK(connect_reply(s, R"({"verbose":false,"user":"dave","pass":"pw1"})") == kViolation);
  // The hash itself is not a password.
  CHECK(connect_reply(s, std::string(R"({"verbose":false,"user":"bob","pass":")") + kBcrypt2a + "\"}") ==
        kViolation);
}

TEST_CASE("with auth on, a first op other than CONNECT gets -ERR 'Authorization Violation' and closes",
          "[auth]") {
  ServerProcess s;
  REQUIRE(s.start({"--auth", "s3cret"}));
  for (std::string op : {"PING\r\n", "SUB foo 1\r\n", "PUB foo 0\r\n\r\n"}) {
    INFO("first op: " << op);
    CHECK(output_until_close_after_info(s, op) == kViolation);
  }
}

TEST_CASE("without auth, INFO has no auth_required and any CONNECT is accepted", "[auth]") {
  ServerProcess s;
  REQUIRE(s.start());
  CHECK_FALSE(info_of(s).contains("auth_required"));
  CHECK(connect_reply(s, R"({"verbose":false,"user":"x","pass":"y","auth_token":"z"})") == "PONG");
}

TEST_CASE("users list permissions: publish allow/deny and subscribe deny", "[auth][permissions]") {
  ServerProcess s;
  REQUIRE(s.start(with_config(R"(authorization {
  users = [
    { user: alice, password: pw1, permissions: {
        publish: { allow: ["ok.>", "_INBOX.>"], deny: ["ok.secret"] }
        subscribe: { deny: ["nosub.>"] }
    } }
    { user: bob, password: pw2 }
  ]
}
)")));
  RawClient alice, bob;
  REQUIRE(alice.handshake(s.port(), R"({"verbose":false,"pedantic":false,"user":"alice","pass":"pw1"})"));
  REQUIRE(bob.handshake(s.port(), R"({"verbose":false,"pedantic":false,"user":"bob","pass":"pw2"})"));
  REQUIRE(bob.send("SUB > 1\r\n"));
  REQUIRE(until_pong(bob) == Lines{});

  SECTION("publish") {
    REQUIRE(alice.send("PUB ok.x 1\r\na\r\nPUB ok.secret 1\r\nb\r\nPUB other 1\r\nc\r\nPUB ok.y 1\r\nd\r\n"));
    // Denied publishes get an -ERR each; the connection stays open.
    CHECK(until_pong(alice) == Lines{"-ERR 'Permissions Violation for Publish to \"ok.secret\"'",
                                     "-ERR 'Permissions Violation for Publish to \"other\"'"});
    // Only the allowed messages are delivered.
    CHECK(until_pong(bob) == Lines{"MSG ok.x 1 1", "a", "MSG ok.y 1 1", "d"});
  }
  SECTION("subscribe") {
    REQUIRE(alice.send("SUB nosub.a 2\r\nSUB nosub.a q 3\r\nSUB fine 4\r\n"));
    CHECK(until_pong(alice) ==
          Lines{"-ERR 'Permissions Violation for Subscription to \"nosub.a\"'",
                "-ERR 'Permissions Violation for Subscription to \"nosub.a\" using queue \"q\"'"});
    REQUIRE(bob.send("PUB nosub.a 1\r\nx\r\nPUB fine 1\r\ny\r\n"));
    REQUIRE(until_pong(bob) == Lines{"MSG nosub.a 1 1", "x", "MSG fine 1 1", "y"});
    CHECK(until_pong(alice) == Lines{"MSG fine 4 1", "y"});
  }
  SECTION("verbose: a denied PUB or SUB gets the -ERR and no +OK") {
    RawClient v;
    REQUIRE(v.handshake(s.port(), R"({"verbose":true,"user":"alice","pass":"pw1"})"));
    REQUIRE(v.send("PUB other 1\r\nc\r\nSUB nosub.b 5\r\nPUB ok.z 1\r\ne\r\n"));
    CHECK(until_pong(v) == Lines{"-ERR 'Permissions Violation for Publish to \"other\"'",
                                 "-ERR 'Permissions Violation for Subscription to \"nosub.b\"'", "+OK"});
  }
}
