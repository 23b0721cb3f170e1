// The command line itself: --help everywhere, --version, usage errors (exit 2, one "tern:"
// line) and run-time failures such as an unreachable server (exit 1).

#include <catch2/catch.hpp>

#include "tests/cli/cli_process.h"

using tern::test::CliResult;
using tern::test::lines;
using tern::test::run_cli;

namespace {

void check_usage_error(const CliResult& r, const std::string& first_words) {
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.starts_with("tern: " + first_words));
  CHECK(lines(r.err).size() == 1);
}

}  // namespace

TEST_CASE("help: --help at the top level and for every command and through 'tern help'") {
  auto top = run_cli({"--help"});
  CHECK(top.exit_code == 0);
  CHECK(top.err.empty());
  CHECK(top.out.find("Usage:\n  tern [GLOBAL OPTIONS] COMMAND") != std::string::npos);
  for (const char* cmd : {"pub SUBJECT [BODY]", "sub SUBJECT", "req SUBJECT [BODY]", "reply SUBJECT [BODY]",
                          "server ping", "server info", "bench SUBJECT", "stream add [STREAM]",
                          "stream info STREAM", "stream get STREAM [SEQ]", "consumer add STREAM [CONSUMER]",
                          "consumer next STREAM CONSUMER", "dlq ls DLQ_STREAM", "dlq redrive DLQ_STREAM"}) {
    CHECK(top.out.find(std::string("  ") + cmd) != std::string::npos);
  }

  const std::vector<std::vector<std::string>> commands = {
      {"pub"}, {"sub"}, {"req"}, {"reply"}, {"server", "ping"}, {"server", "info"}, {"bench"},
      {"stream", "add"}, {"stream", "edit"}, {"stream", "info"}, {"stream", "ls"}, {"stream", "rm"},
      {"stream", "purge"}, {"stream", "get"}, {"stream", "view"}, {"consumer", "add"}, {"consumer", "info"},
      {"consumer", "ls"}, {"consumer", "rm"}, {"consumer", "next"}, {"dlq", "ls"}, {"dlq", "redrive"}};
  for (const auto& cmd : commands) {
    std::string name = cmd[0] + (cmd.size() > 1 ? " " + cmd[1] : "");
    SECTION(name) {
      for (const char* flag : {cmd[0] == "pub" ? "-h" : "--help"}) {
        auto args = cmd;
        args.push_back(flag);
        auto r = run_cli(args);
        CHECK(r.exit_code == 0);
        CHECK(r.err.empty());
        CHECK(r.out.find("Usage:\n  tern " + name + " [OPTIONS]") != std::string::npos);
        CHECK(r.out.find("-s, --server URL") != std::string::npos);
      }
      auto args = cmd;
      args.insert(args.begin(), "help");
      auto via_help = run_cli(args);
      CHECK(via_help.exit_code == 0);
      CHECK(via_help.out.find("Usage:\n  tern " + name) != std::string::npos);
    }
  }
  auto server = run_cli({"server", "--help"});
  CHECK(server.exit_code == 0);
  CHECK(server.out.find("ping") != std::string::npos);
}

TEST_CASE("version: --version prints the version") {
  auto r = run_cli({"--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.starts_with("tern version "));
  CHECK(lines(r.out).size() == 1);
}

TEST_CASE("usage errors exit 2 with one tern: line") {
  check_usage_error(run_cli({}), "no command given");
  check_usage_error(run_cli({"frobnicate"}), "unknown command \"frobnicate\"");
  check_usage_error(run_cli({"--bogus"}), "unknown option '--bogus'");
  check_usage_error(run_cli({"pub", "--bogus", "x", "y"}), "pub: Option 'bogus' does not exist");
  check_usage_error(run_cli({"pub"}), "pub: missing arguments; usage: tern pub [OPTIONS] SUBJECT [BODY]");
  check_usage_error(run_cli({"sub", "a", "b"}), "sub: too many arguments");
  check_usage_error(run_cli({"pub", "x", "y", "--count", "abc"}), "pub: ");
  check_usage_error(run_cli({"pub", "x", "y", "--count", "0"}), "pub: --count must be at least 1");
  check_usage_error(run_cli({"pub", "x", "y", "--sleep", "5"}), "--sleep: invalid duration \"5\"");
  check_usage_error(run_cli({"pub", "x", "y", "-H", "novalue"}), "pub: invalid header \"novalue\"");
  check_usage_error(run_cli({"req", "x", "y", "--timeout", "soon"}), "req: --timeout: invalid duration");
  check_usage_error(run_cli({"sub", "x", "--raw", "--headers-only"}), "sub: --raw and --headers-only");
  check_usage_error(run_cli({"server"}), "server: missing command");
  check_usage_error(run_cli({"server", "reboot"}), "unknown command \"server reboot\"");
  check_usage_error(run_cli({"bench", "x", "--pub", "0"}), "bench: --pub must be 1..1000");
  check_usage_error(run_cli({"bench", "x", "--external"}), "bench: --external needs --request");
}

TEST_CASE("durations accept 500ms 2s 1m 1m30s 1.5s 250us") {
  // Parsed before connecting: an unreachable server proves the value was accepted (exit 1, not 2).
  for (const char* d : {"500ms", "2s", "1m", "1m30s", "1.5s", "250us"}) {
    auto r = run_cli({"server", "ping", "-s", "nats://127.0.0.1:1", "--interval", d});
    CHECK(r.exit_code == 1);
  }
}

TEST_CASE("an unreachable server is a run-time failure: exit 1 and one line naming the URL") {
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{{"pub", "x", "y"},
                                                                                   {"sub", "x"},
                                                                                   {"req", "x", "y"},
                                                                                   {"reply", "x", "y"},
                                                                                   {"server", "ping"},
                                                                                   {"bench", "x", "--msgs", "10"}}) {
    auto args = cmd;
    args.insert(args.end(), {"-s", "nats://127.0.0.1:1"});
    auto r = run_cli(args);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("tern: cannot connect to nats://127.0.0.1:1: ") != std::string::npos);
    CHECK(lines(r.err).back().starts_with("tern: cannot connect to nats://127.0.0.1:1: "));
  }
  // A password in the URL is not printed.
  auto r = run_cli({"pub", "x", "y", "-s", "nats://bob:hunter2@127.0.0.1:1"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("hunter2") == std::string::npos);
  CHECK(r.err.starts_with("tern: cannot connect to nats://bob:***@127.0.0.1:1: "));
}
