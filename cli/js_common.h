#pragma once
// What the JetStream commands (stream, consumer, dlq) share: connecting with a JetStream
// context, printing API errors and the server's JSON, info answers, ls and confirmed rm, the
// nats CLI's duration and size syntax, human sizes (server info and report use them too),
// durations and times, "Label: value" blocks and tables.
//
// The commands print from the server's own JSON answers (kept in key order with ordered_json),
// so `--json` shows exactly what the server said and the human output never lags behind a
// field the typed structs do not have yet (compression, dead_letter).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/common.h"
#include "tern/jetstream.h"

namespace tern::cli {

using ojson = nlohmann::ordered_json;

// A connection and its JetStream context; the connection outlives the context.
struct JsSession {
  std::unique_ptr<Connection> conn;
  std::unique_ptr<JetStream> js;
};

// Connects with the global options. API requests time out after --timeout when it was given,
// else after 5 s (a stream create may wait for an fsync). Errors are ready to print.
Result<JsSession> connect_js(const CommandLine& cl);

// An API request whose answer is parsed: the JSON object, or the error (API errors included).
Result<ojson> api_json(JetStream& js, const std::string& suffix, const std::string& body = "");

// Every item of a paged list answer (STREAM.NAMES, STREAM.LIST, CONSUMER.NAMES.<s>, ...):
// the arrays under `key` of all pages, asking again from the next offset until `total`.
Result<std::vector<ojson>> api_list(JetStream& js, const std::string& suffix, const char* key);

// Prints the error of a failed call as one line and returns kExitFailure:
//   API error:  "tern: <what>: <description> (<err_code>)"
//   otherwise:  "tern: <what>: <message>"
int fail_api(const std::string& what, const Status& status);

// An API answer's text as JSON (ordered as the server wrote it); an error when it is not JSON.
Result<ojson> parse_answer(const std::string& text);
// Writes one JSON document (indented) and a newline to stdout.
void print_json(const ojson& j);

// Prints an info answer (STREAM.INFO, CONSUMER.CREATE, ...) as the server's JSON or, unless
// `as_json`, with `print_human`; errors (also an answer that is not JSON) start with `what`.
int show_answer(const std::string& text, bool as_json, const std::string& what,
                const std::function<void(const ojson&)>& print_human);
// Sends an API request and shows its answer as show_answer() does.
int request_and_show(JetStream& js, const std::string& suffix, const std::string& body, bool as_json,
                     const std::string& what, const std::function<void(const ojson&)>& print_human);

// For --config: the JSON object in the file replaces `cfg`; nothing happens without --config.
// Returns the usage-error exit code when the file is unreadable or holds no JSON object.
std::optional<int> load_config_file(const CommandParser& parser, const cxxopts::ParseResult& o, ojson& cfg);

// `ls` of streams or of consumers: the items of a paged list answer, sorted by name, printed as
// a table, as bare names (--names) or as a JSON array (--json).
struct ListSpec {
  std::string what;          // starts error lines: "stream ls"
  std::string names_suffix;  // the API request for --names: "STREAM.NAMES"
  std::string list_suffix;   // and for the infos: "STREAM.LIST"
  const char* key;           // the answer's array: "streams"
  std::string none;          // printed when there are none: "No streams defined"
  std::vector<std::string> header;
  std::function<std::string(const ojson&)> name_of;           // an info's name
  std::function<std::vector<std::string>(const ojson&)> row;  // an info's table row
};
// Adds --names and --json; `noun` is what is listed: "stream".
void add_ls_options(CommandParser& parser, const std::string& noun);
int run_ls(const CommandLine& cl, const ListSpec& spec);

// For rm: after require_force(), connects, runs `action` and prints `done`; an error starts
// with `what`.
int run_confirmed(const CommandParser& parser, const CommandLine& cl, const std::string& question,
                  const std::string& what, const std::function<Status(JetStream&)>& action, const std::string& done);

// Durations as the nats CLI takes them: Go's syntax (500ms, 1m30s, 2h) plus d (days),
// w (weeks) and y (365 days): "1d", "1w2d", "1y". "0" is zero.
Result<std::chrono::nanoseconds> parse_js_duration(std::string_view text);
// Sizes: a number of bytes, or one with a unit K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB
// (case-insensitive, all powers of 1024 as in the nats CLI). "-1" means unlimited.
Result<int64_t> parse_size(std::string_view text);
// A whole number; "-1" allowed when `allow_unlimited`.
Result<int64_t> parse_int(std::string_view text, bool allow_unlimited);

// "517 B", "1.0 KiB", "12 MiB" (humanize.IBytes, as the nats CLI prints sizes).
std::string human_bytes(uint64_t bytes);
// "517 B", "1.5 KiB (1,536 bytes)": the human size and, from 1 KiB, the exact figure.
std::string human_bytes_exact(uint64_t bytes);
// "30s", "2m0s", "1h0m0s", "1d0h0m0s", "500ms" (Go's form, with days above 24 h).
std::string human_duration(std::chrono::nanoseconds d);

// RFC 3339 (with or without fractional seconds, Z or +hh:mm) to nanoseconds since 1970 (UTC);
// nullopt when it is not one or is Go's zero time (year 1).
std::optional<int64_t> parse_rfc3339(std::string_view text);
// "2024-05-01 12:00:00 UTC" for an RFC 3339 time; `fallback` when unset or unparsable.
std::string human_time(std::string_view rfc3339, std::string_view fallback = "never");
// "3.2s ago"-style age of an RFC 3339 time: "3.2s"; `fallback` when unset.
std::string human_age(std::string_view rfc3339, std::string_view fallback = "never");

// "unlimited" for a negative (or, for durations, zero) limit, else the value.
std::string limit_count(int64_t n);
std::string limit_bytes(int64_t n);
std::string limit_duration(int64_t ns);

// Lines "Label: value", labels right-aligned to the longest one, as the nats CLI prints info,
// with blank lines and flush-left section headings ("Configuration:") in between.
class FieldPrinter {
 public:
  void add(std::string label, std::string value) { rows_.push_back({Kind::Field, std::move(label), std::move(value)}); }
  void blank() { rows_.push_back({Kind::Blank, "", ""}); }
  void section(std::string title) { rows_.push_back({Kind::Section, std::move(title), ""}); }
  void print() const;

