// tern req and tern reply: round trips, templates in answers, echo, --command, no
// responders, timeouts.

#include <signal.h>

#include <catch2/catch.hpp>
#include <regex>

#include "tests/cli/cli_process.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

using tern::test::CliProcess;
using tern::test::lines;
using tern::test::RawClient;
using tern::test::run_cli;
using tern::test::ServerProcess;

namespace {

void start_reply(CliProcess& reply, const ServerProcess& server, std::vector<std::string> args) {
  args.insert(args.begin(), {"reply", "-s", server.url()});
  reply.start(args);
  REQUIRE(reply.wait_err("Listening on "));
}

}  // namespace

TEST_CASE("req gets the reply's body and reply answers with its templated BODY and stops at --count") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess reply;
  start_reply(reply, server, {"svc.greet", "answer {{Count}} to {{Request}}", "--count", "2"});
  CHECK(reply.err() == "Listening on \"svc.greet\" in group \"NATS-RPLY-22\"\n");

  auto first = run_cli({"req", "-s", server.url(), "svc.greet", "hi"});
  CHECK(first.exit_code == 0);
  CHECK(first.out == "answer 1 to hi\n\n");
  REQUIRE(lines(first.err).size() == 2);
  CHECK(lines(first.err)[0] == "Sending request on \"svc.greet\"");
  CHECK(std::regex_match(lines(first.err)[1], std::regex(R"(Received with rtt [0-9.]+(ns|µs|ms|s))")));

  auto second = run_cli({"req", "-s", server.url(), "svc.greet", "there", "--raw"});
  CHECK(second.exit_code == 0);
  CHECK(second.out == "answer 2 to there\n");
  CHECK(second.err.empty());

  auto r = reply.wait();
  CHECK(r.exit_code == 0);
  std::regex printed(
      "\\[#1\\] Received on \"svc\\.greet\" with reply \"_INBOX\\.[^\"]+\"\nhi\n\n"
      "\\[#2\\] Received on \"svc\\.greet\" with reply \"_INBOX\\.[^\"]+\"\nthere\n\n");
  CHECK(std::regex_match(r.out, printed));
}

TEST_CASE("reply --echo sends the request back with its headers and req prints headers then body") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess reply;
  start_reply(reply, server, {"echo", "--echo", "--count", "1"});
  auto r = run_cli({"req", "-s", server.url(), "echo", "ping", "-H", "Key: value"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Key: value\n\nping\n\n");
  CHECK(reply.wait().exit_code == 0);
}

TEST_CASE("reply --command answers with the command's stdout and gets the request body on its stdin") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess reply;
  start_reply(reply, server,
              {"upper", "--command", "tr a-z A-Z; printf ' %s' \"$NATS_REQUEST_SUBJECT\"", "--count", "1"});
  auto r = run_cli({"req", "-s", server.url(), "upper", "hello", "--raw"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "HELLO upper\n");
  CHECK(reply.wait().exit_code == 0);
}

TEST_CASE("req with nobody listening: no responders and exit 1") {
  ServerProcess server;
  REQUIRE(server.start());
  auto r = run_cli({"req", "-s", server.url(), "nobody.home", "x"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "Sending request on \"nobody.home\"\ntern: no responders available for request\n");
}

TEST_CASE("req times out after --timeout when the subscriber never answers") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess silent;
  silent.start({"sub", "-s", server.url(), "silent"});
  REQUIRE(silent.wait_err("Subscribing on silent"));
  auto start = std::chrono::steady_clock::now();
  auto r = run_cli({"req", "-s", server.url(), "silent", "x", "--timeout", "300ms"});
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "Sending request on \"silent\"\ntern: no reply on \"silent\" within 300ms (timeout)\n");
  CHECK(took >= std::chrono::milliseconds(300));
  CHECK(took < std::chrono::seconds(2));
}

TEST_CASE("two replies in the default queue group share the requests") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess a;
  CliProcess b;
  start_reply(a, server, {"shared", "from a"});
  start_reply(b, server, {"shared", "from b"});
  for (int i = 0; i < 6; ++i) {
    auto r = run_cli({"req", "-s", server.url(), "shared", "q", "--raw"});
    REQUIRE(r.exit_code == 0);
    CHECK((r.out == "from a\n" || r.out == "from b\n"));
  }
  a.signal(SIGINT);
  b.signal(SIGINT);
  auto ra = a.wait();
  auto rb = b.wait();
  CHECK(ra.exit_code == 0);
  CHECK(rb.exit_code == 0);
  // Each request was answered exactly once.
  auto count = [](const std::string& s) {
    size_t n = 0;
    for (size_t at = s.find("Received on"); at != std::string::npos; at = s.find("Received on", at + 1)) ++n;
    return n;
  };
  CHECK(count(ra.out) + count(rb.out) == 6);
}

TEST_CASE("req shows the reply subject a reply carries, so a pulled message can be acked") {
  ServerProcess server;
  REQUIRE(server.start());
  // A responder that answers the way a JetStream pull does: the answer has its own reply
  // subject (there, the $JS.ACK subject to acknowledge it on).
  RawClient responder;
  REQUIRE(responder.handshake(server.port()));
  REQUIRE(responder.send("SUB svc.pull 1\r\nPING\r\n"));
  REQUIRE(responder.read_line() == "PONG");

  CliProcess req;
  req.start({"req", "-s", server.url(), "svc.pull", "next"});
  auto request = responder.read_msg();
  REQUIRE(request);
  REQUIRE(responder.send("PUB " + request->reply + " orders.ack.7 4\r\nwork\r\n"));

  auto r = req.wait();
  CHECK(r.exit_code == 0);
  CHECK(r.out == "work\n\n");
  REQUIRE(lines(r.err).size() == 3);
  CHECK(lines(r.err)[2] == "Received on \"" + request->reply + "\" with reply \"orders.ack.7\"");
}
