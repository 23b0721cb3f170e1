// tern dlq ls|redrive: Tern's dead-letter streams (docs/dead-letter.md). A dead-letter copy is
// an ordinary stored message whose Tern-DLQ-* headers say where it came from; ls reads them
// with MSG.GET, redrive asks the server ($JS.API.TERN.DLQ.REDRIVE.<dlq>) to republish them.
// nats-server has neither: the commands then fail with the server's answer (stream not found).

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/js_common.h"

namespace tern::cli {

namespace {

constexpr int kNoMessageFound = 10037;  // MSG.GET on a deleted sequence

std::string header_or(const StoredMsg& m, std::string_view key, std::string_view fallback = "") {
  const std::string* v = m.headers.get(key);
  return v != nullptr ? *v : std::string(fallback);
}

}  // namespace

int run_dlq_ls(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Lists the dead-letter copies in DLQ_STREAM, oldest first, with where each came\n"
                       "from (the Tern-DLQ-* headers).\n",
                       "DLQ_STREAM", 1, 1);
  parser.add_options()("json", "Prints a JSON array, one object per copy");
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& name = cl.positional[0];
  const bool as_json = cl.options.count("json") != 0;
  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  const std::string what = "dlq ls " + name;
  auto info = api_json(*s->js, "STREAM.INFO." + name);
  if (!info) return fail_api(what, info.status());
  const ojson state = info->value("state", ojson::object());

  Table table({"Seq", "Subject", "Source Stream", "Consumer", "Source Seq", "Deliveries", "Reason", "Time"});
  ojson list = ojson::array();
  const uint64_t last = json_uint(state, "last_seq");
  for (uint64_t seq = std::max<uint64_t>(json_uint(state, "first_seq"), 1); seq <= last; ++seq) {
    auto msg = s->js->get_msg(name, seq);
    if (!msg) {
      auto e = api_error(msg.status());
      if (e && e->err_code == kNoMessageFound) continue;  // redriven (deleted) meanwhile
      return fail_api(what, msg.status());
    }
    const std::string subject = header_or(*msg, "Tern-DLQ-Subject", msg->subject);
    if (as_json) {
      auto number = [&](std::string_view key) -> ojson {
        auto n = parse_int(header_or(*msg, key), false);
        return n ? ojson(*n) : ojson(nullptr);
      };
      list.push_back({{"seq", msg->seq},
                      {"subject", subject},
                      {"stream", header_or(*msg, "Tern-DLQ-Stream")},
                      {"consumer", header_or(*msg, "Tern-DLQ-Consumer")},
                      {"stream_seq", number("Tern-DLQ-Sequence")},
                      {"deliveries", number("Tern-DLQ-Deliveries")},
                      {"reason", header_or(*msg, "Tern-DLQ-Reason")},
                      {"time", msg->time}});
    } else {
      table.add({std::to_string(msg->seq), subject, header_or(*msg, "Tern-DLQ-Stream", "-"),
                 header_or(*msg, "Tern-DLQ-Consumer", "-"), header_or(*msg, "Tern-DLQ-Sequence", "-"),
                 header_or(*msg, "Tern-DLQ-Deliveries", "-"), header_or(*msg, "Tern-DLQ-Reason", "-"),
                 human_time(msg->time, "?")});
    }
  }
  if (as_json) {
    print_json(list);
  } else if (table.size() == 0) {
    std::printf("No messages in dead-letter stream %s\n", name.c_str());
  } else {
    table.print();
  }
  return kExitOk;
}

int run_dlq_redrive(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Republishes dead-letter copies to their original subjects (where the source\n"
                       "stream stores them again) and removes them from DLQ_STREAM once stored: all of\n"
                       "them, or the one at --seq, at most --max, only those from subjects matching --filter.\n",
                       "DLQ_STREAM", 1, 1);
  // clang-format off
  parser.add_options()
    ("seq", "Only the copy at this sequence", cxxopts::value<uint64_t>(), "N")
    ("max", "At most N copies, oldest first", cxxopts::value<uint64_t>(), "N")
    ("filter", "Only copies whose original subject matches (wildcards allowed)", cxxopts::value<std::string>(),
     "SUBJECT");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& name = cl.positional[0];
  RedriveOptions opts;
  if (cl.options.count("seq") != 0) opts.seq = cl.options["seq"].as<uint64_t>();
  if (cl.options.count("max") != 0) opts.max = cl.options["max"].as<uint64_t>();
  if (cl.options.count("filter") != 0) opts.filter = cl.options["filter"].as<std::string>();
  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  const std::string what = "dlq redrive " + name;
  // nats-server does not answer the Tern API at all; its stream info says why first.
  if (auto info = api_json(*s->js, "STREAM.INFO." + name); !info) return fail_api(what, info.status());
  auto n = s->js->dlq_redrive(name, opts);
  if (!n) return fail_api(what, n.status());
  std::printf("Redriven %llu messages from %s\n", static_cast<unsigned long long>(*n), name.c_str());
  return kExitOk;
}

}  // namespace tern::cli
