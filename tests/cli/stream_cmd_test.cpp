// tern stream add|edit|info|ls|rm|purge|get|view against a JetStream server: the resulting
// config (read back with --json), the exact key lines of the human output, exit codes.

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

// Every "Label: value" line of an info page has its colon in the same column.
bool aligned(const std::string& out) {
  size_t column = std::string::npos;
  for (const std::string& l : lines(out)) {
    if (l.empty() || l[0] != ' ') continue;
    size_t c = l.find(": ");
    if (c == std::string::npos) c = l.size() - 1;  // "Label:" with an empty value
    if (column == std::string::npos) column = c;
    if (c != column) return false;
  }
  return column != std::string::npos;
}

}  // namespace

TEST_CASE("stream add: every flag lands in the stream's config") {
  JsServer js;
  std::vector<std::string> args = {"stream",
                                   "add",
                                   "ORDERS",
                                   "--subjects",
                                   "orders.new,orders.old",
                                   "--subjects",
                                   "orders.x.>",
                                   "--storage",
                                   "memory",
                                   "--retention",
                                   "interest",
                                   "--discard",
                                   "new",
                                   "--max-msgs",
                                   "100",
                                   "--max-bytes",
                                   "1MiB",
                                   "--max-age",
                                   "1d",
                                   "--max-msg-size",
                                   "1KB",
                                   "--max-msgs-per-subject",
                                   "10",
                                   "--max-consumers",
                                   "5",
                                   "--dupe-window",
                                   "30s",
                                   "--replicas",
                                   "1",
                                   "--deny-delete",
                                   "--allow-rollup",
                                   "--allow-direct",
                                   "--description",
                                   "the orders"};
  if (is_tern()) args.insert(args.end(), {"--compression", "zstd"});
  json info = tern_json(js, args);
  const json& c = info["config"];
  CHECK(c["name"] == "ORDERS");
  CHECK(c["subjects"] == json({"orders.new", "orders.old", "orders.x.>"}));
  CHECK(c["storage"] == "memory");
  CHECK(c["retention"] == "interest");
  CHECK(c["discard"] == "new");
  CHECK(c["max_msgs"] == 100);
  CHECK(c["max_bytes"] == 1048576);
  CHECK(c["max_age"] == 86400000000000LL);
  CHECK(c["max_msg_size"] == 1024);
  CHECK(c["max_msgs_per_subject"] == 10);
  CHECK(c["max_consumers"] == 5);
  CHECK(c["duplicate_window"] == 30000000000LL);
  CHECK(c["num_replicas"] == 1);
  CHECK(c["deny_delete"] == true);
  CHECK(c["deny_purge"] == false);  // roll-ups need purges
  CHECK(c["allow_rollup_hdrs"] == true);
  CHECK(c["allow_direct"] == true);
  CHECK(c["description"] == "the orders");
  if (is_tern()) CHECK(c["compression"] == "zstd");

  // The same stream in the human page.
  auto r = tern_cli(js, {"stream", "info", "ORDERS"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(std::regex_search(
      r.out,
      std::regex(
          R"(^Information for Stream ORDERS created \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n\nConfiguration:\n\n)")));
  CHECK(aligned(r.out));
  CHECK(field(r.out, "Subjects") == "orders.new, orders.old, orders.x.>");
  CHECK(field(r.out, "Description") == "the orders");
  CHECK(field(r.out, "Storage") == "Memory");
  CHECK(field(r.out, "Retention") == "Interest");
  CHECK(field(r.out, "Discard Policy") == "New");
  CHECK(field(r.out, "Duplicate Window") == "30s");
  CHECK(field(r.out, "Allows Msg Delete") == "false");
  CHECK(field(r.out, "Allows Purge") == "true");
  CHECK(field(r.out, "Allows Rollups") == "true");
  CHECK(field(r.out, "Maximum Messages") == "100");
  CHECK(field(r.out, "Maximum Per Subject") == "10");
  CHECK(field(r.out, "Maximum Bytes") == "1.0 MiB");
  CHECK(field(r.out, "Maximum Age") == "1d0h0m0s");
  CHECK(field(r.out, "Maximum Message Size") == "1.0 KiB");
  CHECK(field(r.out, "Maximum Consumers") == "5");
  if (is_tern()) CHECK(field(r.out, "Compression") == "zstd");
}

TEST_CASE("stream info: unlimited limits, and the state after three publishes") {
  JsServer js;
  auto add = tern_cli(js, {"stream", "add", "S", "--subjects", "s.*"});
  REQUIRE(add.exit_code == 0);
  CHECK(add.out.starts_with("Information for Stream S created "));  // add prints the info page
  for (int i = 1; i <= 3; ++i) js.pub("s." + std::to_string(i), "message " + std::to_string(i));
  json state = tern_json(js, {"stream", "info", "S"})["state"];
  REQUIRE(state["messages"] == 3);

  auto r = tern_cli(js, {"stream", "info", "S"});
  REQUIRE(r.exit_code == 0);
  CHECK(aligned(r.out));
  CHECK(r.out.find("\nState:\n\n") != std::string::npos);
  CHECK(field(r.out, "Subjects") == "s.*");
  CHECK(field(r.out, "Replicas") == "1");
  CHECK(field(r.out, "Storage") == "File");
  CHECK(field(r.out, "Retention") == "Limits");
  CHECK(field(r.out, "Discard Policy") == "Old");
  CHECK(field(r.out, "Acknowledgements") == "true");
  CHECK(field(r.out, "Duplicate Window") == "2m0s");
  for (const char* limit : {"Maximum Messages", "Maximum Per Subject", "Maximum Bytes", "Maximum Age",
                            "Maximum Message Size", "Maximum Consumers"}) {
    CHECK(field(r.out, limit) == "unlimited");
  }
  CHECK(field(r.out, "Messages") == "3");
  CHECK(field(r.out, "Bytes") == std::to_string(state["bytes"].get<uint64_t>()) + " B");
  CHECK(std::regex_match(field(r.out, "FirstSeq"), std::regex(R"(1 @ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)")));
  CHECK(std::regex_match(field(r.out, "LastSeq"), std::regex(R"(3 @ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)")));
  CHECK(field(r.out, "Deleted Messages") == "0");
  CHECK(field(r.out, "Active Consumers") == "0");
}

TEST_CASE("stream add --config: the file's fields, overridden by the STREAM argument and flags") {
  JsServer js;
  std::string file = tern::test::write_temp_file(
      R"({"name":"FROMFILE","subjects":["cfg.>"],"max_msgs":5,"storage":"memory","retention":"limits",
          "discard":"old","max_age":0,"num_replicas":1})",
      ".json");
  json c = tern_json(js, {"stream", "add", "--config", file})["config"];
  CHECK(c["name"] == "FROMFILE");
  CHECK(c["subjects"] == json({"cfg.>"}));
  CHECK(c["max_msgs"] == 5);
  CHECK(c["storage"] == "memory");

  c = tern_json(js, {"stream", "add", "OTHER", "--config", file, "--max-msgs", "7", "--subjects", "other.>"})["config"];
  CHECK(c["name"] == "OTHER");
  CHECK(c["subjects"] == json({"other.>"}));
  CHECK(c["max_msgs"] == 7);
  CHECK(c["storage"] == "memory");

  check_usage(tern_cli(js, {"stream", "add", "--subjects", "x"}), "stream add: missing stream name");
  check_usage(tern_cli(js, {"stream", "add", "--config", "/nonexistent/x.json"}),
              "stream add: --config: cannot read /nonexistent/x.json");
}

