// tern bench and tern bench js with small counts: they finish and their figures add up (the
// speed is not checked).

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
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

// ---------------------------------------------------------------------------------------
// tern bench js pub|fetch

namespace {

// A server with JetStream on a fresh store dir.
struct JetStreamServer {
  std::string dir;
  ServerProcess server;
  JetStreamServer() {
    char tmpl[] = "/tmp/tern-cli-bench-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    REQUIRE(server.start({"-js", "-sd", dir}));
  }
  ~JetStreamServer() {
    server.stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  // A JetStream API request through `tern req`; its JSON answer.
  nlohmann::json api(const std::string& subject) const {
    auto r = run_cli({"req", "-s", server.url(), subject, ""});
    REQUIRE(r.exit_code == 0);
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    INFO(r.out);
    REQUIRE(doc.is_object());
    return doc;
  }
};

// The message counts of " [n] ..." lines, e.g. 1,000 -> 1000.
uint64_t msgs_of(const std::string& line) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex(R"(\(([\d,]+) msgs\)$)"))) return 0;
  std::string digits = m[1];
  digits.erase(std::remove(digits.begin(), digits.end(), ','), digits.end());
  return std::stoull(digits);
}

}  // namespace

TEST_CASE("bench js pub: creates the stream, every publish is acked and stored") {
  JetStreamServer s;
  auto r = run_cli({"bench", "js", "pub", "-s", s.server.url(), "bench.js", "--msgs", "2000", "--pub", "2"}, "",
                   std::chrono::seconds(10));
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  auto got = lines(r.out);
  REQUIRE(got.size() == 5);
  CHECK(got[0] ==
        "Starting JetStream publish benchmark [subject=bench.js, stream=benchstream, msgs=2,000, size=128 B, pubs=2, "
        "window=256]");
  CHECK(got[1].empty());
  CHECK(std::regex_match(got[2], rate("Pub stats:", "2,000")));
  CHECK(std::regex_match(got[3], rate(R"( \[1\])", "1,000")));
  CHECK(std::regex_match(got[4], rate(R"( \[2\])", "1,000")));

  auto info = s.api("$JS.API.STREAM.INFO.benchstream");
  CHECK(info["state"]["messages"] == 2000);
  CHECK(info["state"]["bytes"].get<uint64_t>() > 2000 * 128);
  CHECK(info["config"]["subjects"] == nlohmann::json::array({"bench.js"}));
  CHECK(info["config"]["storage"] == "file");
}

TEST_CASE("bench js pub --sync: ack latency percentiles, --storage memory, --purge empties the stream first") {
  JetStreamServer s;
  auto r = run_cli({"bench", "js", "pub", "-s", s.server.url(), "bench.mem", "--stream", "MEM", "--storage", "memory",
                    "--sync", "--msgs", "300", "--size", "16"},
                   "", std::chrono::seconds(10));
  CHECK(r.exit_code == 0);
  auto got = lines(r.out);
  REQUIRE(got.size() == 5);
  CHECK(got[0] ==
        "Starting JetStream publish benchmark [subject=bench.mem, stream=MEM, msgs=300, size=16 B, pubs=1, sync]");
  CHECK(std::regex_match(got[2], rate("Pub stats:", "300")));
  const std::string d = R"([0-9.]+(ns|µs|ms|s))";
  CHECK(std::regex_match(got[4], std::regex("Latency: min " + d + ", p50 " + d + ", p90 " + d + ", p99 " + d +
                                            ", max " + d + R"( \(300 acks\))")));
  auto info = s.api("$JS.API.STREAM.INFO.MEM");
  CHECK(info["config"]["storage"] == "memory");
  CHECK(info["state"]["messages"] == 300);

  r = run_cli({"bench", "js", "pub", "-s", s.server.url(), "bench.mem", "--stream", "MEM", "--purge", "--msgs", "100"},
              "", std::chrono::seconds(10));
  CHECK(r.exit_code == 0);
  info = s.api("$JS.API.STREAM.INFO.MEM");
  CHECK(info["state"]["messages"] == 100);
  CHECK(info["state"]["first_seq"] == 301);
}

