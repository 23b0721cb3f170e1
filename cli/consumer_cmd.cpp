// tern consumer add|info|ls|rm|next: durable pull consumers, as the nats CLI manages them.
//
// add builds the consumer config as JSON (from --config and the flags) so that Tern's
// dead_letter goes through like any field; info, ls and --json print the server's answer.
// next pulls with libtern's PullConsumer and acks with ack_sync, so that once the command has
// exited the server has the acks.

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/js_common.h"

namespace tern::cli {

namespace {

constexpr std::chrono::milliseconds kDefaultNextWait{5000};

std::optional<int> apply_consumer_flags(const CommandParser& parser, const cxxopts::ParseResult& o, ojson& cfg) {
  auto bad = [&](const std::string& flag, const std::string& why) {
    return fail(kExitUsage, parser.name() + ": --" + flag + ": " + why);
  };
  auto given = [&](const char* flag) { return o.count(flag) != 0; };
  auto str = [&](const char* flag) { return o[flag].as<std::string>(); };

  if (given("filter")) cfg["filter_subject"] = str("filter");
  if (given("description")) cfg["description"] = str("description");
  if (given("ack")) {
    std::string v = str("ack");
    if (v != "explicit" && v != "all" && v != "none")
      return bad("ack", "invalid value \"" + v + "\" (use explicit, all, none)");
    cfg["ack_policy"] = v;
  }
  if (given("replay")) {
    std::string v = str("replay");
    if (v != "instant" && v != "original") return bad("replay", "invalid value \"" + v + "\" (use instant, original)");
    cfg["replay_policy"] = v;
  }
  if (given("deliver")) {
    std::string v = str("deliver");
    cfg.erase("opt_start_seq");
    cfg.erase("opt_start_time");
    if (v == "all" || v == "last" || v == "new" || v == "last_per_subject") {
      cfg["deliver_policy"] = v;
    } else if (auto seq = parse_int(v, false); seq && *seq > 0) {
      cfg["deliver_policy"] = "by_start_sequence";
      cfg["opt_start_seq"] = *seq;
    } else if (parse_rfc3339(v)) {
      cfg["deliver_policy"] = "by_start_time";
      cfg["opt_start_time"] = v;
    } else {
      return bad("deliver",
                 "invalid value \"" + v + "\" (use all, last, new, last_per_subject, a sequence or an RFC 3339 time)");
    }
  }
  for (auto [flag, key] : {std::pair{"wait", "ack_wait"}, std::pair{"max-expires", "max_expires"},
                           std::pair{"inactive-threshold", "inactive_threshold"}}) {
    if (!given(flag)) continue;
    auto d = parse_js_duration(str(flag));
    if (!d) return bad(flag, d.status().message());
    cfg[key] = d->count();
  }
  for (auto [flag, key] : {std::pair{"max-deliver", "max_deliver"}, std::pair{"max-pending", "max_ack_pending"},
                           std::pair{"max-waiting", "max_waiting"}, std::pair{"max-batch", "max_batch"}}) {
    if (!given(flag)) continue;
    auto n = parse_int(str(flag), true);
    if (!n) return bad(flag, n.status().message());
    cfg[key] = *n;
  }
  if (given("backoff")) {
    ojson list = ojson::array();
    for (const std::string& part : split_list(o["backoff"].as<std::vector<std::string>>())) {
      auto d = parse_js_duration(part);
      if (!d) return bad("backoff", d.status().message());
      list.push_back(d->count());
    }
    cfg["backoff"] = list;
  }
  if (given("headers-only")) cfg["headers_only"] = o["headers-only"].as<bool>();
  if (given("memory")) cfg["mem_storage"] = o["memory"].as<bool>();
  if (given("dead-letter")) cfg["dead_letter"] = {{"stream", str("dead-letter")}};
  return std::nullopt;
}

std::string seq_line(const ojson& seqs, const char* last_label) {
  std::string out = "Consumer sequence: " + format_count(static_cast<double>(json_uint(seqs, "consumer_seq"))) +
                    " Stream sequence: " + format_count(static_cast<double>(json_uint(seqs, "stream_seq")));
  if (std::string last = json_str(seqs, "last_active"); parse_rfc3339(last)) {
    out += std::string(" ") + last_label + ": " + human_age(last) + " ago";
  }
  return out;
}

std::string deliver_text(const ojson& cfg) {
  std::string policy = json_str(cfg, "deliver_policy");
  if (policy == "by_start_sequence") return "From Sequence " + std::to_string(json_uint(cfg, "opt_start_seq"));
  if (policy == "by_start_time") return "Since " + human_time(json_str(cfg, "opt_start_time"), "?");
  return title_case(policy.empty() ? "all" : policy);
}

// The nats CLI's "Information for Consumer ..." page, from a CONSUMER.INFO (or CREATE) answer.
void print_consumer_info(const ojson& info) {
  const ojson cfg = info.value("config", ojson::object());
  std::printf("Information for Consumer %s > %s created %s\n\n", json_str(info, "stream_name").c_str(),
              json_str(info, "name").c_str(), human_time(json_str(info, "created"), "?").c_str());
  FieldPrinter f;
  f.section("Configuration:");
  if (std::string d = json_str(cfg, "durable_name"); !d.empty()) f.add("Durable Name", d);
  if (std::string d = json_str(cfg, "deliver_subject"); !d.empty()) {
    f.add("Delivery Subject", d);
  } else {
    f.add("Pull Mode", "true");
  }
  if (std::string d = json_str(cfg, "description"); !d.empty()) f.add("Description", d);
  if (std::string d = json_str(cfg, "filter_subject"); !d.empty()) f.add("Filter Subject", d);
  f.add("Deliver Policy", deliver_text(cfg));
  const std::string ack = json_str(cfg, "ack_policy");
  f.add("Ack Policy", title_case(ack));
  if (ack != "none") f.add("Ack Wait", human_duration(std::chrono::nanoseconds(json_int(cfg, "ack_wait"))));
  f.add("Replay Policy", title_case(json_str(cfg, "replay_policy")));
  const int64_t max_deliver = json_int(cfg, "max_deliver");
  f.add("Maximum Deliveries", max_deliver <= 0 ? "unlimited" : std::to_string(max_deliver));
  if (auto it = cfg.find("backoff"); it != cfg.end() && it->is_array() && !it->empty()) {
    std::string list;
    for (const auto& d : *it) {
      list +=
          (list.empty() ? "" : ", ") + human_duration(std::chrono::nanoseconds(d.is_number() ? d.get<int64_t>() : 0));
    }
    f.add("Backoff", list);
  }
  if (ack != "none") f.add("Max Ack Pending", limit_count(json_int(cfg, "max_ack_pending")));
  f.add("Max Waiting Pulls", limit_count(json_int(cfg, "max_waiting")));
  if (int64_t n = json_int(cfg, "max_batch"); n > 0) f.add("Max Pull Batch", std::to_string(n));
  if (int64_t n = json_int(cfg, "max_expires"); n > 0)
    f.add("Max Pull Expires", human_duration(std::chrono::nanoseconds(n)));
  if (int64_t n = json_int(cfg, "inactive_threshold"); n > 0) {
    f.add("Inactive Threshold", human_duration(std::chrono::nanoseconds(n)));
  }
  if (json_bool(cfg, "headers_only")) f.add("Headers Only", "true");
  if (json_bool(cfg, "mem_storage")) f.add("Memory Storage", "true");
  if (auto it = cfg.find("dead_letter"); it != cfg.end() && it->is_object()) {
    f.add("Dead Letter Stream", json_str(*it, "stream"));
  }
  f.blank();
  f.section("State:");
  f.add("Last Delivered Message", seq_line(info.value("delivered", ojson::object()), "Last delivery"));
  f.add("Acknowledgment Floor", seq_line(info.value("ack_floor", ojson::object()), "Last Ack"));
  std::string outstanding = std::to_string(json_int(info, "num_ack_pending"));
  if (ack != "none") outstanding += " out of maximum " + limit_count(json_int(cfg, "max_ack_pending"));
  f.add("Outstanding Acks", outstanding);
  f.add("Redelivered Messages", std::to_string(json_int(info, "num_redelivered")));
  f.add("Unprocessed Messages", format_count(static_cast<double>(json_uint(info, "num_pending"))));
  f.add("Waiting Pulls",
        std::to_string(json_int(info, "num_waiting")) + " of maximum " + limit_count(json_int(cfg, "max_waiting")));
  f.print();
}

}  // namespace

int run_consumer_add(const std::vector<std::string>& args) {
  CommandParser parser(
      args[0],
      "Creates (or, with the same config, confirms) a durable pull consumer on STREAM.\n"
      "The name comes from CONSUMER or from the --config file's durable_name; flags\n"
      "override the file's fields. Acks default to explicit, delivery to all.\n"
      "Example:\n"
      "  tern consumer add ORDERS worker --filter 'orders.new' --max-deliver 5 --dead-letter ORDERS_DLQ\n",
      "STREAM [CONSUMER]", 1, 2);
  // clang-format off
  parser.add_options()
    ("filter", "Only messages on this subject (wildcards allowed)", cxxopts::value<std::string>(), "SUBJECT")
    ("ack", "Ack policy: explicit, all or none", cxxopts::value<std::string>(), "POLICY")
    ("deliver", "Where to start: all, last, new, last_per_subject, a sequence or an RFC 3339 time",
     cxxopts::value<std::string>(), "POLICY")
    ("wait", "How long a delivery waits for its ack before it is redelivered", cxxopts::value<std::string>(),
     "DURATION")
    ("max-deliver", "Deliveries per message at most (-1: unlimited)", cxxopts::value<std::string>(), "N")
    ("backoff", "Redelivery delays (comma separated or repeated), instead of --wait",
     cxxopts::value<std::vector<std::string>>(), "DURATIONS")
    ("max-pending", "Unacknowledged messages at most (-1: unlimited)", cxxopts::value<std::string>(), "N")
    ("max-waiting", "Waiting pull requests at most", cxxopts::value<std::string>(), "N")
    ("max-batch", "Largest batch one pull may ask for", cxxopts::value<std::string>(), "N")
    ("max-expires", "Longest expiry a pull may ask for", cxxopts::value<std::string>(), "DURATION")
    ("inactive-threshold", "Deletes the consumer after this long without pulls", cxxopts::value<std::string>(),
     "DURATION")
    ("replay", "Replay: instant or original", cxxopts::value<std::string>(), "POLICY")
    ("headers-only", "Delivers only the headers (and Nats-Msg-Size)")
    ("description", "A description", cxxopts::value<std::string>(), "TEXT")
    ("memory", "Keeps the consumer's state in memory only")
    ("dead-letter", "Tern: copies messages that ran out of deliveries (or got +TERM) into this stream",
     cxxopts::value<std::string>(), "STREAM")
    ("config", "A consumer config in JSON (as the nats CLI writes it); flags override its fields",
     cxxopts::value<std::string>(), "FILE")
    ("json", "Prints the server's JSON answer");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& stream = cl.positional[0];
  ojson cfg = ojson::object();
  if (auto code = load_config_file(parser, cl.options, cfg)) return *code;
  std::string name = cl.positional.size() > 1 ? cl.positional[1] : json_str(cfg, "durable_name");
  if (name.empty()) name = json_str(cfg, "name");
  if (name.empty()) {
    return fail(kExitUsage,
                parser.name() + ": missing consumer name; usage: tern consumer add [OPTIONS] STREAM CONSUMER");
  }
  if (!json_str(cfg, "deliver_subject").empty()) {
    return fail(kExitUsage, parser.name() + ": --config: push consumers (deliver_subject) are not supported");
  }
  if (auto code = apply_consumer_flags(parser, cl.options, cfg)) return *code;
  cfg["durable_name"] = name;
  if (cfg.contains("name")) cfg["name"] = name;
  if (!cfg.contains("ack_policy")) cfg["ack_policy"] = "explicit";
  if (!cfg.contains("deliver_policy")) cfg["deliver_policy"] = "all";

  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  ojson req = {{"stream_name", stream}, {"config", cfg}};
  return request_and_show(*s->js, "CONSUMER.CREATE." + stream + "." + name, req.dump(), cl.options.count("json") != 0,
                          "consumer add " + stream + " " + name, print_consumer_info);
}

int run_consumer_info(const std::vector<std::string>& args) {
  CommandParser parser(args[0], "Shows a consumer's configuration and state.\n", "STREAM CONSUMER", 2, 2);
  parser.add_options()("json", "Prints the server's JSON answer");
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& stream = cl.positional[0];
  const std::string& name = cl.positional[1];
  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  return request_and_show(*s->js, "CONSUMER.INFO." + stream + "." + name, "", cl.options.count("json") != 0,
                          "consumer info " + stream + " " + name, print_consumer_info);
}

int run_consumer_ls(const std::vector<std::string>& args) {
  CommandParser parser(args[0], "Lists a stream's consumers, sorted by name.\n", "STREAM", 1, 1);
  add_ls_options(parser, "consumer");
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& stream = cl.positional[0];
  return run_ls(cl, {.what = "consumer ls " + stream,
                     .names_suffix = "CONSUMER.NAMES." + stream,
                     .list_suffix = "CONSUMER.LIST." + stream,
                     .key = "consumers",
                     .none = "No consumers defined",
                     .header = {"Name", "Description", "Created", "Ack Pending", "Unprocessed", "Last Delivery"},
                     .name_of = [](const ojson& info) { return json_str(info, "name"); },
                     .row = [](const ojson& info) -> std::vector<std::string> {
                       const ojson cfg = info.value("config", ojson::object());
                       const std::string last = json_str(info.value("delivered", ojson::object()), "last_active");
                       return {json_str(info, "name"),
                               json_str(cfg, "description"),
                               human_time(json_str(info, "created"), "?"),
                               format_count(static_cast<double>(json_int(info, "num_ack_pending"))),
                               format_count(static_cast<double>(json_uint(info, "num_pending"))),
                               parse_rfc3339(last) ? human_age(last) + " ago" : "never"};
                     }});
}

int run_consumer_rm(const std::vector<std::string>& args) {
  CommandParser parser(args[0], "Deletes a consumer.\n", "STREAM CONSUMER", 2, 2);
  parser.add_options()("f,force", "Deletes without asking");
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& stream = cl.positional[0];
  const std::string& name = cl.positional[1];
  return run_confirmed(
      parser, cl, "Really delete consumer " + stream + " > " + name + "?", "consumer rm " + stream + " " + name,
      [&](JetStream& js) { return js.delete_consumer(stream, name); }, "Deleted consumer " + stream + " > " + name);
}

int run_consumer_next(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Pulls the next messages from a pull consumer and prints each with its stream and\n"
                       "consumer sequences, then acknowledges it (unless --no-ack) and waits for the\n"
                       "server to confirm the ack.\n",
                       "STREAM CONSUMER", 2, 2);
  // clang-format off
  parser.add_options()
    ("count", "Pulls N messages", cxxopts::value<uint64_t>()->default_value("1"), "N")
    ("ack", "Acknowledges each message (the default)")
    ("no-ack", "Leaves the messages unacknowledged (they come back after the ack wait)")
    ("wait", "How long to wait for messages (default: --timeout if given, else 5s)", cxxopts::value<std::string>(),
     "DURATION")
    ("r,raw", "Prints only the payloads, one per line");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& stream = cl.positional[0];
  const std::string& name = cl.positional[1];
  const uint64_t count = cl.options["count"].as<uint64_t>();
  if (count < 1) return fail(kExitUsage, parser.name() + ": --count must be at least 1");
  if (cl.options.count("ack") != 0 && cl.options.count("no-ack") != 0) {
    return fail(kExitUsage, parser.name() + ": --ack and --no-ack exclude each other");
  }
  bool ack = cl.options.count("no-ack") == 0;
  const bool raw = cl.options.count("raw") != 0;
  std::chrono::milliseconds wait = cl.options.count("timeout") != 0 ? cl.global.timeout : kDefaultNextWait;
  if (cl.options.count("wait") != 0) {
    auto d = parse_js_duration(cl.options["wait"].as<std::string>());
    if (!d || d->count() <= 0) {
      return fail(kExitUsage, parser.name() + ": --wait: " + (d ? "must be more than 0" : d.status().message()));
    }
    wait = std::chrono::ceil<std::chrono::milliseconds>(*d);
  }

  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  const std::string what = "consumer next " + stream + " " + name;
  auto info = api_json(*s->js, "CONSUMER.INFO." + stream + "." + name);
  if (!info) return fail_api(what, info.status());
  // An ack-none consumer answers no ack; waiting for a confirmation would only time out.
  if (json_str(info->value("config", ojson::object()), "ack_policy") == "none") ack = false;
  auto pull = s->js->pull_consumer(stream, name);
  if (!pull) return fail_api(what, pull.status());

