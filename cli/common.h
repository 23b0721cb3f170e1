#pragma once
// What every `tern` command shares: the global connection options, parsing a command line
// with cxxopts, durations, templates in bodies, printing messages, and waiting for Ctrl-C.
//
// Conventions (the nats CLI's where it has them):
//  - stdout carries what a command produces (messages, replies, figures); stderr carries
//    progress notes ("Subscribing on x") and errors.
//  - An error is exactly one line on stderr, "tern: <what failed>", and a non-zero exit:
//    kExitUsage for a bad command line, kExitFailure for anything that failed at run time.
//
// Threads: everything here runs on the main thread, except print_msg(), which the
// commands call from libtern's dispatcher thread (one callback at a time).

// Vector options (-H k:v, repeatable) must not be split at commas: a header value may
// contain one. '\0' cannot occur inside a command-line argument.
#define CXXOPTS_VECTOR_DELIMITER '\0'
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cxxopts.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/client.h"

namespace tern::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // a run-time failure: unreachable server, timeout, no responders
constexpr int kExitUsage = 2;    // a bad command line: unknown command or flag, bad value

// Prints "tern: <message>" on stderr and returns `exit_code`, so a command can
// `return fail(kExitFailure, "...")`.
int fail(int exit_code, std::string_view message);

// -s/--server, --user, --password, --token, --timeout: accepted by every command.
struct GlobalOptions {
  std::string server;  // as given; empty means NATS_URL, else nats://127.0.0.1:4222
  std::string user;
  std::string password;
  std::string token;
  std::string name = "tern";  // the connection name the server's monitoring shows
  // The connect timeout, and for `req` also the request timeout (one flag, as in the nats CLI).
  std::chrono::milliseconds timeout{2000};

  // The URL the connection goes to: --server, else NATS_URL, else the default.
  std::string url() const;
};

// A parsed command line: the command's options, its positional arguments, the global options.
struct CommandLine {
  cxxopts::ParseResult options;
  std::vector<std::string> positional;
  GlobalOptions global;
};

// The parser of one command (e.g. "tern pub"): cxxopts with the global options already
// added, --help, and positional arguments collected and counted.
class CommandParser {
 public:
  // `positional_help` is the usage's tail, e.g. "SUBJECT [BODY]"; a command line with fewer
  // than `min_positional` or more than `max_positional` positional arguments is refused.
  CommandParser(std::string name, std::string description, std::string positional_help, size_t min_positional,
                size_t max_positional);

  // The command's own options, shown first in the help.
  cxxopts::OptionAdder add_options() { return options_.add_options(); }

  // Parses `args` (args[0], the program name "tern pub", is skipped). Returns nullopt when the
  // command should run, or the exit code to return right away: kExitOk after printing
  // --help, kExitUsage after printing the error.
  std::optional<int> parse(const std::vector<std::string>& args, CommandLine& out);

  std::string help();
  // The command as error messages name it: "pub", "server ping".
  const std::string& name() const { return name_; }

 private:
  std::string program_;  // "tern pub"
  std::string name_;     // "pub"
  std::string positional_help_;
  size_t min_positional_;
  size_t max_positional_;
  cxxopts::Options options_;
};

// Connects with the global options; `opts` supplies callbacks and tuning, its url and
// credentials are replaced. On failure the Status reads "cannot connect to <url>: <why>"
// with any password in the URL masked.
Result<std::unique_ptr<Connection>> connect(const GlobalOptions& global, Options opts = {});

// "500ms", "2s", "1m", "1.5s", "1m30s", "250us", "1h" (Go's duration syntax; a unit is
// required except for "0"). Negative durations are refused.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);
// Reads a duration option into `out`; returns the usage-error exit code on a bad value.
std::optional<int> read_duration_option(const cxxopts::ParseResult& options, const std::string& name,
                                        std::chrono::nanoseconds& out);
// A human duration with three significant digits: "812µs", "1.25ms", "2.00s".
std::string format_duration(std::chrono::nanoseconds d);

// "1,234,567" — thousands separators for the figures bench prints.
std::string format_count(double n);

