// tern pub SUBJECT [BODY]: publishes COUNT messages, the body (from stdin when absent)
// expanded as a template for each.

#include <chrono>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"

namespace tern::cli {

int run_pub(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Publishes messages to SUBJECT. Without BODY, all of stdin is the body.\n\n"
                       "The body, the subject and header values are templates:\n"
                       "  {{Count}} the message number (from 1), {{TimeStamp}} RFC 3339 time, {{Unix}},\n"
                       "  {{UnixNano}}, {{Time}}, {{ID}} a unique id, {{Random(min,max)}} a random string\n"
                       "  of min..max characters. Example:\n"
                       "    tern pub orders --count 10 'order {{Count}} at {{TimeStamp}}'\n",
                       "SUBJECT [BODY]", 1, 2);
  // clang-format off
  parser.add_options()
    ("count", "Publishes N messages", cxxopts::value<int64_t>()->default_value("1"), "N")
    ("sleep", "Sleeps this long between messages", cxxopts::value<std::string>(), "DURATION")
    ("H,header", "Adds a header (repeatable)", cxxopts::value<std::vector<std::string>>(), "KEY:VALUE")
    ("reply", "Sets the reply subject", cxxopts::value<std::string>(), "SUBJECT")
    ("q,quiet", "Prints nothing on success")
    ("no-templates", "Sends the body and subject as they are, without expanding {{...}}");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;

  const int64_t count = cl.options["count"].as<int64_t>();
  if (count < 1) return fail(kExitUsage, parser.name() + ": --count must be at least 1");
  std::chrono::nanoseconds sleep{0};
  if (auto code = read_duration_option(cl.options, "sleep", sleep)) return *code;
  std::vector<std::string> header_specs;
  if (cl.options.count("header") != 0) header_specs = cl.options["header"].as<std::vector<std::string>>();
  if (auto h = parse_headers(header_specs, {}); !h)
    return fail(kExitUsage, parser.name() + ": " + h.status().message());
  const std::string reply = cl.options.count("reply") != 0 ? cl.options["reply"].as<std::string>() : "";
  const bool quiet = cl.options.count("quiet") != 0;
  const bool templates = cl.options.count("no-templates") == 0;
  const std::string& subject_template = cl.positional[0];
  const std::string body_template = cl.positional.size() > 1 ? cl.positional[1] : read_all_stdin();

  // A refused publish (permissions) comes back asynchronously; keep the first one.
  std::mutex mu;
  Status async_error;
  Options opts;
  opts.error = [&](Connection&, const Status& s) {
    std::lock_guard lock(mu);
    if (async_error.is_ok()) async_error = s;
  };
  auto conn = connect(cl.global, std::move(opts));
  if (!conn) return fail(kExitFailure, conn.status().message());
  Connection& nc = **conn;

  // With many messages a progress bar replaces the per-message lines (on a terminal only).
  ProgressBar progress("Publishing", count > 20 && !quiet ? static_cast<uint64_t>(count) : 0);
  for (int64_t i = 1; i <= count; ++i) {
    TemplateContext ctx{static_cast<uint64_t>(i), nullptr};
    Msg msg;
    msg.subject = templates ? expand_template(subject_template, ctx) : subject_template;
    msg.reply = reply;
    msg.data = templates ? expand_template(body_template, ctx) : body_template;
    msg.headers = *parse_headers(header_specs, ctx);
    msg.has_headers = !msg.headers.empty();
    if (Status st = nc.publish(msg); !st) {
      return fail(kExitFailure, "publish to \"" + msg.subject + "\" failed: " + st.message());
    }
    if (progress.enabled()) {
      progress.update(static_cast<uint64_t>(i));
    } else if (!quiet) {
      std::fprintf(stderr, "Published %zu bytes to \"%s\"\n", msg.data.size(), msg.subject.c_str());
    }
    if (sleep.count() > 0 && i < count) {
      // Flush first, so that the server has each message when the pause starts.
      if (Status st = nc.flush(cl.global.timeout); !st) return fail(kExitFailure, "flush failed: " + st.message());
      std::this_thread::sleep_for(sleep);
    }
  }
  progress.finish();
  if (Status st = nc.flush(std::max(cl.global.timeout, std::chrono::milliseconds(5000))); !st) {
    return fail(kExitFailure, "flush failed: " + st.message());
  }
  // Destroying the connection runs every callback still queued (the closed event comes
  // last), so an -ERR the server sent before the flush's PONG has been seen by now.
  conn->reset();
  std::lock_guard lock(mu);
  if (!async_error.is_ok()) return fail(kExitFailure, async_error.message());
  return kExitOk;
}

}  // namespace tern::cli
