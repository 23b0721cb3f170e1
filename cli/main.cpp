// tern: the command-line client. main() only finds the command and hands it the rest of the
// command line; each command parses its own options (global ones included) in its file.

#include <signal.h>

#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"

#ifndef TERN_VERSION
#define TERN_VERSION "0.0.0"
#endif

namespace tern::cli {
namespace {

struct CommandEntry {
  std::string_view name;   // as typed: "pub", "server ping"
  std::string_view alias;  // the nats CLI's long name, or empty
  std::string_view usage;  // what follows the name in the usage line
  std::string_view summary;
  int (*run)(const std::vector<std::string>& args);
};

constexpr CommandEntry kCommands[] = {
    {"pub", "publish", "SUBJECT [BODY]", "Publishes messages to a subject (body from stdin when absent)", run_pub},
    {"sub", "subscribe", "SUBJECT", "Subscribes to a subject and prints what arrives", run_sub},
    {"req", "request", "SUBJECT [BODY]", "Sends a request and prints the reply", run_request},
    {"reply", "", "SUBJECT [BODY]", "Answers every request on a subject", run_reply},
    {"server ping", "", "", "Measures round trips to the server", run_server_ping},
    {"server info", "", "", "Shows what the server says about itself", run_server_info},
    {"bench", "", "SUBJECT", "Measures publish/subscribe or request/reply throughput", run_bench},
};

// Global options that take a value as the next argument (see CommandParser).
bool global_takes_value(std::string_view arg) {
  return arg == "-s" || arg == "--server" || arg == "--user" || arg == "--password" || arg == "--token" ||
         arg == "--timeout";
}

bool is_option(std::string_view arg) { return arg.size() > 1 && arg.front() == '-'; }

void print_top_help() {
  std::cout << "tern - a command-line client for NATS servers (Tern and nats-server alike)\n"
               "\nUsage:\n  tern [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\nCommands:\n";
  for (const CommandEntry& c : kCommands) {
    std::string head = std::string(c.name) + (c.usage.empty() ? "" : " ") + std::string(c.usage);
    head.resize(std::max<size_t>(head.size() + 2, 28), ' ');
    std::cout << "  " << head << c.summary << "\n";
  }
  std::cout << "\nGlobal options (accepted by every command, before or after it):\n"
               "  -s, --server URL        NATS server URL(s), comma separated\n"
               "                          (default: $NATS_URL, else nats://127.0.0.1:4222)\n"
               "      --user USER         User name\n"
               "      --password PASSWORD Password\n"
               "      --token TOKEN       Authentication token\n"
               "      --timeout DURATION  Connect timeout, and req's reply timeout (default: 2s)\n"
               "  -h, --help              Shows help (after a command: that command's help)\n"
               "      --version           Shows the version\n"
               "\nDurations: 500ms, 2s, 1m, 1m30s. Exit codes: 0 ok, 1 failure, 2 bad command line.\n"
               "Run 'tern COMMAND --help' for a command's options.\n";
}

void print_server_help() {
  std::cout << "Usage:\n  tern server COMMAND [OPTIONS]\n\nCommands:\n"
               "  ping    Measures round trips to the server\n"
               "  info    Shows what the server says about itself\n"
               "\nRun 'tern server COMMAND --help' for a command's options.\n";
}

const CommandEntry* find_command(std::string_view name) {
  for (const CommandEntry& c : kCommands) {
    if (c.name == name || (!c.alias.empty() && c.alias == name)) return &c;
  }
  return nullptr;
}

// The index of the next non-option argument at or after `from`, skipping the values of
// global options; args.size() when there is none.
size_t next_word(const std::vector<std::string>& args, size_t from) {
  for (size_t i = from; i < args.size(); ++i) {
    if (args[i] == "--") return args.size();
    if (!is_option(args[i])) return i;
    if (global_takes_value(args[i])) ++i;
  }
  return args.size();
}

bool has_flag(const std::vector<std::string>& args, size_t end, std::string_view a, std::string_view b) {
  for (size_t i = 0; i < end && i < args.size(); ++i) {
    if (args[i] == a || args[i] == b) return true;
    if (args[i] == "--") break;
  }
  return false;
}

int run(const std::vector<std::string>& args) {  // args: argv without argv[0]
  size_t at = next_word(args, 0);
  if (at == args.size()) {
    if (has_flag(args, args.size(), "-h", "--help")) {
      print_top_help();
      return kExitOk;
    }
    if (has_flag(args, args.size(), "--version", "--version")) {
      std::cout << "tern version " << TERN_VERSION << "\n";
      return kExitOk;
    }
    for (const std::string& a : args) {
      if (is_option(a)) return fail(kExitUsage, "unknown option '" + a + "' (see 'tern --help')");
    }
    return fail(kExitUsage, "no command given (see 'tern --help')");
  }

  std::vector<std::string> rest(args.begin(), args.begin() + static_cast<long>(at));  // global options before it
  std::string name = args[at];
  size_t after = at + 1;
  if (name == "help") {  // `tern help [COMMAND...]` is `tern [COMMAND...] --help`
    std::vector<std::string> again(args.begin() + static_cast<long>(after), args.end());
    if (again.empty()) {
      print_top_help();
      return kExitOk;
    }
    again.push_back("--help");
    return run(again);
  }
  if (name == "server") {
    size_t sub = next_word(args, after);
    if (sub == args.size()) {
      if (has_flag(args, args.size(), "-h", "--help")) {
        print_server_help();
        return kExitOk;
      }
      return fail(kExitUsage, "server: missing command: ping or info (see 'tern server --help')");
    }
    name += " " + args[sub];
    rest.insert(rest.end(), args.begin() + static_cast<long>(after), args.begin() + static_cast<long>(sub));
    after = sub + 1;
  }
  const CommandEntry* command = find_command(name);
  if (command == nullptr) {
    if (name.starts_with("server ")) {
      return fail(kExitUsage, "unknown command \"" + name + "\" (see 'tern server --help')");
    }
    return fail(kExitUsage, "unknown command \"" + name + "\" (see 'tern --help')");
  }
  std::vector<std::string> command_args;
  command_args.reserve(args.size() + 1);
  command_args.push_back("tern " + std::string(command->name));
  command_args.insert(command_args.end(), rest.begin(), rest.end());
  command_args.insert(command_args.end(), args.begin() + static_cast<long>(after), args.end());
  return command->run(command_args);
}

}  // namespace
}  // namespace tern::cli

int main(int argc, char** argv) {
  // SIGPIPE keeps its default: `tern sub x | head -1` ends when head does. libtern blocks
  // SIGPIPE on its own I/O thread, so a closed server socket is an error, not a signal.
  std::vector<std::string> args(argv + 1, argv + argc);
  return tern::cli::run(args);
}