TEST_CASE("stream edit changes only the given fields") {
  JsServer js;
  REQUIRE(tern_cli(js, {"stream", "add", "E", "--subjects", "e.>", "--max-msgs", "5", "--max-age", "1h"}).exit_code ==
          0);
  json c =
      tern_json(js, {"stream", "edit", "E", "--max-msgs", "10", "--description", "edited", "--deny-purge"})["config"];
  CHECK(c["max_msgs"] == 10);
  CHECK(c["deny_purge"] == true);
  CHECK(c["description"] == "edited");
  CHECK(c["subjects"] == json({"e.>"}));
  CHECK(c["max_age"] == 3600000000000LL);

  auto r = tern_cli(js, {"stream", "edit", "E", "--subjects", "e.>,f.>"});
  REQUIRE(r.exit_code == 0);
  CHECK(field(r.out, "Subjects") == "e.>, f.>");
  CHECK(field(r.out, "Maximum Messages") == "10");
  CHECK(field(r.out, "Allows Purge") == "false");
  // The server's refusal, as one line with its err_code.
  check_failure(tern_cli(js, {"stream", "edit", "E", "--deny-purge=false"}),
                "tern: stream edit E: stream configuration update can not cancel deny purge (10052)");

  check_failure(tern_cli(js, {"stream", "edit", "NOPE", "--max-msgs", "1"}),
                "tern: stream edit NOPE: stream not found (10059)");
  check_usage(tern_cli(js, {"stream", "edit", "E"}), "stream edit: nothing to change");
}

