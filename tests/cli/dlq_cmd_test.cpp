// tern dlq ls|redrive: Tern's dead-letter streams (docs/dead-letter.md) driven from the CLI
// only; on nats-server, which has none, the commands fail with one line and exit 1.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/cli/cli_process.h"
#include "tests/cli/js_fixture.h"
#include "tests/support/js_helpers.h"
#include "tests/support/server_process.h"

using namespace tern::test;
using namespace tern::test::cli_js;
using tern::test::js::eventually;
using tern::test::js::JsServer;
using json = nlohmann::json;

namespace {

void check_one_line_failure(const CliResult& r) {
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.starts_with("tern: "));
  CHECK(lines(r.err).size() == 1);
}

// ORDERS (orders.>) with two messages, a dead-letter stream DLQ, and a consumer `worker` that
// dead-letters after one delivery whose ack wait is short.
void dead_letter_two(JsServer& js) {
  REQUIRE(tern_cli(js, {"stream", "add", "ORDERS", "--subjects", "orders.>"}).exit_code == 0);
  REQUIRE(tern_cli(js, {"stream", "add", "DLQ", "--subjects", "dlq.unused"}).exit_code == 0);
  js.pub("orders.new", "order 1");
  js.pub("orders.old", "order 2");
  auto add = tern_cli(
      js, {"consumer", "add", "ORDERS", "worker", "--max-deliver", "1", "--wait", "200ms", "--dead-letter", "DLQ"});
  REQUIRE(add.exit_code == 0);
  CHECK(add.out.find("Dead Letter Stream: DLQ\n") != std::string::npos);
  REQUIRE(tern_cli(js, {"consumer", "next", "ORDERS", "worker", "--count", "2", "--no-ack"}).exit_code == 0);
  // The next pull waits while the ack wait runs out; the messages are then out of deliveries
  // and go to DLQ instead of to the pull.
  auto r = tern_cli(js, {"consumer", "next", "ORDERS", "worker", "--wait", "400ms"});
  CHECK(r.err == "tern: no message received\n");
  REQUIRE(eventually([&] { return tern_json(js, {"stream", "info", "DLQ"})["state"]["messages"] == 2; }));
}

}  // namespace

TEST_CASE("dlq ls lists the dead-lettered copies with where they came from") {
  if (!is_tern()) return;  // dead-letter streams are Tern's
  JsServer js;
  dead_letter_two(js);

  auto r = tern_cli(js, {"dlq", "ls", "DLQ"});
  CHECK(r.exit_code == 0);
  auto got = lines(r.out);
  REQUIRE(got.size() == 3);
  CHECK(std::regex_match(
      got[0], std::regex(R"(Seq\s+Subject\s+Source Stream\s+Consumer\s+Source Seq\s+Deliveries\s+Reason\s+Time)")));
  CHECK(std::regex_match(
      got[1],
      std::regex(
          R"(1\s+orders\.new\s+ORDERS\s+worker\s+1\s+1\s+max_deliveries\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)")));
  CHECK(std::regex_match(got[2], std::regex(R"(2\s+orders\.old\s+ORDERS\s+worker\s+2\s+1\s+max_deliveries\s+.* UTC)")));

  json list = tern_json(js, {"dlq", "ls", "DLQ"});
  REQUIRE(list.size() == 2);
  CHECK(list[0]["seq"] == 1);
  CHECK(list[0]["subject"] == "orders.new");
  CHECK(list[0]["stream"] == "ORDERS");
  CHECK(list[0]["consumer"] == "worker");
  CHECK(list[0]["stream_seq"] == 1);
  CHECK(list[0]["deliveries"] == 1);
  CHECK(list[0]["reason"] == "max_deliveries");
  CHECK(list[1]["stream_seq"] == 2);

  // The copy itself, through stream get: the original body and the Tern-DLQ-* headers.
  r = tern_cli(js, {"stream", "get", "DLQ", "2"});
  CHECK(r.out.find("\nTern-DLQ-Reason: max_deliveries\n") != std::string::npos);
  CHECK(r.out.find("\norder 2\n") != std::string::npos);
}

TEST_CASE("dlq redrive republishes copies to their subjects: --seq, then all") {
  if (!is_tern()) return;
  JsServer js;
  dead_letter_two(js);

  auto r = tern_cli(js, {"dlq", "redrive", "DLQ", "--seq", "2"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Redriven 1 messages from DLQ\n");
  // Stored again in ORDERS (as seq 3), and the copy leaves DLQ once that is acknowledged.
  REQUIRE(eventually([&] { return tern_json(js, {"dlq", "ls", "DLQ"}).size() == 1; }));
  CHECK(tern_json(js, {"stream", "get", "ORDERS", "3"})["subject"] == "orders.old");

  r = tern_cli(js, {"dlq", "redrive", "DLQ", "--filter", "orders.none"});
  CHECK(r.out == "Redriven 0 messages from DLQ\n");
  r = tern_cli(js, {"dlq", "redrive", "DLQ"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Redriven 1 messages from DLQ\n");
  REQUIRE(eventually([&] {
    return tern_cli(js, {"dlq", "ls", "DLQ"}).out == "No messages in dead-letter stream DLQ\n";
  }));
  CHECK(tern_json(js, {"stream", "info", "ORDERS"})["state"]["last_seq"] == 4);

  check_one_line_failure(tern_cli(js, {"dlq", "redrive", "DLQ", "--seq", "1"}));
}

TEST_CASE("dlq ls and redrive fail with one line and exit 1 on a missing stream, and on nats-server") {
  JsServer js;
  auto r = tern_cli(js, {"dlq", "ls", "NOPE"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "tern: dlq ls NOPE: stream not found (10059)\n");
  r = tern_cli(js, {"dlq", "redrive", "NOPE"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "tern: dlq redrive NOPE: stream not found (10059)\n");
  if (!is_tern()) {
    // The stream exists but nats-server has no redrive API: no answer within --timeout.
    REQUIRE(tern_cli(js, {"stream", "add", "PLAIN"}).exit_code == 0);
    check_one_line_failure(tern_cli(js, {"dlq", "redrive", "PLAIN", "--timeout", "500ms"}));
  }
  check_one_line_failure(run_cli({"dlq", "ls", "X", "-s", "nats://127.0.0.1:1"}));
}
