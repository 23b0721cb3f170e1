// tern server report connections|jetstream, from the monitoring port's /connz and /jsz.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tests/cli/cli_process.h"
#include "tests/cli/monitor_fixture.h"
#include "tests/support/protocol_helpers.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

using nlohmann::json;
using namespace tern::test;

namespace {

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// "127.0.0.1:<port>" of the client's end of `c`, as the server sees it.
std::string local_addr(const RawClient& c) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
  return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

// Two named clients with known traffic:
//   alpha: 3 subscriptions, publishes 3 x "hello" (nobody listens) -> in 3 msgs / 15 B, out 0
//   beta:  1 subscription on foo.a, publishes 2 x "hi" there       -> in 2 msgs / 4 B, out 2 / 4 B
struct TwoClients {
  RawClient alpha, beta;
  explicit TwoClients(const ServerProcess& s) {
    tern::test::connect(alpha, s, R"({"verbose":false,"pedantic":false,"name":"alpha","protocol":1})");
    tern::test::connect(beta, s, R"({"verbose":false,"pedantic":false,"name":"beta","protocol":1})");
    REQUIRE(
        alpha.send("SUB bar 1\r\nSUB baz 2\r\nSUB qux 3\r\nPUB x.y 5\r\nhello\r\nPUB x.y 5\r\nhello\r\n"
                   "PUB x.y 5\r\nhello\r\n"));
    REQUIRE(beta.send("SUB foo.a 1\r\nPUB foo.a 2\r\nhi\r\nPUB foo.a 2\r\nhi\r\n"));
    CHECK(until_pong(alpha).empty());
    CHECK(until_pong(beta).size() == 4);  // its two messages back: MSG line and payload each
  }
};

// The table rows of `report connections` (the lines between the header row and the blank line).
std::vector<std::vector<std::string>> connection_rows(const std::vector<std::string>& out) {
  std::vector<std::vector<std::string>> rows;
  size_t at = 0;
  while (at < out.size() && !out[at].starts_with("CID")) ++at;
  for (++at; at < out.size() && !out[at].empty(); ++at) rows.push_back(words(out[at]));
  return rows;
}

json api(RawClient& c, const std::string& subject, const std::string& body) {
  static int n = 0;
  const std::string reply = "_INBOX.api." + std::to_string(++n);
  REQUIRE(c.send("PUB " + subject + " " + reply + " " + std::to_string(body.size()) + "\r\n" + body + "\r\n"));
  auto m = c.read_msg();
  REQUIRE(m);
  REQUIRE(m->subject == reply);
  json j = json::parse(m->payload, nullptr, false);
  INFO(m->payload);
  REQUIRE(j.is_object());
  REQUIRE(!j.contains("error"));
  return j;
}

}  // namespace

