// tern pub and tern sub against a real server: exact output, --count, --raw, headers,
// templates, stdin bodies, queue groups, Ctrl-C.

#include <signal.h>

#include <catch2/catch.hpp>
#include <regex>

#include "tests/cli/cli_process.h"
#include "tests/support/server_process.h"

using tern::test::CliProcess;
using tern::test::lines;
using tern::test::run_cli;
using tern::test::ServerProcess;

namespace {

// Starts `tern sub ARGS` and waits until it has subscribed.
void start_sub(CliProcess& sub, const ServerProcess& server, std::vector<std::string> args) {
  args.insert(args.begin(), {"sub", "-s", server.url()});
  sub.start(args);
  REQUIRE(sub.wait_err("Subscribing on "));
}

}  // namespace

TEST_CASE("pub then sub: the subscriber prints the message and exits after --count 1") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess sub;
  start_sub(sub, server, {"greet.*", "--count", "1"});

  auto pub = run_cli({"pub", "-s", server.url(), "greet.joe", "hello"});
  CHECK(pub.exit_code == 0);
  CHECK(pub.out.empty());
  CHECK(pub.err == "Published 5 bytes to \"greet.joe\"\n");

  auto r = sub.wait();
  CHECK(r.exit_code == 0);
  CHECK(r.out == "[#1] Received on \"greet.joe\"\nhello\n\n");
  CHECK(r.err == "Subscribing on greet.*\n");
}

TEST_CASE("pub --count numbers the messages and sub shows the reply subject and stops at --count") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess sub;
  start_sub(sub, server, {"orders", "--count", "3"});

  auto pub = run_cli({"pub", "-s", server.url(), "orders", "order {{Count}}", "--count", "4", "--reply", "done.x"});
  CHECK(pub.exit_code == 0);
  CHECK(lines(pub.err) == std::vector<std::string>(4, "Published 7 bytes to \"orders\""));

  auto r = sub.wait();
  CHECK(r.exit_code == 0);
  CHECK(r.out ==
        "[#1] Received on \"orders\" with reply \"done.x\"\norder 1\n\n"
        "[#2] Received on \"orders\" with reply \"done.x\"\norder 2\n\n"
        "[#3] Received on \"orders\" with reply \"done.x\"\norder 3\n\n");
}

TEST_CASE("sub --raw prints payloads only and one per line") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess sub;
  start_sub(sub, server, {"raw.x", "--raw", "--count", "2"});
  REQUIRE(run_cli({"pub", "-s", server.url(), "raw.x", "m{{Count}}", "--count", "2", "-q"}).exit_code == 0);
  auto r = sub.wait();
  CHECK(r.exit_code == 0);
  CHECK(r.out == "m1\nm2\n");
}

TEST_CASE("pub -H sends headers which sub prints before a blank line and whose values are templates") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess sub;
  start_sub(sub, server, {"hdr", "--count", "1"});
  auto pub = run_cli({"pub", "-s", server.url(), "hdr", "body", "-H", "Trace-Id: abc, def", "-H", "Seq:{{Count}}"});
  REQUIRE(pub.exit_code == 0);
  auto r = sub.wait();
  CHECK(r.exit_code == 0);
  CHECK(r.out == "[#1] Received on \"hdr\"\nTrace-Id: abc, def\nSeq: 1\n\nbody\n\n");
}

TEST_CASE("sub --headers-only leaves the payload out") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess sub;
  start_sub(sub, server, {"hdr", "--count", "1", "--headers-only"});
  REQUIRE(run_cli({"pub", "-s", server.url(), "hdr", "secret body", "-H", "A:1"}).exit_code == 0);
  auto r = sub.wait();
  CHECK(r.exit_code == 0);
  CHECK(r.out == "[#1] Received on \"hdr\"\nA: 1\n\n");
}

TEST_CASE("pub templates Random TimeStamp Unix and --no-templates sends the text as it is") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess sub;
  start_sub(sub, server, {"tpl", "--raw", "--count", "2"});
  REQUIRE(run_cli({"pub", "-s", server.url(), "tpl",
                   "{{Count}}|{{Random(5,5)}}|{{ Random 2 3 }}|{{TimeStamp}}|{{Unix}}|{{Nope}}"})
              .exit_code == 0);
  REQUIRE(run_cli({"pub", "-s", server.url(), "tpl", "{{Count}} {{Random(1,2)}}", "--no-templates"}).exit_code == 0);
  auto r = sub.wait();
  REQUIRE(r.exit_code == 0);
  auto got = lines(r.out);
  REQUIRE(got.size() == 2);
  std::regex expanded(
      R"(1\|[0-9A-Za-z]{5}\|[0-9A-Za-z]{2,3}\|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)\|\d{10}\|\{\{Nope\}\})");
  CHECK(std::regex_match(got[0], expanded));
  CHECK(got[1] == "{{Count}} {{Random(1,2)}}");
}