// nats-CLI-style templates in bodies and header values:
//   {{Count}}             the message number, from 1
//   {{TimeStamp}}         the current time, RFC 3339
//   {{Unix}} {{UnixNano}} seconds / nanoseconds since 1970
//   {{Time}}              the current time of day, HH:MM:SS
//   {{ID}}                a unique id (22 characters)
//   {{Random(min,max)}}   a random alphanumeric string of min..max characters; the nats
//                         CLI's spelling {{ Random min max }} works too
//   {{Request}}           the request's body (reply only)
// Spaces inside the braces are ignored. Anything else in braces is left as it is.
struct TemplateContext {
  uint64_t count = 1;
  const std::string* request = nullptr;  // not owned; null outside `reply`
};
std::string expand_template(std::string_view text, const TemplateContext& ctx);

// Parses "-H key:value" arguments (split at the first ':', both sides trimmed). The values
// are templates, expanded with `ctx`. Error (a usage error): an argument without ':' or
// with an empty key.
Result<Headers> parse_headers(const std::vector<std::string>& specs, const TemplateContext& ctx);

// The whole of stdin (binary-safe). When stdin is a terminal it first says so on stderr
// (as the nats CLI does), since the command then waits for Ctrl-D.
std::string read_all_stdin();

enum class MsgFormat {
  Pretty,       // [#n] Received on "subject" (with reply "r"), headers, blank line, payload
  Raw,          // the payload only, then a newline
  HeadersOnly,  // the Pretty header line and headers, no payload
};
// Writes one message to stdout in `format` and flushes, so a reader of a pipe sees it at once.
// The Pretty layout is the nats CLI's: the header lines and a blank line only when the
// message has headers; the payload followed by a newline, and by an empty line unless the
// payload already ended with a newline. `number` is the [#n] counter.
void print_msg(const Msg& msg, uint64_t number, MsgFormat format);
// The part of print_msg(Pretty/HeadersOnly) after the "[#n] Received" line.
void print_msg_body(const Msg& msg, MsgFormat format);
// True once writing a message to stdout failed (e.g. `tern sub x | head -1` closed the pipe;
// main() ignores SIGPIPE so that a closed socket cannot kill the process): the long-running
// commands then stop.
bool stdout_failed();

// SIGINT and SIGTERM, delivered to the main thread by sigtimedwait() instead of a handler.
// Construct it before connecting, while the process has one thread: libtern's threads
// inherit the blocked mask, so the signals stay pending until wait() takes them. Commands
// that do not wait for signals (pub, req, ...) keep the default: Ctrl-C ends them.
class SignalWaiter {
 public:
  SignalWaiter();
  // The signal that arrived within `timeout`, or 0.
  int wait(std::chrono::milliseconds timeout);
};

// How a long-running command (sub, reply) ends: its work is done (--count reached), a
// signal arrived, stdout went away, or it failed (connection closed for good, permission
// refused). finish() and fail() may be called from any thread (callbacks); wait() from main.
class StopFlag {
 public:
  enum class Reason { Finished, Signal, StdoutClosed, Failed };
  void finish();
  void fail(Status why);  // the first failure wins
  // Polls `signals` until one of the above happens.
  Reason wait(SignalWaiter& signals);
  Status failure();

  // Connection callbacks that report on stderr and stop the command when the connection
  // closes for good or the server refuses a permission: disconnected, reconnected, closed, error.
  void watch(Options& opts);

 private:
  std::mutex mu_;
  bool finished_ = false;
  Status failed_;
};

// For sub and reply: subscribes (to `queue` when non-empty), limits it to `count` messages
// when count > 0, and waits for the server to confirm the SUB (flush) before returning.
// Errors are ready to print: "cannot subscribe to ..." / "subscribe failed: ...".
Result<Subscription> listen(Connection& nc, const std::string& subject, const std::string& queue, uint64_t count,
                            MsgHandler handler, std::chrono::milliseconds timeout);

// For sub and reply, once listening: waits for `stop`, drains the connection unless stdout
// went away (so the last messages or answers still get out), and returns the exit code.
int wait_then_drain(StopFlag& stop, SignalWaiter& signals, Connection& nc, std::chrono::milliseconds timeout);

// One progress bar on stderr, "\r[=====>    ]  45%  450/1000", drawn only when stderr is
// a terminal. Not thread-safe: call update() from one thread.
class ProgressBar {
 public:
  ProgressBar(std::string label, uint64_t total);
  ~ProgressBar();  // finishes the line
  void update(uint64_t done);
  void finish();
  bool enabled() const { return enabled_; }

 private:
  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool finished_ = false;
  int last_percent_ = -1;
};

}  // namespace tern::cli
