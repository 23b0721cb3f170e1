// tern sub SUBJECT: prints every message on SUBJECT until Ctrl-C or --count messages.

#include "cli/commands.h"
#include "cli/common.h"

namespace tern::cli {

int run_sub(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Subscribes to SUBJECT (wildcards allowed) and prints every message: a line\n"
                       "'[#n] Received on \"subject\"', the headers and a blank line, then the payload.\n"
                       "Ctrl-C stops it cleanly (pending messages are still printed).\n",
                       "SUBJECT", 1, 1);
  // clang-format off
  parser.add_options()
    ("queue", "Subscribes as a member of the queue group NAME", cxxopts::value<std::string>(), "NAME")
    ("count", "Exits after N messages (0: never)", cxxopts::value<uint64_t>()->default_value("0"), "N")
    ("r,raw", "Prints only the payloads, one per line")
    ("headers-only", "Prints only the headers of each message");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& subject = cl.positional[0];
  const std::string queue = cl.options.count("queue") != 0 ? cl.options["queue"].as<std::string>() : "";
  const uint64_t count = cl.options["count"].as<uint64_t>();
  const bool raw = cl.options.count("raw") != 0;
  const bool headers_only = cl.options.count("headers-only") != 0;
  if (raw && headers_only) return fail(kExitUsage, parser.name() + ": --raw and --headers-only exclude each other");
  const MsgFormat format = raw ? MsgFormat::Raw : headers_only ? MsgFormat::HeadersOnly : MsgFormat::Pretty;

  SignalWaiter signals;  // before connecting: libtern's threads inherit the blocked signals
  StopFlag stop;
  Options opts;
  stop.watch(opts);
  auto conn = connect(cl.global, std::move(opts));
  if (!conn) return fail(kExitFailure, conn.status().message());
  Connection& nc = **conn;

  // Runs on the dispatcher thread, one message at a time.
  uint64_t received = 0;
  MsgHandler handler = [&](Msg& m) {
    if (count != 0 && received >= count) return;  // arrived before the UNSUB took effect
    print_msg(m, ++received, format);
    if (received == count) stop.finish();
  };
  auto sub = listen(nc, subject, queue, count, handler, cl.global.timeout);
  if (!sub) return fail(kExitFailure, sub.status().message());
  if (queue.empty()) {
    std::fprintf(stderr, "Subscribing on %s\n", subject.c_str());
  } else {
    std::fprintf(stderr, "Subscribing on %s in group %s\n", subject.c_str(), queue.c_str());
  }
  int code = wait_then_drain(stop, signals, nc, cl.global.timeout);
  conn->reset();
  return code;
}

}  // namespace tern::cli
