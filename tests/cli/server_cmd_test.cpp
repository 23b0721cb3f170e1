// tern server info (from the monitoring port's /varz) and tern server ping.

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/cli/cli_process.h"
#include "tests/cli/monitor_fixture.h"
#include "tests/support/protocol_helpers.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

using namespace tern::test;

namespace {

// The value after "Label: " in `tern server info` output ("<none>" when the label is missing).
std::string field(const std::vector<std::string>& out, const std::string& label) {
  for (const std::string& line : out) {
    size_t at = line.find(label + ": ");
    if (at != std::string::npos && line.find_first_not_of(' ') == at) return line.substr(at + label.size() + 2);
  }
  return "<none>";
}

uint64_t varz_subscriptions(const MonitoredServer& s) {
  auto r = run_cli({"server", "info", "--monitor", s.monitor(), "--json"});
  REQUIRE(r.exit_code == 0);
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(doc.is_object());
  return doc.at("subscriptions").get<uint64_t>();
}

}  // namespace

TEST_CASE("server info shows the monitoring port's figures: connections, subscriptions, messages") {
  MonitoredServer s;
  // Servers hold internal subscriptions of their own (nats-server's system account): count ours on top.
  const uint64_t base_subs = varz_subscriptions(s);
  RawClient a, b;
  tern::test::connect(a, s.server);
  tern::test::connect(b, s.server);
  REQUIRE(a.send("SUB x.* 1\r\nSUB y 2\r\nSUB z 3\r\n"));
  REQUIRE(b.send("PUB q 5\r\nhello\r\nPUB q 5\r\nhello\r\nPUB q 5\r\nhello\r\nPUB q 5\r\nhello\r\n"));
  CHECK(until_pong(a).empty());
  CHECK(until_pong(b).empty());

  auto r = run_cli({"server", "info", "--monitor", s.monitor()});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  auto out = lines(r.out);
  REQUIRE(!out.empty());
  CHECK(std::regex_match(out[0], std::regex(R"(Server information for \S+ \([A-Z0-9]{20,}\))")));
  CHECK(std::find(out.begin(), out.end(), "Process Details:") != out.end());
  CHECK(std::find(out.begin(), out.end(), "Connection Stats:") != out.end());
  CHECK(std::find(out.begin(), out.end(), "        Connections: 2") != out.end());  // right-aligned labels
  CHECK(field(out, "Subscriptions") == std::to_string(base_subs + 3));
  CHECK(field(out, "Messages In") == "4");
  CHECK(field(out, "Messages Out") == "0");
  CHECK(field(out, "Bytes In") == "20 B");
  CHECK(field(out, "Slow Consumers") == "0");
  CHECK(field(out, "Host/Port") == "127.0.0.1:" + std::to_string(s.server.port()));
  CHECK(field(out, "Max Payload") == "1.0 MiB (1,048,576 bytes)");
  CHECK(field(out, "Max Connections") == "65,536");
  CHECK(field(out, "Ping Interval") == "2m0s");
  CHECK(std::regex_match(field(out, "Version"), std::regex(R"(\d+\.\d+\.\d+.*)")));
  CHECK(field(out, "Enabled") == "yes");
  CHECK(field(out, "Store Directory") == s.dir + "/jetstream");
  CHECK(field(out, "Storage Used") == "0 B");
  CHECK(field(out, "API Errors") == "0");
}

TEST_CASE("server info on a server without JetStream says so") {
  MonitoredServer s(/*jetstream=*/false);
  auto r = run_cli({"server", "info", "--monitor", s.monitor()});
  CHECK(r.exit_code == 0);
  auto out = lines(r.out);
  CHECK(field(out, "Enabled") == "no");
  CHECK(field(out, "Store Directory") == "<none>");
}

TEST_CASE("server info --json prints the /varz document, TERN_MONITOR_URL says where the monitor is") {
  MonitoredServer s;
  auto r = run_cli({"server", "info", "--json"}, "", std::chrono::seconds(4), {"TERN_MONITOR_URL=" + s.monitor()});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(doc.is_object());
  CHECK(doc.at("server_id").is_string());
  CHECK(doc.at("port") == s.server.port());
  CHECK(doc.at("connections") == 0);
}

TEST_CASE("server info with no monitor listening: one error line and exit 1") {
  const int port = free_port();  // nothing listens there
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto r = run_cli({"server", "info", "--monitor", url});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "tern: server info: cannot reach the monitoring endpoint " + url +
                     "/varz: Connection refused (is the server started with -m " + std::to_string(port) + "?)\n");
}

TEST_CASE("server info without --monitor looks at port 8222 on the host of --server") {
  // nats://localhost:<port> -> http://localhost:8222; an unresolvable host shows which URL was tried.
  auto r = run_cli({"server", "info", "-s", "nats://user:pw@no-such-host.invalid:4222"});
  CHECK(r.exit_code == 1);
  CHECK(lines(r.err).size() == 1);
  CHECK(r.err.starts_with(
      "tern: server info: cannot reach the monitoring endpoint http://no-such-host.invalid:8222/varz: "
      "cannot resolve \"no-such-host.invalid\""));
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