TEST_CASE("server report connections: one row per client with its figures, and totals") {
  MonitoredServer s;
  TwoClients clients(s.server);
  auto r = run_cli({"server", "report", "connections", "--monitor", s.monitor(), "--sort", "subs"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  auto out = lines(r.out);
  REQUIRE(out.size() >= 3);
  CHECK(out[0] == "2 of 2 connections, sorted by subs");
  CHECK(out[1].empty());
  CHECK(words(out[2]) == std::vector<std::string>{"CID", "Name", "IP:Port", "Subs", "Msgs", "In", "Msgs", "Out",
                                                  "Bytes", "In", "Bytes", "Out", "Uptime", "Last", "Activity"});
  auto rows = connection_rows(out);
  REQUIRE(rows.size() == 2);
  // CID Name IP:Port Subs MsgsIn MsgsOut BytesIn(2 words) BytesOut(2 words) Uptime Idle "ago"
  REQUIRE(rows[0].size() == 13);
  REQUIRE(rows[1].size() == 13);
  CHECK(std::vector<std::string>(rows[0].begin() + 1, rows[0].begin() + 10) ==
        std::vector<std::string>{"alpha", local_addr(clients.alpha), "3", "3", "0", "15", "B", "0", "B"});
  CHECK(std::vector<std::string>(rows[1].begin() + 1, rows[1].begin() + 10) ==
        std::vector<std::string>{"beta", local_addr(clients.beta), "1", "2", "2", "4", "B", "4", "B"});
  CHECK(rows[0][12] == "ago");
  CHECK(out.back() == "Totals: 4 subscriptions, 5 msgs in, 2 msgs out, 19 B in, 4 B out");
}

TEST_CASE("server report connections --sort orders the rows and --top keeps the first N") {
  MonitoredServer s;
  TwoClients clients(s.server);
  auto names = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"server", "report", "connections", "--monitor", s.monitor()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_cli(args);
    CHECK(r.exit_code == 0);
    std::vector<std::string> got;
    for (auto& row : connection_rows(lines(r.out))) got.push_back(row.at(1));
    return got;
  };
  CHECK(names({"--sort", "msgs_to"}) == std::vector<std::string>{"beta", "alpha"});
  CHECK(names({"--sort", "msgs_from"}) == std::vector<std::string>{"alpha", "beta"});
  CHECK(names({"--sort", "cid"}) == std::vector<std::string>{"alpha", "beta"});  // alpha connected first
  CHECK(names({"--sort", "subs"}) == std::vector<std::string>{"alpha", "beta"});
  CHECK(names({"--sort", "msgs_to", "--top", "1"}) == std::vector<std::string>{"beta"});

  auto r = run_cli({"server", "report", "connections", "--monitor", s.monitor(), "--sort", "msgs_to", "--top", "1"});
  CHECK(lines(r.out).at(0) == "1 of 2 connections, sorted by msgs_to");
}

TEST_CASE("server report connections: every --sort key the CLI accepts, the server accepts") {
  MonitoredServer s;
  RawClient c;
  tern::test::connect(c, s.server);
  for (const char* key : {"start", "pending", "bytes_to", "bytes_from", "last", "idle", "uptime"}) {
    INFO(key);
    auto r = run_cli({"server", "report", "connections", "--monitor", s.monitor(), "--sort", key});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(lines(r.out).at(0) == std::string("1 of 1 connections, sorted by ") + key);
  }
}

TEST_CASE("server report connections: a bad --sort or --top is a usage error") {
  auto r = run_cli({"server", "report", "connections", "--monitor", "http://127.0.0.1:1", "--sort", "name"});
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "tern: server report: invalid --sort \"name\" (use one of cid, start, subs, pending, msgs_to, msgs_from, "
        "bytes_to, bytes_from, last, idle, uptime)\n");
  r = run_cli({"server", "report", "connections", "--top", "0"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "tern: server report: --top must be at least 1\n");
  r = run_cli({"server", "report", "streams"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "tern: server report: unknown report \"streams\" (use connections or jetstream)\n");
}

TEST_CASE("server report connections --json prints the /connz document") {
  MonitoredServer s;
  TwoClients clients(s.server);
  auto r = run_cli({"server", "report", "connections", "--monitor", s.monitor(), "--json", "--sort", "cid"});
  CHECK(r.exit_code == 0);
  auto doc = json::parse(r.out, nullptr, false);
  REQUIRE(doc.is_object());
  CHECK(doc.at("server_id").is_string());
  CHECK(doc.at("num_connections") == 2);
  REQUIRE(doc.at("connections").size() == 2);
  CHECK(doc["connections"][0].at("name") == "alpha");
  CHECK(doc["connections"][0].at("subscriptions_list").size() == 3);  // asked with subs=1
}

TEST_CASE("server report jetstream: streams, consumers with their pending counts, totals") {
  MonitoredServer s;
  RawClient c, puller;
  tern::test::connect(c, s.server);
  tern::test::connect(puller, s.server);
  REQUIRE(c.send("SUB _INBOX.api.* 1\r\n"));
  api(c, "$JS.API.STREAM.CREATE.ORDERS", R"({"name":"ORDERS","subjects":["orders.>"],"storage":"file"})");
  for (int i = 1; i <= 5; ++i) api(c, "orders.new", "order " + std::to_string(i));
  api(c, "$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.worker",
      R"({"stream_name":"ORDERS","config":{"durable_name":"worker","ack_policy":"explicit"}})");
  // Two delivered and not acked: 2 ack pending, 3 not yet delivered.
  const std::string pull = R"({"batch":2})";
  REQUIRE(puller.send("SUB pulled 1\r\nPUB $JS.API.CONSUMER.MSG.NEXT.ORDERS.worker pulled " +
                      std::to_string(pull.size()) + "\r\n" + pull + "\r\n"));
  REQUIRE(puller.read_msg());
  REQUIRE(puller.read_msg());

  auto r = run_cli({"server", "report", "jetstream", "--monitor", s.monitor()});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  auto out = lines(r.out);
  REQUIRE(out.size() == 9);
  CHECK(out[0] == "JetStream: 1 stream, 1 consumer, 5 messages, " + words(out[3])[3] + " B");
  CHECK(out[1].empty());
  CHECK(words(out[2]) ==
        std::vector<std::string>{"Stream", "Storage", "Messages", "Bytes", "Consumers", "First", "Seq", "Last", "Seq"});
  auto stream = words(out[3]);
  REQUIRE(stream.size() == 8);
  CHECK(stream[0] == "ORDERS");
  CHECK(stream[1] == "file");
  CHECK(stream[2] == "5");
  CHECK(stream[4] == "B");
  CHECK(std::vector<std::string>(stream.begin() + 5, stream.end()) == std::vector<std::string>{"1", "1", "5"});
  CHECK(out[4].empty());
  CHECK(words(out[5]) ==
        std::vector<std::string>{"Stream", "Consumer", "Ack", "Pending", "Redelivered", "Unprocessed", "Waiting"});
  CHECK(words(out[6]) == std::vector<std::string>{"ORDERS", "worker", "2", "0", "3", "0"});
  CHECK(out[7].empty());
  CHECK(std::regex_match(out[8], std::regex(R"(Totals: memory 0 B, storage \d+ B, API requests \d+, API errors 0)")));
}

TEST_CASE("server report jetstream --json prints the /jsz document") {
  MonitoredServer s;
  auto r = run_cli({"server", "report", "jetstream", "--monitor", s.monitor(), "--json"});
  CHECK(r.exit_code == 0);
  auto doc = json::parse(r.out, nullptr, false);
  REQUIRE(doc.is_object());
  CHECK(doc.at("server_id").is_string());
  CHECK(doc.at("streams") == 0);
}

TEST_CASE("server report jetstream on a server without JetStream: exit 1") {
  MonitoredServer s(/*jetstream=*/false);
  auto r = run_cli({"server", "report", "jetstream", "--monitor", s.monitor()});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "tern: server report: JetStream is not enabled on this server\n");
}

TEST_CASE("server report with no monitor listening: one error line and exit 1") {
  const int port = free_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto r = run_cli({"server", "report", "jetstream", "--monitor", url});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "tern: server report: cannot reach the monitoring endpoint " + url +
                     "/jsz?streams=1&consumers=1&config=1: Connection refused (is the server started with -m " +
                     std::to_string(port) + "?)\n");
}
