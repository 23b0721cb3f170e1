// tern consumer add|info|ls|rm|next against a JetStream server: the resulting config (read
// back with --json), the exact key lines of the human output, pulls with and without acks.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/cli/cli_process.h"
#include "tests/cli/js_fixture.h"
#include "tests/support/js_helpers.h"
#include "tests/support/server_process.h"

using namespace tern::test;
using namespace tern::test::cli_js;
using tern::test::js::JsServer;
using json = nlohmann::json;

namespace {

// A stream C on c.> with `n` messages c.a "m1".."mn".
void stream_with_messages(JsServer& js, int n) {
  js.create_stream({{"name", "C"}, {"subjects", {"c.>"}}});
  for (int i = 1; i <= n; ++i) js.pub("c.a", "m" + std::to_string(i));
}

}  // namespace

TEST_CASE("consumer add: every flag lands in the consumer's config, info shows it") {
  JsServer js;
  stream_with_messages(js, 0);
  json info = tern_json(js, {"consumer",
                             "add",
                             "C",
                             "w",
                             "--filter",
                             "c.a",
                             "--ack",
                             "explicit",
                             "--deliver",
                             "all",
                             "--wait",
                             "10s",
                             "--max-deliver",
                             "5",
                             "--max-pending",
                             "50",
                             "--max-waiting",
                             "16",
                             "--max-batch",
                             "10",
                             "--max-expires",
                             "5s",
                             "--replay",
                             "instant",
                             "--description",
                             "the worker",
                             "--headers-only"});
  json c = info["config"];
  CHECK(info["name"] == "w");
  CHECK(info["stream_name"] == "C");
  CHECK(c["durable_name"] == "w");
  CHECK(c["filter_subject"] == "c.a");
  CHECK(c["ack_policy"] == "explicit");
  CHECK(c["deliver_policy"] == "all");
  CHECK(c["ack_wait"] == 10000000000LL);
  CHECK(c["max_deliver"] == 5);
  CHECK(c["max_ack_pending"] == 50);
  CHECK(c["max_waiting"] == 16);
  CHECK(c["max_batch"] == 10);
  CHECK(c["max_expires"] == 5000000000LL);
  CHECK(c["replay_policy"] == "instant");
  CHECK(c["description"] == "the worker");
  CHECK(c["headers_only"] == true);
  CHECK(!c.contains("deliver_subject"));

  auto r = tern_cli(js, {"consumer", "info", "C", "w"});
  REQUIRE(r.exit_code == 0);
  CHECK(std::regex_search(
      r.out,
      std::regex(
          R"(^Information for Consumer C > w created \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n\nConfiguration:\n\n)")));
  CHECK(field(r.out, "Durable Name") == "w");
  CHECK(field(r.out, "Pull Mode") == "true");
  CHECK(field(r.out, "Description") == "the worker");
  CHECK(field(r.out, "Filter Subject") == "c.a");
  CHECK(field(r.out, "Deliver Policy") == "All");
  CHECK(field(r.out, "Ack Policy") == "Explicit");
  CHECK(field(r.out, "Ack Wait") == "10s");
  CHECK(field(r.out, "Replay Policy") == "Instant");
  CHECK(field(r.out, "Maximum Deliveries") == "5");
  CHECK(field(r.out, "Max Ack Pending") == "50");
  CHECK(field(r.out, "Max Waiting Pulls") == "16");
  CHECK(field(r.out, "Max Pull Batch") == "10");
  CHECK(field(r.out, "Max Pull Expires") == "5s");
  CHECK(field(r.out, "Headers Only") == "true");
  CHECK(r.out.find("\nState:\n\n") != std::string::npos);
  CHECK(field(r.out, "Last Delivered Message") == "Consumer sequence: 0 Stream sequence: 0");
  CHECK(field(r.out, "Outstanding Acks") == "0 out of maximum 50");
  CHECK(field(r.out, "Unprocessed Messages") == "0");
  CHECK(field(r.out, "Waiting Pulls") == "0 of maximum 16");

  // Start positions, backoff, memory state.
  c = tern_json(js, {"consumer", "add", "C", "from3", "--deliver", "3"})["config"];
  CHECK(c["deliver_policy"] == "by_start_sequence");
  CHECK(c["opt_start_seq"] == 3);
  c = tern_json(js, {"consumer", "add", "C", "last", "--deliver", "last_per_subject", "--filter", "c.>", "--ack",
                     "none", "--memory"})["config"];
  CHECK(c["deliver_policy"] == "last_per_subject");
  CHECK(c["ack_policy"] == "none");
  CHECK(c["mem_storage"] == true);
  c = tern_json(
      js, {"consumer", "add", "C", "back", "--max-deliver", "4", "--backoff", "1s,2s", "--backoff", "1m"})["config"];
  CHECK(c["backoff"] == json({1000000000LL, 2000000000LL, 60000000000LL}));
}