TEST_CASE("pub without BODY publishes all of stdin as one message") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess sub;
  start_sub(sub, server, {"in", "--count", "1"});
  auto pub = run_cli({"pub", "-s", server.url(), "in"}, "line 1\nline 2\n");
  CHECK(pub.exit_code == 0);
  CHECK(pub.err == "Published 14 bytes to \"in\"\n");
  auto r = sub.wait();
  CHECK(r.out == "[#1] Received on \"in\"\nline 1\nline 2\n\n");
}

TEST_CASE("sub --queue joins a queue group and global options may precede the command") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess sub;
  sub.start({"-s", server.url(), "sub", "work", "--queue", "workers", "--count", "1"});
  REQUIRE(sub.wait_err("Subscribing on work in group workers\n"));
  REQUIRE(run_cli({"--server", server.url(), "pub", "work", "job"}).exit_code == 0);
  auto r = sub.wait();
  CHECK(r.exit_code == 0);
  CHECK(r.out == "[#1] Received on \"work\"\njob\n\n");
}

TEST_CASE("NATS_URL is the default server") {
  ServerProcess server;
  REQUIRE(server.start());
  CliProcess sub;
  sub.start({"sub", "env.x", "--count", "1"}, "", {"NATS_URL=" + server.url()});
  REQUIRE(sub.wait_err("Subscribing on env.x"));
  REQUIRE(run_cli({"pub", "env.x", "hi"}, "", std::chrono::seconds(4), {"NATS_URL=" + server.url()}).exit_code == 0);
  CHECK(sub.wait().out == "[#1] Received on \"env.x\"\nhi\n\n");
}

TEST_CASE("sub exits cleanly with 0 on SIGINT and on SIGTERM") {
  ServerProcess server;
  REQUIRE(server.start());
  for (int sig : {SIGINT, SIGTERM}) {
    CliProcess sub;
    start_sub(sub, server, {"quiet.>"});
    sub.signal(sig);
    auto r = sub.wait();
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
    CHECK(r.err == "Subscribing on quiet.>\n");
  }
}

TEST_CASE("pub --sleep waits between messages") {
  ServerProcess server;
  REQUIRE(server.start());
  auto start = std::chrono::steady_clock::now();
  auto pub = run_cli({"pub", "-s", server.url(), "slow", "x", "--count", "3", "--sleep", "100ms"});
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(pub.exit_code == 0);
  CHECK(lines(pub.err).size() == 3);
  CHECK(took >= std::chrono::milliseconds(200));
}

TEST_CASE("pub -q prints nothing and a payload over max_payload fails with one line") {
  ServerProcess server;
  REQUIRE(server.start({"-c", tern::test::write_temp_file("max_payload: 1024\n")}));
  auto ok = run_cli({"pub", "-s", server.url(), "q", "x", "-q"});
  CHECK(ok.exit_code == 0);
  CHECK(ok.err.empty());
  auto big = run_cli({"pub", "-s", server.url(), "q"}, std::string(2000, 'x'));
  CHECK(big.exit_code == 1);
  CHECK(big.err.starts_with("tern: publish to \"q\" failed: "));
  CHECK(lines(big.err).size() == 1);
}

TEST_CASE("credentials: --user/--password and --token authenticate and wrong ones fail with exit 1") {
  ServerProcess users;
  REQUIRE(users.start({"--user", "alice", "--pass", "s3cret"}));
  CHECK(run_cli({"pub", "-s", users.url(), "--user", "alice", "--password", "s3cret", "a", "b"}).exit_code == 0);
  auto bad = run_cli({"pub", "-s", users.url(), "--user", "alice", "--password", "nope", "a", "b"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.starts_with("tern: cannot connect to " + users.url() + ": "));
  CHECK(lines(bad.err).size() == 1);

  ServerProcess tokens;
  REQUIRE(tokens.start({"--auth", "t0k"}));
  CHECK(run_cli({"pub", "-s", tokens.url(), "--token", "t0k", "a", "b"}).exit_code == 0);
  CHECK(run_cli({"pub", "-s", tokens.url(), "--token", "bad", "a", "b"}).exit_code == 1);
}