TEST_CASE("stream ls: a table sorted by name, --names, --json, and no streams") {
  JsServer js;
  auto empty = tern_cli(js, {"stream", "ls"});
  CHECK(empty.exit_code == 0);
  CHECK(empty.out == "No streams defined\n");
  CHECK(tern_cli(js, {"stream", "ls", "--names"}).out.empty());
  CHECK(tern_json(js, {"stream", "ls"}) == json::array());

  REQUIRE(tern_cli(js, {"stream", "add", "BETA", "--subjects", "b.>", "--description", "second"}).exit_code == 0);
  REQUIRE(tern_cli(js, {"str", "add", "ALPHA", "--subjects", "a.>"}).exit_code == 0);
  js.pub("b.1", "12345");

  auto r = tern_cli(js, {"stream", "ls"});
  REQUIRE(r.exit_code == 0);
  auto got = lines(r.out);
  REQUIRE(got.size() == 3);
  CHECK(std::regex_match(got[0], std::regex(R"(Name\s+Description\s+Created\s+Messages\s+Size\s+Last Message)")));
  CHECK(std::regex_match(got[1], std::regex(R"(ALPHA\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+0\s+0 B\s+never)")));
  CHECK(
      std::regex_match(got[2], std::regex(R"(BETA\s+second\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+1\s+\d+ B\s+\S+)")));
  // Columns line up: "Description" starts where "second" does.
  CHECK(got[0].find("Description") == got[2].find("second"));

  CHECK(tern_cli(js, {"stream", "ls", "--names"}).out == "ALPHA\nBETA\n");
  CHECK(tern_json(js, {"stream", "ls", "--names"}) == json({"ALPHA", "BETA"}));
  json infos = tern_json(js, {"stream", "ls"});
  REQUIRE(infos.size() == 2);
  CHECK(infos[0]["config"]["name"] == "ALPHA");
  CHECK(infos[1]["state"]["messages"] == 1);
}