 private:
  enum class Kind { Field, Blank, Section };
  struct Row {
    Kind kind;
    std::string label;
    std::string value;
  };
  std::vector<Row> rows_;
};

// A left-aligned text table: a header row and rows, columns two spaces apart, no trailing
// spaces. Widths count UTF-8 characters, not bytes.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size(); }
  void print() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// The values of a repeatable option, each split at commas, empty parts dropped:
// --subjects a,b --subjects c -> {a, b, c}.
std::vector<std::string> split_list(const std::vector<std::string>& values);

// For rm and purge without --force: asks "<question> [y/N] " on a terminal and returns the
// answer; when stdin is not a terminal returns nullopt (the caller refuses with a usage error).
std::optional<bool> confirm(const std::string& question);

// For rm and purge: nullopt (go ahead) with --force or a yes on a terminal; else the exit code
// to return: kExitOk after a no, kExitUsage (saying to use -f) when stdin is not a terminal.
std::optional<int> require_force(const CommandParser& parser, const cxxopts::ParseResult& o,
                                 const std::string& question);

// Reads a whole file (for --config); errors name the file.
Result<std::string> read_file(const std::string& path);

// A JSON number field as int64 (0 when absent or not a number), and a string field ("" when absent).
int64_t json_int(const ojson& j, const char* key);
uint64_t json_uint(const ojson& j, const char* key);
std::string json_str(const ojson& j, const char* key);
bool json_bool(const ojson& j, const char* key);

// "Limits" for "limits", "WorkQueue" for "workqueue": the nats CLI's capitalised policy names.
std::string title_case(std::string_view policy);

}  // namespace tern::cli
