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
    {"server info", "", "", "Shows the server's state from its monitoring port", run_server_info},
    {"server report", "", "connections|jetstream", "Reports connections or JetStream usage from the monitoring port", run_server_report},
    {"stream add", "", "[STREAM]", "Creates a stream", run_stream_add},
    {"stream edit", "", "STREAM", "Changes a stream's configuration", run_stream_edit},
    {"stream info", "", "STREAM", "Shows a stream's configuration and state", run_stream_info},
    {"stream ls", "", "", "Lists the streams", run_stream_ls},
    {"stream rm", "", "STREAM", "Deletes a stream and its messages", run_stream_rm},
    {"stream purge", "", "STREAM", "Removes messages from a stream", run_stream_purge},
    {"stream get", "", "STREAM [SEQ]", "Shows one stored message", run_stream_get},
    {"stream view", "", "STREAM", "Shows the stored messages, oldest first", run_stream_view},
    {"consumer add", "", "STREAM [CONSUMER]", "Creates a pull consumer", run_consumer_add},
    {"consumer info", "", "STREAM CONSUMER", "Shows a consumer's configuration and state", run_consumer_info},
    {"consumer ls", "", "STREAM", "Lists a stream's consumers", run_consumer_ls},
    {"consumer rm", "", "STREAM CONSUMER", "Deletes a consumer", run_consumer_rm},
    {"consumer next", "", "STREAM CONSUMER", "Pulls the next messages from a consumer", run_consumer_next},
    {"dlq ls", "", "DLQ_STREAM", "Lists the messages of a dead-letter stream", run_dlq_ls},
    {"dlq redrive", "", "DLQ_STREAM", "Republishes dead-lettered messages to their subjects", run_dlq_redrive},
    {"bench", "", "SUBJECT | js pub|fetch", "Measures core or JetStream throughput", run_bench},
};

// Commands with sub-commands ("tern stream add"); nats CLI's aliases in the second column.
struct GroupEntry {
  std::string_view name;
  std::string_view alias;
};
constexpr GroupEntry kGroups[] = {{"server", ""}, {"stream", "str"}, {"consumer", "con"}, {"dlq", ""}};

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

void print_group_help(std::string_view group) {
  std::cout << "Usage:\n  tern " << group << " COMMAND [OPTIONS] [ARGS]\n\nCommands:\n";
  for (const CommandEntry& c : kCommands) {
    if (!c.name.starts_with(std::string(group) + " ")) continue;
    std::string head = std::string(c.name.substr(group.size() + 1)) + (c.usage.empty() ? "" : " ") + std::string(c.usage);
    head.resize(std::max<size_t>(head.size() + 2, 28), ' ');
    std::cout << "  " << head << c.summary << "\n";
  }
  std::cout << "\nRun 'tern " << group << " COMMAND --help' for a command's options.\n";
}

const GroupEntry* find_group(std::string_view name) {
  for (const GroupEntry& g : kGroups) {
    if (g.name == name || (!g.alias.empty() && g.alias == name)) return &g;
  }
  return nullptr;
}

// "ping, info or report": the group's commands, for error messages.
std::string group_commands(std::string_view group) {
  std::vector<std::string> names;
  for (const CommandEntry& c : kCommands) {
    if (c.name.starts_with(std::string(group) + " ")) names.emplace_back(c.name.substr(group.size() + 1));
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += (i + 1 == names.size()) ? " or " : ", ";
    out += names[i];
  }
  return out;
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
  if (const GroupEntry* group = find_group(name)) {
    name = std::string(group->name);
    size_t sub = next_word(args, after);
    if (sub == args.size()) {
      if (has_flag(args, args.size(), "-h", "--help")) {
        print_group_help(name);
        return kExitOk;
      }
      return fail(kExitUsage, name + ": missing command: " + group_commands(name) + " (see 'tern " + name +
                                  " --help')");
    }
    name += " " + args[sub];
    rest.insert(rest.end(), args.begin() + static_cast<long>(after), args.begin() + static_cast<long>(sub));
    after = sub + 1;
  }
  const CommandEntry* command = find_command(name);
  if (command == nullptr) {
    if (size_t sp = name.find(' '); sp != std::string::npos) {
      return fail(kExitUsage, "unknown command \"" + name + "\" (see 'tern " + name.substr(0, sp) + " --help')");
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