TEST_CASE("stream rm and purge need --force, purge by subject, keep, all") {
  JsServer js;
  REQUIRE(tern_cli(js, {"stream", "add", "P", "--subjects", "p.*"}).exit_code == 0);
  for (int i = 0; i < 3; ++i) js.pub("p.a", "a");
  for (int i = 0; i < 2; ++i) js.pub("p.b", "b");

  check_usage(tern_cli(js, {"stream", "rm", "P"}), "stream rm: Really delete stream P? Use -f/--force");
  check_usage(tern_cli(js, {"stream", "purge", "P"}), "stream purge: Really purge stream P? Use -f/--force");
  CHECK(tern_json(js, {"stream", "info", "P"})["state"]["messages"] == 5);

  auto r = tern_cli(js, {"stream", "purge", "P", "-f", "--subject", "p.a"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Purged 3 messages from P\n");
  CHECK(tern_cli(js, {"stream", "purge", "P", "--force", "--keep", "1"}).out == "Purged 1 messages from P\n");
  CHECK(tern_cli(js, {"stream", "purge", "P", "-f"}).out == "Purged 1 messages from P\n");
  CHECK(tern_json(js, {"stream", "info", "P"})["state"]["messages"] == 0);

  r = tern_cli(js, {"stream", "rm", "P", "-f"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Deleted stream P\n");
  check_failure(tern_cli(js, {"stream", "info", "P"}), "tern: stream info P: stream not found (10059)");
  check_failure(tern_cli(js, {"stream", "rm", "P", "-f"}), "tern: stream rm P: stream not found (10059)");
  check_failure(tern_cli(js, {"stream", "purge", "P", "-f"}), "tern: stream purge P: stream not found (10059)");
}

TEST_CASE("stream get: by sequence and --last-for, headers before the body, --json") {
  JsServer js;
  REQUIRE(tern_cli(js, {"stream", "add", "G", "--subjects", "g.*"}).exit_code == 0);
  js.pub("g.a", "first");
  js.pub("g.a", "second", tern::test::js::hdrs({{"Trace", "abc"}}));
  js.pub("g.b", "third");

  auto r = tern_cli(js, {"stream", "get", "G", "1"});
  CHECK(r.exit_code == 0);
  auto got = lines(r.out);
  REQUIRE(got.size() == 3);
  CHECK(
      std::regex_match(got[0], std::regex(R"(Item: G#1 received \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC on Subject g\.a)")));
  CHECK(got[1] == "first");
  CHECK(got[2].empty());

  r = tern_cli(js, {"stream", "get", "G", "--last-for", "g.a"});
  CHECK(r.exit_code == 0);
  got = lines(r.out);
  REQUIRE(got.size() == 5);
  CHECK(got[0].starts_with("Item: G#2 received "));
  CHECK(got[0].ends_with(" on Subject g.a"));
  CHECK(got[1] == "Trace: abc");
  CHECK(got[2].empty());
  CHECK(got[3] == "second");

  json m = tern_json(js, {"stream", "get", "G", "3"});
  CHECK(m["seq"] == 3);
  CHECK(m["subject"] == "g.b");
  CHECK(tern::test::js::b64decode(m["data"]) == "third");

  check_failure(tern_cli(js, {"stream", "get", "G", "9"}), "tern: stream get G: no message found (10037)");
  check_usage(tern_cli(js, {"stream", "get", "G"}), "stream get: give either SEQ or --last-for SUBJECT");
  check_usage(tern_cli(js, {"stream", "get", "G", "x"}), "stream get: invalid sequence \"x\"");
}

TEST_CASE("stream view: stored messages in order, deleted ones skipped, --id --count --subject") {
  JsServer js;
  REQUIRE(tern_cli(js, {"stream", "add", "V", "--subjects", "v.*"}).exit_code == 0);
  js.pub("v.a", "one");
  js.pub("v.b", "two");
  js.pub("v.a", "three");
  js.pub("v.b", "four");
  json del = js.request("$JS.API.STREAM.MSG.DELETE.V", R"({"seq":2})");
  REQUIRE(del.value("success", false));

  auto item_lines = [](const std::string& out) {
    std::vector<std::string> items;
    for (const std::string& l : lines(out)) {
      if (l.starts_with("Item: ")) items.push_back(l.substr(0, l.find(" received")) + l.substr(l.find(" on Subject")));
    }
    return items;
  };
  auto r = tern_cli(js, {"stream", "view", "V"});
  CHECK(r.exit_code == 0);
  CHECK(item_lines(r.out) ==
        std::vector<std::string>{"Item: V#1 on Subject v.a", "Item: V#3 on Subject v.a", "Item: V#4 on Subject v.b"});
  CHECK(r.out.find("\none\n\n") != std::string::npos);
  CHECK(r.out.find("two") == std::string::npos);

  r = tern_cli(js, {"stream", "view", "V", "--id", "3", "--count", "1"});
  CHECK(item_lines(r.out) == std::vector<std::string>{"Item: V#3 on Subject v.a"});
  r = tern_cli(js, {"stream", "view", "V", "--subject", "v.b"});
  CHECK(item_lines(r.out) == std::vector<std::string>{"Item: V#4 on Subject v.b"});
  r = tern_cli(js, {"stream", "view", "V", "--id", "5"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "No messages in stream V\n");
  check_failure(tern_cli(js, {"stream", "view", "NOPE"}), "tern: stream view NOPE: stream not found (10059)");
}

TEST_CASE("stream commands: bad flags are usage errors (exit 2), before connecting") {
  // An unreachable server: a usage error must come before any connection attempt.
  auto bad = [](std::vector<std::string> args) {
    args.insert(args.end(), {"-s", "nats://127.0.0.1:1"});
    return run_cli(args);
  };
  check_usage(bad({"stream", "add", "X", "--storage", "disk"}),
              "stream add: --storage: invalid value \"disk\" (use file, memory)");
  check_usage(bad({"stream", "add", "X", "--retention", "forever"}), "stream add: --retention: invalid value");
  check_usage(bad({"stream", "add", "X", "--max-bytes", "1XB"}), "stream add: --max-bytes: invalid size \"1XB\"");
  check_usage(bad({"stream", "add", "X", "--max-age", "soon"}), "stream add: --max-age: invalid duration \"soon\"");
  check_usage(bad({"stream", "add", "X", "--max-msgs", "-5"}), "stream add: --max-msgs: invalid number \"-5\"");
  check_usage(bad({"stream", "add", "X", "--bogus"}), "stream add: Option 'bogus' does not exist");
  check_usage(bad({"stream", "info"}), "stream info: missing arguments");
  check_usage(bad({"stream", "purge", "X", "-f", "--seq", "3", "--keep", "1"}), "stream purge: --seq and --keep");
  check_usage(bad({"stream", "frobnicate"}), "unknown command \"stream frobnicate\"");
  // Accepted values get as far as connecting (exit 1).
  auto r = bad({"stream", "add", "X", "--max-bytes", "1GB", "--max-age", "1w2d", "--retention", "work"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.starts_with("tern: cannot connect to nats://127.0.0.1:1"));
}
