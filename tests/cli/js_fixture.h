#pragma once
// What the JetStream command tests (stream, consumer, dlq) share: running `tern` against a
// JsServer (tests/support/js_helpers.h), its --json answer, the "Label: value" lines of an info
// page, and the shapes of a failure (exit 1) and a usage error (exit 2).

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/cli_process.h"
#include "tests/support/js_helpers.h"

namespace tern::test::cli_js {

// Runs `tern args... -s <the server's url>`.
inline CliResult tern_cli(js::JsServer& js, std::vector<std::string> args) {
  args.insert(args.end(), {"-s", js.server.url()});
  return run_cli(args);
}

// Runs a command with --json, REQUIREs success and returns its one JSON document.
inline nlohmann::json tern_json(js::JsServer& js, std::vector<std::string> args) {
  args.push_back("--json");
  auto r = tern_cli(js, args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(!j.is_discarded());
  return j;
}

// The "Label: value" line of an info page (labels are right-aligned, so leading spaces vary).
inline std::string field(const std::string& out, const std::string& label) {
  for (const std::string& l : lines(out)) {
    size_t b = l.find_first_not_of(' ');
    if (b != std::string::npos && l.compare(b, label.size() + 1, label + ":") == 0) {
      return l.size() > b + label.size() + 2 ? l.substr(b + label.size() + 2) : "";
    }
  }
  return "<no " + label + ">";
}

// A run-time failure: exit 1, nothing on stdout, exactly `line` on stderr.
inline void check_failure(const CliResult& r, const std::string& line) {
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == line + "\n");
}

// A usage error: exit 2, nothing on stdout, one line on stderr starting "tern: <start>".
inline void check_usage(const CliResult& r, const std::string& start) {
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.starts_with("tern: " + start));
  CHECK(lines(r.err).size() == 1);
}

}  // namespace tern::test::cli_js
