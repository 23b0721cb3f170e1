// tern server info and tern server ping.

#include <catch2/catch.hpp>
#include <regex>

#include "tests/cli/cli_process.h"
#include "tests/support/server_process.h"

using tern::test::lines;
using tern::test::run_cli;
using tern::test::ServerProcess;

TEST_CASE("server info prints the INFO fields of the connection") {
  ServerProcess server;
  REQUIRE(server.start());
  auto r = run_cli({"server", "info", "-s", server.url()});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  auto got = lines(r.out);
  REQUIRE(got.size() == 12);
  const std::string port = std::to_string(server.port());
  CHECK(got[0] == "Server information for nats://127.0.0.1:" + port);
  CHECK(got[1].empty());
  CHECK(std::regex_match(got[2], std::regex(R"(  Server ID:      [A-Z0-9]{20,})")));
  CHECK(std::regex_match(got[3], std::regex(R"(  Server Name:    \S+)")));
  CHECK(std::regex_match(got[4], std::regex(R"(  Version:        \d+\.\d+\.\d+.*)")));
  CHECK(got[5] == "  Host:           127.0.0.1:" + port);
  CHECK(got[6] == "  Max Payload:    1048576");
  CHECK(got[7] == "  Headers:        true");
  CHECK(got[8] == "  JetStream:      false");
  CHECK(got[9] == "  Auth Required:  false");
  CHECK(std::regex_match(got[10], std::regex(R"(  Client ID:      [1-9]\d*)")));
  CHECK(got[11] == "  Connected URL:  nats://127.0.0.1:" + port);
}

TEST_CASE("server ping prints one round trip per ping then min/avg/max") {
  ServerProcess server;
  REQUIRE(server.start());
  auto r = run_cli({"server", "ping", "-s", server.url(), "--count", "3", "--interval", "10ms"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  auto got = lines(r.out);
  REQUIRE(got.size() == 6);
  const std::string url = "nats://127\\.0\\.0\\.1:" + std::to_string(server.port());
  const std::string d = R"([0-9.]+(ns|µs|ms|s))";
  for (int i = 0; i < 3; ++i) {
    CHECK(std::regex_match(got[i], std::regex("PONG from " + url + ": seq=" + std::to_string(i + 1) + " time=" + d)));
  }
  CHECK(got[3].empty());
  CHECK(std::regex_match(got[4], std::regex("--- " + url + " ping statistics ---")));
  CHECK(std::regex_match(got[5], std::regex("3 pings, min/avg/max = " + d + "/" + d + "/" + d)));
}