TEST_CASE("consumer add --config: the file's name and fields, flags override, a name is required") {
  JsServer js;
  stream_with_messages(js, 0);
  std::string file = tern::test::write_temp_file(
      R"({"durable_name":"fromfile","ack_policy":"all","filter_subject":"c.b","max_deliver":3})", ".json");
  json c = tern_json(js, {"consumer", "add", "C", "--config", file, "--max-deliver", "7"})["config"];
  CHECK(c["durable_name"] == "fromfile");
  CHECK(c["ack_policy"] == "all");
  CHECK(c["filter_subject"] == "c.b");
  CHECK(c["max_deliver"] == 7);
  c = tern_json(js, {"consumer", "add", "C", "renamed", "--config", file})["config"];
  CHECK(c["durable_name"] == "renamed");

  check_usage(tern_cli(js, {"consumer", "add", "C"}), "consumer add: missing consumer name");
  check_failure(tern_cli(js, {"consumer", "add", "NOPE", "w"}), "tern: consumer add NOPE w: stream not found (10059)");
}

TEST_CASE("consumer next --count 3 --ack prints the messages and leaves nothing pending") {
  JsServer js;
  stream_with_messages(js, 4);
  REQUIRE(tern_cli(js, {"consumer", "add", "C", "w"}).exit_code == 0);

  auto r = tern_cli(js, {"consumer", "next", "C", "w", "--count", "3", "--ack"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(
      r.out ==
      "[#1] Received JetStream message: stream: C seq 1 / subject: c.a / delivered: 1 / consumer seq: 1 / pending: 3\n"
      "m1\n\n"
      "[#2] Received JetStream message: stream: C seq 2 / subject: c.a / delivered: 1 / consumer seq: 2 / pending: 2\n"
      "m2\n\n"
      "[#3] Received JetStream message: stream: C seq 3 / subject: c.a / delivered: 1 / consumer seq: 3 / pending: 1\n"
      "m3\n\n");
  // The acks were confirmed before the command exited.
  json info = tern_json(js, {"consumer", "info", "C", "w"});
  CHECK(info["num_ack_pending"] == 0);
  CHECK(info["ack_floor"]["stream_seq"] == 3);
  CHECK(info["delivered"]["stream_seq"] == 3);
  CHECK(info["num_pending"] == 1);

  // The default is one message, acked.
  r = tern_cli(js, {"con", "next", "C", "w", "--raw"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "m4\n");
  CHECK(tern_json(js, {"consumer", "info", "C", "w"})["ack_floor"]["stream_seq"] == 4);
}

TEST_CASE("consumer next --no-ack leaves the messages pending") {
  JsServer js;
  stream_with_messages(js, 3);
  REQUIRE(tern_cli(js, {"consumer", "add", "C", "w", "--wait", "30s"}).exit_code == 0);
  auto r = tern_cli(js, {"consumer", "next", "C", "w", "--count", "2", "--no-ack"});
  CHECK(r.exit_code == 0);
  CHECK(lines(r.out).size() == 6);
  json info = tern_json(js, {"consumer", "info", "C", "w"});
  CHECK(info["num_ack_pending"] == 2);
  CHECK(info["ack_floor"]["stream_seq"] == 0);
  CHECK(info["delivered"]["stream_seq"] == 2);

  r = tern_cli(js, {"consumer", "info", "C", "w"});
  CHECK(field(r.out, "Outstanding Acks") == "2 out of maximum 1000");
  CHECK(field(r.out, "Unprocessed Messages") == "1");
  CHECK(std::regex_match(field(r.out, "Last Delivered Message"),
                         std::regex(R"(Consumer sequence: 2 Stream sequence: 2 Last delivery: \S+ ago)")));
}

TEST_CASE("consumer next on an empty consumer: no message received, exit 1, after --wait") {
  JsServer js;
  stream_with_messages(js, 0);
  REQUIRE(tern_cli(js, {"consumer", "add", "C", "w"}).exit_code == 0);
  auto start = std::chrono::steady_clock::now();
  auto r = tern_cli(js, {"consumer", "next", "C", "w", "--wait", "300ms"});
  auto took = std::chrono::steady_clock::now() - start;
  check_failure(r, "tern: no message received");
  CHECK(took >= std::chrono::milliseconds(300));
  CHECK(took < std::chrono::seconds(3));

  check_failure(tern_cli(js, {"consumer", "next", "C", "nope", "--wait", "300ms"}),
                "tern: consumer next C nope: consumer not found (10014)");
}

TEST_CASE("consumer ls, rm and their errors") {
  JsServer js;
  stream_with_messages(js, 2);
  auto empty = tern_cli(js, {"consumer", "ls", "C"});
  CHECK(empty.exit_code == 0);
  CHECK(empty.out == "No consumers defined\n");

  REQUIRE(tern_cli(js, {"consumer", "add", "C", "zed", "--description", "last one"}).exit_code == 0);
  REQUIRE(tern_cli(js, {"consumer", "add", "C", "abc"}).exit_code == 0);
  auto r = tern_cli(js, {"consumer", "ls", "C"});
  REQUIRE(r.exit_code == 0);
  auto got = lines(r.out);
  REQUIRE(got.size() == 3);
  CHECK(std::regex_match(got[0],
                         std::regex(R"(Name\s+Description\s+Created\s+Ack Pending\s+Unprocessed\s+Last Delivery)")));
  CHECK(std::regex_match(got[1], std::regex(R"(abc\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+0\s+2\s+never)")));
  CHECK(std::regex_match(got[2], std::regex(R"(zed\s+last one\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+0\s+2\s+never)")));
  CHECK(tern_cli(js, {"consumer", "ls", "C", "--names"}).out == "abc\nzed\n");
  CHECK(tern_json(js, {"consumer", "ls", "C", "--names"}) == json({"abc", "zed"}));
  json infos = tern_json(js, {"consumer", "ls", "C"});
  REQUIRE(infos.size() == 2);
  CHECK(infos[1]["config"]["description"] == "last one");

  check_usage(tern_cli(js, {"consumer", "rm", "C", "abc"}),
              "consumer rm: Really delete consumer C > abc? Use -f/--force");
  r = tern_cli(js, {"consumer", "rm", "C", "abc", "-f"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Deleted consumer C > abc\n");
  CHECK(tern_cli(js, {"consumer", "ls", "C", "--names"}).out == "zed\n");
  check_failure(tern_cli(js, {"consumer", "info", "C", "abc"}),
                "tern: consumer info C abc: consumer not found (10014)");
  check_failure(tern_cli(js, {"consumer", "info", "NOPE", "abc"}),
                "tern: consumer info NOPE abc: stream not found (10059)");
  check_failure(tern_cli(js, {"consumer", "ls", "NOPE"}), "tern: consumer ls NOPE: stream not found (10059)");
}

TEST_CASE("consumer commands: bad flags are usage errors (exit 2), before connecting") {
  auto bad = [](std::vector<std::string> args) {
    args.insert(args.end(), {"-s", "nats://127.0.0.1:1"});
    return run_cli(args);
  };
  check_usage(bad({"consumer", "add", "S", "c", "--ack", "sometimes"}),
              "consumer add: --ack: invalid value \"sometimes\"");
  check_usage(bad({"consumer", "add", "S", "c", "--deliver", "tomorrow"}), "consumer add: --deliver: invalid value");
  check_usage(bad({"consumer", "add", "S", "c", "--wait", "long"}), "consumer add: --wait: invalid duration");
  check_usage(bad({"consumer", "add", "S", "c", "--backoff", "1s,x"}),
              "consumer add: --backoff: invalid duration \"x\"");
  check_usage(bad({"consumer", "next", "S", "c", "--count", "0"}), "consumer next: --count must be at least 1");
  check_usage(bad({"consumer", "next", "S", "c", "--ack", "--no-ack"}), "consumer next: --ack and --no-ack");
  check_usage(bad({"consumer", "info", "S"}), "consumer info: missing arguments");
  auto r = bad({"consumer", "add", "S", "c", "--deliver", "2024-01-02T03:04:05Z"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.starts_with("tern: cannot connect to nats://127.0.0.1:1"));
}