  const auto deadline = std::chrono::steady_clock::now() + wait;
  uint64_t received = 0;
  while (received < count) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto batch = pull->fetch(count - received, left);
    if (!batch) {
      // libtern lets the pull request expire a little before `left` (so the server's answer
      // arrives in time); keep asking until --wait has really passed.
      if (error_code(batch.status()) == ErrorCode::Timeout) continue;
      return fail_api(what, batch.status());
    }
    for (JsMsg& m : *batch) {
      ++received;
      if (raw) {
        std::fwrite(m.data().data(), 1, m.data().size(), stdout);
        std::fputs("\n", stdout);
      } else {
        std::string line = "[#" + std::to_string(received) + "] Received JetStream message: ";
        if (auto md = m.metadata()) {
          line += "stream: " + md->stream + " seq " + std::to_string(md->stream_seq) + " / subject: " + m.subject() +
                  " / delivered: " + std::to_string(md->num_delivered) +
                  " / consumer seq: " + std::to_string(md->consumer_seq) +
                  " / pending: " + std::to_string(md->num_pending);
        } else {
          line += "subject: " + m.subject();
        }
        std::printf("%s\n", line.c_str());
        print_msg_body(m.msg(), MsgFormat::Pretty);
      }
      std::fflush(stdout);
      if (ack) {
        if (Status st = m.ack_sync(s->js->options().timeout); !st) return fail_api(what + ": ack", st);
      }
    }
    if (batch->empty()) break;
  }
  if (received == 0) return fail(kExitFailure, "no message received");
  return kExitOk;
}

}  // namespace tern::cli