TEST_CASE("bench js pub: publishes no stream captures fail, are counted and exit 1") {
  JetStreamServer s;
  // OTHER captures only other.x, so publishes to bench.lost get no ack.
  REQUIRE(
      run_cli({"bench", "js", "pub", "-s", s.server.url(), "other.x", "--stream", "OTHER", "--msgs", "1"}).exit_code ==
      0);
  auto r = run_cli({"bench", "js", "pub", "-s", s.server.url(), "bench.lost", "--stream", "OTHER", "--msgs", "20"}, "",
                   std::chrono::seconds(10));
  CHECK(r.exit_code == 1);
  auto got = lines(r.out);
  REQUIRE(got.size() == 4);
  CHECK(std::regex_match(got[2], rate("Pub stats:", "0")));
  REQUIRE(lines(r.err).size() == 1);
  CHECK(r.err.starts_with("tern: bench js pub: 20 of 20 publishes failed; the first: "));
  CHECK(s.api("$JS.API.STREAM.INFO.OTHER")["state"]["messages"] == 1);
}

TEST_CASE("bench js fetch: workers consume and ack every message") {
  JetStreamServer s;
  REQUIRE(run_cli({"bench", "js", "pub", "-s", s.server.url(), "bench.f", "--msgs", "2000", "--size", "64"}, "",
                  std::chrono::seconds(10))
              .exit_code == 0);
  auto r = run_cli({"bench", "js", "fetch", "-s", s.server.url(), "--msgs", "2000", "--sub", "2", "--batch", "50"}, "",
                   std::chrono::seconds(10));
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  auto got = lines(r.out);
  REQUIRE(got.size() == 5);
  CHECK(
      got[0] ==
      "Starting JetStream fetch benchmark [stream=benchstream, consumer=benchconsumer, msgs=2,000, batch=50, subs=2]");
  CHECK(std::regex_match(got[2], rate("Fetch stats:", "2,000")));
  CHECK(std::regex_match(got[3], rate(R"( \[1\])", R"([\d,]+)")));
  CHECK(std::regex_match(got[4], rate(R"( \[2\])", R"([\d,]+)")));
  CHECK(msgs_of(got[3]) + msgs_of(got[4]) == 2000);

  auto info = s.api("$JS.API.CONSUMER.INFO.benchstream.benchconsumer");
  CHECK(info["config"]["ack_policy"] == "explicit");
  CHECK(info["num_ack_pending"] == 0);
  CHECK(info["num_pending"] == 0);
  CHECK(info["ack_floor"]["stream_seq"] == 2000);
}

TEST_CASE("bench js fetch: fewer messages than --msgs: reports what came, then exit 1") {
  JetStreamServer s;
  REQUIRE(run_cli({"bench", "js", "pub", "-s", s.server.url(), "bench.few", "--msgs", "30"}).exit_code == 0);
  auto r = run_cli({"bench", "js", "fetch", "-s", s.server.url(), "--msgs", "100", "--timeout", "300ms"}, "",
                   std::chrono::seconds(5));
  CHECK(r.exit_code == 1);
  auto got = lines(r.out);
  REQUIRE(got.size() == 4);
  CHECK(std::regex_match(got[2], rate("Fetch stats:", "30")));
  CHECK(r.err ==
        "tern: bench js fetch: fetched 30 of 100 messages: no more arrived within 300ms (does the stream hold "
        "enough?)\n");
  CHECK(s.api("$JS.API.CONSUMER.INFO.benchstream.benchconsumer")["num_ack_pending"] == 0);
}

TEST_CASE("bench js fetch on a missing stream: exit 1") {
  JetStreamServer s;
  auto r = run_cli({"bench", "js", "fetch", "-s", s.server.url(), "--stream", "NOPE", "--msgs", "10"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  REQUIRE(lines(r.err).size() == 1);
  CHECK(r.err.starts_with("tern: bench js fetch: consumer \"benchconsumer\" on stream \"NOPE\": "));
}

namespace {

void check_usage_errors(const std::vector<std::vector<std::string>>& bad) {
  for (const auto& args : bad) {
    auto r = run_cli(args);
    INFO(args.back() << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(lines(r.err).size() == 1);
    CHECK(r.err.starts_with("tern: bench js"));
  }
}

}  // namespace

TEST_CASE("bench js pub: bad command lines exit 2") {
  check_usage_errors({
      {"bench", "js", "pub"},
      {"bench", "js", "pub", "x", "--window", "0"},
      {"bench", "js", "pub", "x", "--sync", "--window", "5"},
      {"bench", "js", "pub", "x", "--storage", "disk"},
      {"bench", "js", "pub", "x.*"},
  });
}

TEST_CASE("bench js fetch: bad command lines exit 2, 'bench js' needs pub or fetch") {
  check_usage_errors({
      {"bench", "js"},
      {"bench", "js", "frob"},
      {"bench", "js", "fetch", "--batch", "0"},
      {"bench", "js", "fetch", "--sub", "0"},
      {"bench", "js", "fetch", "extra"},
  });
  CHECK(run_cli({"bench", "js", "fetch", "--help"}).exit_code == 0);
}
