// tern bench with small counts: it finishes and its figures add up (the speed is not checked).

#include <catch2/catch.hpp>
#include <regex>

#include "tests/cli/cli_process.h"
#include "tests/support/server_process.h"

using tern::test::lines;
using tern::test::run_cli;
using tern::test::ServerProcess;

namespace {

// " [n] 1,234 msgs/sec ~ 0.12 MB/sec (N msgs)" and the "X stats:" total line.
std::regex rate(const std::string& head, const std::string& msgs) {
  return std::regex(head + R"( [\d,]+ msgs/sec ~ \d+\.\d\d MB/sec \()" + msgs + R"( msgs\))");
}

}  // namespace

TEST_CASE("bench pub/sub: every subscriber gets every message and per-client counts add up") {
  ServerProcess server;
  REQUIRE(server.start());
  auto r =
      run_cli({"bench", "-s", server.url(), "bench.ps", "--pub", "2", "--sub", "2", "--msgs", "1000", "--size", "16"},
              "", std::chrono::seconds(5));
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());  // stderr is not a terminal: no progress bar
  auto got = lines(r.out);
  REQUIRE(got.size() == 8);
  CHECK(got[0] == "Starting pub/sub benchmark [subject=bench.ps, msgs=1,000, size=16 B, pubs=2, subs=2]");
  CHECK(got[1].empty());
  CHECK(std::regex_match(got[2], rate("Pub stats:", "1,000")));
  CHECK(std::regex_match(got[3], rate(R"( \[1\])", "500")));
  CHECK(std::regex_match(got[4], rate(R"( \[2\])", "500")));
  CHECK(std::regex_match(got[5], rate("Sub stats:", "2,000")));
  CHECK(std::regex_match(got[6], rate(R"( \[1\])", "1,000")));
  CHECK(std::regex_match(got[7], rate(R"( \[2\])", "1,000")));
}

TEST_CASE("bench pub only (--sub 0) prints the publisher side") {
  ServerProcess server;
  REQUIRE(server.start());
  auto r = run_cli({"bench", "-s", server.url(), "bench.p", "--msgs", "500"});
  REQUIRE(r.exit_code == 0);
  auto got = lines(r.out);
  REQUIRE(got.size() == 4);
  CHECK(got[0] == "Starting pub/sub benchmark [subject=bench.p, msgs=500, size=128 B, pubs=1, subs=0]");
  CHECK(std::regex_match(got[2], rate("Pub stats:", "500")));
  CHECK(std::regex_match(got[3], rate(R"( \[1\])", "500")));
}

TEST_CASE("bench --request: built-in responder and latency percentiles") {
  ServerProcess server;
  REQUIRE(server.start());
  auto r = run_cli({"bench", "-s", server.url(), "bench.rr", "--request", "--pub", "2", "--msgs", "200", "--size", "8"},
                   "", std::chrono::seconds(5));
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  auto got = lines(r.out);
  REQUIRE(got.size() == 8);
  CHECK(got[0] == "Starting request/reply benchmark [subject=bench.rr, msgs=200, size=8 B, pubs=2, responders=1]");
  CHECK(std::regex_match(got[2], rate("Pub stats:", "200")));
  CHECK(std::regex_match(got[3], rate(R"( \[1\])", "100")));
  CHECK(std::regex_match(got[4], rate(R"( \[2\])", "100")));
  CHECK(std::regex_match(got[5], rate("Sub stats:", "200")));
  CHECK(std::regex_match(got[6], rate(R"( \[1\])", "200")));
  const std::string d = R"([0-9.]+(ns|µs|ms|s))";
  CHECK(std::regex_match(got[7], std::regex("Latency: min " + d + ", p50 " + d + ", p90 " + d + ", p99 " + d +
                                            ", max " + d + R"( \(200 requests\))")));
}

TEST_CASE("bench --request --external with no service: no responders and exit 1") {
  ServerProcess server;
  REQUIRE(server.start());
  auto r = run_cli({"bench", "-s", server.url(), "bench.none", "--request", "--external", "--msgs", "10"});
  CHECK(r.exit_code == 1);
  CHECK(lines(r.err).back() == "tern: no responders available for request");
}
