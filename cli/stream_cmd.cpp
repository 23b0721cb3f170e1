// tern stream add|edit|info|ls|rm|purge|get|view: JetStream streams, as the nats CLI manages them.
//
// add and edit build the stream config as JSON (from --config and the flags) and send it as it
// is, so every field the server knows survives an edit, Tern's compression included; info, ls
// and --json print the server's own answer.

#include <algorithm>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/js_common.h"
#include "proto/subject.h"

namespace tern::cli {

namespace {

constexpr int kNoMessageFound = 10037;  // MSG.GET on a deleted or missing sequence

// The flags that set a StreamConfig field, shared by add and edit.
void add_config_options(CommandParser& parser) {
  // clang-format off
  parser.add_options()
    ("subjects", "Subjects the stream captures (comma separated or repeated)",
     cxxopts::value<std::vector<std::string>>(), "SUBJECTS")
    ("storage", "Storage: file or memory", cxxopts::value<std::string>(), "TYPE")
    ("retention", "Retention: limits, interest or workqueue (or work)", cxxopts::value<std::string>(), "POLICY")
    ("discard", "When full, discard old or new messages", cxxopts::value<std::string>(), "POLICY")
    ("max-msgs", "Maximum number of messages (-1: unlimited)", cxxopts::value<std::string>(), "N")
    ("max-bytes", "Maximum size of the stream: 512, 1KB, 10MiB, 1GB (-1: unlimited)",
     cxxopts::value<std::string>(), "SIZE")
    ("max-age", "Maximum age of a message: 30s, 1h, 1d (0: unlimited)", cxxopts::value<std::string>(), "DURATION")
    ("max-msg-size", "Maximum size of one message (-1: unlimited)", cxxopts::value<std::string>(), "SIZE")
    ("max-msgs-per-subject", "Maximum messages kept per subject (-1: unlimited)",
     cxxopts::value<std::string>(), "N")
    ("max-consumers", "Maximum number of consumers (-1: unlimited)", cxxopts::value<std::string>(), "N")
    ("dupe-window", "Window for duplicate detection by Nats-Msg-Id", cxxopts::value<std::string>(), "DURATION")
    ("replicas", "Number of replicas", cxxopts::value<std::string>(), "N")
    ("no-ack", "Publishes are not acknowledged (--no-ack=false to undo)")
    ("deny-delete", "Messages may not be deleted one by one")
    ("deny-purge", "The stream may not be purged")
    ("allow-rollup", "Allows Nats-Rollup headers")
    ("allow-direct", "Allows direct get")
    ("description", "A description", cxxopts::value<std::string>(), "TEXT")
    ("compression", "Tern: compression on disk: none, lz4 or zstd", cxxopts::value<std::string>(), "ALGORITHM")
    ("config", "A stream config in JSON (as the nats CLI writes it); flags override its fields",
     cxxopts::value<std::string>(), "FILE")
    ("json", "Prints the server's JSON answer");
  // clang-format on
}

// Sets the fields the flags give in `cfg`. Returns the usage-error exit code on a bad value.
std::optional<int> apply_config_flags(const CommandParser& parser, const cxxopts::ParseResult& o, ojson& cfg) {
  auto bad = [&](const std::string& flag, const std::string& why) {
    return fail(kExitUsage, parser.name() + ": --" + flag + ": " + why);
  };
  auto given = [&](const char* flag) { return o.count(flag) != 0; };
  auto str = [&](const char* flag) { return o[flag].as<std::string>(); };
  auto choice = [&](const char* flag, const char* key,
                    std::initializer_list<std::pair<const char*, const char*>> map) -> std::optional<int> {
    if (!given(flag)) return std::nullopt;
    std::string v = str(flag);
    std::string allowed;
    for (const auto& [in, out] : map) {
      if (v == in) {
        cfg[key] = out;
        return std::nullopt;
      }
      allowed += allowed.empty() ? in : std::string(", ") + in;
    }
    return bad(flag, "invalid value \"" + v + "\" (use " + allowed + ")");
  };

  if (given("subjects")) {
    auto subjects = split_list(o["subjects"].as<std::vector<std::string>>());
    if (subjects.empty()) return bad("subjects", "no subject given");
    cfg["subjects"] = subjects;
  }
  if (auto c = choice("storage", "storage", {{"file", "file"}, {"memory", "memory"}})) return c;
  if (auto c =
          choice("retention", "retention",
                 {{"limits", "limits"}, {"interest", "interest"}, {"workqueue", "workqueue"}, {"work", "workqueue"}}))
    return c;
  if (auto c = choice("discard", "discard", {{"old", "old"}, {"new", "new"}})) return c;
  if (auto c = choice("compression", "compression", {{"none", "none"}, {"lz4", "lz4"}, {"zstd", "zstd"}})) return c;

  for (auto [flag, key] : {std::pair{"max-msgs", "max_msgs"}, std::pair{"max-msgs-per-subject", "max_msgs_per_subject"},
                           std::pair{"max-consumers", "max_consumers"}}) {
    if (!given(flag)) continue;
    auto n = parse_int(str(flag), true);
    if (!n) return bad(flag, n.status().message());
    cfg[key] = *n;
  }
  for (auto [flag, key] : {std::pair{"max-bytes", "max_bytes"}, std::pair{"max-msg-size", "max_msg_size"}}) {
    if (!given(flag)) continue;
    auto n = parse_size(str(flag));
    if (!n) return bad(flag, n.status().message());
    if (std::string_view(flag) == "max-msg-size" && *n > INT32_MAX) return bad(flag, "at most 2GiB");
    cfg[key] = *n;
  }
  for (auto [flag, key] : {std::pair{"max-age", "max_age"}, std::pair{"dupe-window", "duplicate_window"}}) {
    if (!given(flag)) continue;
    auto d = parse_js_duration(str(flag));
    if (!d) return bad(flag, d.status().message());
    cfg[key] = d->count();
  }
  if (given("replicas")) {
    auto n = parse_int(str("replicas"), false);
    if (!n || *n < 1) return bad("replicas", "must be a number of at least 1");
    cfg["num_replicas"] = *n;
  }
  for (auto [flag, key] :
       {std::pair{"no-ack", "no_ack"}, std::pair{"deny-delete", "deny_delete"}, std::pair{"deny-purge", "deny_purge"},
        std::pair{"allow-rollup", "allow_rollup_hdrs"}, std::pair{"allow-direct", "allow_direct"}}) {
    if (given(flag)) cfg[key] = o[flag].as<bool>();
  }
  if (given("description")) cfg["description"] = str("description");
  return std::nullopt;
}

std::string subjects_text(const ojson& cfg) {
  std::string out;
  if (auto it = cfg.find("subjects"); it != cfg.end() && it->is_array()) {
    for (const auto& s : *it) out += (out.empty() ? "" : ", ") + s.get<std::string>();
  }
  return out;
}

std::string seq_with_time(uint64_t seq, const std::string& ts) {
  std::string out = format_count(static_cast<double>(seq));
  if (seq != 0 && parse_rfc3339(ts)) out += " @ " + human_time(ts);
  return out;
}

// The nats CLI's "Information for Stream ..." page, from a STREAM.INFO (or CREATE/UPDATE) answer.
void print_stream_info(const ojson& info) {
  const ojson cfg = info.value("config", ojson::object());
  const ojson state = info.value("state", ojson::object());
  std::printf("Information for Stream %s created %s\n\n", json_str(cfg, "name").c_str(),
              human_time(json_str(info, "created"), "?").c_str());
  FieldPrinter f;
  f.section("Configuration:");
  f.add("Subjects", subjects_text(cfg));
  if (std::string d = json_str(cfg, "description"); !d.empty()) f.add("Description", d);
  f.add("Replicas", std::to_string(std::max<int64_t>(json_int(cfg, "num_replicas"), 1)));
  f.add("Storage", title_case(json_str(cfg, "storage")));
  if (std::string c = json_str(cfg, "compression"); !c.empty()) f.add("Compression", c);
  f.add("Retention", title_case(json_str(cfg, "retention")));
  f.add("Discard Policy", title_case(json_str(cfg, "discard")));
  f.add("Acknowledgements", json_bool(cfg, "no_ack") ? "false" : "true");
  f.add("Duplicate Window", human_duration(std::chrono::nanoseconds(json_int(cfg, "duplicate_window"))));
  f.add("Allows Msg Delete", json_bool(cfg, "deny_delete") ? "false" : "true");
  f.add("Allows Purge", json_bool(cfg, "deny_purge") ? "false" : "true");
  f.add("Allows Rollups", json_bool(cfg, "allow_rollup_hdrs") ? "true" : "false");
  f.add("Allows Direct", json_bool(cfg, "allow_direct") ? "true" : "false");
  if (json_bool(cfg, "sealed")) f.add("Sealed", "true");
  f.add("Maximum Messages", limit_count(json_int(cfg, "max_msgs")));
  f.add("Maximum Per Subject", limit_count(json_int(cfg, "max_msgs_per_subject")));
  f.add("Maximum Bytes", limit_bytes(json_int(cfg, "max_bytes")));
  f.add("Maximum Age", limit_duration(json_int(cfg, "max_age")));
  f.add("Maximum Message Size", limit_bytes(json_int(cfg, "max_msg_size")));
  f.add("Maximum Consumers", limit_count(json_int(cfg, "max_consumers")));
  f.blank();
  f.section("State:");
  f.add("Messages", format_count(static_cast<double>(json_uint(state, "messages"))));
  f.add("Bytes", human_bytes_exact(json_uint(state, "bytes")));
  f.add("FirstSeq", seq_with_time(json_uint(state, "first_seq"), json_str(state, "first_ts")));
  f.add("LastSeq", seq_with_time(json_uint(state, "last_seq"), json_str(state, "last_ts")));
  f.add("Deleted Messages", format_count(static_cast<double>(json_uint(state, "num_deleted"))));
  f.add("Active Consumers", std::to_string(json_int(state, "consumer_count")));
  if (state.contains("num_subjects")) {
    f.add("Number of Subjects", format_count(static_cast<double>(json_uint(state, "num_subjects"))));
  }
  f.print();
}

// One stored message, as sub prints one: "Item: STREAM#SEQ received TIME on Subject S", headers,
// a blank line, the body.
void print_stored(const std::string& stream, const StoredMsg& m) {
  std::printf("Item: %s#%llu received %s on Subject %s\n", stream.c_str(), static_cast<unsigned long long>(m.seq),
              human_time(m.time, "?").c_str(), m.subject.c_str());
  Msg msg(m.subject, m.data);
  msg.headers = m.headers;
  msg.has_headers = m.has_headers;
  print_msg_body(msg, MsgFormat::Pretty);
}

}  // namespace

int run_stream_add(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Creates a stream. The name comes from STREAM or from the --config file; flags\n"
                       "override the file's fields. Without --subjects the stream captures its own name.\n"
                       "Example:\n"
                       "  tern stream add ORDERS --subjects 'orders.>' --max-age 1d --max-bytes 1GB\n",
                       "[STREAM]", 0, 1);
  add_config_options(parser);
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  ojson cfg = ojson::object();
  if (auto code = load_config_file(parser, cl.options, cfg)) return *code;
  if (!cl.positional.empty()) cfg["name"] = cl.positional[0];
  const std::string name = json_str(cfg, "name");
  if (name.empty()) {
    return fail(kExitUsage, parser.name() + ": missing stream name; usage: tern stream add [OPTIONS] STREAM");
  }
  if (auto code = apply_config_flags(parser, cl.options, cfg)) return *code;

  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  return request_and_show(*s->js, "STREAM.CREATE." + name, cfg.dump(), cl.options.count("json") != 0,
                          "stream add " + name, print_stream_info);
}

int run_stream_edit(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Changes a stream's configuration: only the fields given (by flags, or all of a\n"
                       "--config file's) change; the rest stays as the server has it.\n",
                       "STREAM", 1, 1);
  add_config_options(parser);
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& name = cl.positional[0];
  ojson file_cfg;
  if (auto code = load_config_file(parser, cl.options, file_cfg)) return *code;
  ojson flags = ojson::object();  // checked before connecting: a bad value is a usage error
  if (auto code = apply_config_flags(parser, cl.options, flags)) return *code;
  if (file_cfg.is_null() && flags.empty()) {
    return fail(kExitUsage, parser.name() + ": nothing to change (give flags or --config)");
  }

  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  const std::string what = "stream edit " + name;
  ojson cfg;
  if (!file_cfg.is_null()) {
    cfg = std::move(file_cfg);
  } else {
    auto current = s->js->api_request("STREAM.INFO." + name, "");
    if (!current) return fail_api(what, current.status());
    auto info = parse_answer(*current);
    if (!info) return fail_api(what, info.status());
    cfg = info->value("config", ojson::object());
  }
  for (auto& [key, value] : flags.items()) cfg[key] = value;
  cfg["name"] = name;
  return request_and_show(*s->js, "STREAM.UPDATE." + name, cfg.dump(), cl.options.count("json") != 0, what,
                          print_stream_info);
}

int run_stream_info(const std::vector<std::string>& args) {
  CommandParser parser(args[0], "Shows a stream's configuration and state.\n", "STREAM", 1, 1);
  parser.add_options()("json", "Prints the server's JSON answer");
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& name = cl.positional[0];
  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  return request_and_show(*s->js, "STREAM.INFO." + name, "", cl.options.count("json") != 0, "stream info " + name,
                          print_stream_info);
}

int run_stream_ls(const std::vector<std::string>& args) {
  CommandParser parser(args[0], "Lists the streams, sorted by name.\n", "", 0, 0);
  add_ls_options(parser, "stream");
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  return run_ls(cl,
                {.what = "stream ls",
                 .names_suffix = "STREAM.NAMES",
                 .list_suffix = "STREAM.LIST",
                 .key = "streams",
                 .none = "No streams defined",
                 .header = {"Name", "Description", "Created", "Messages", "Size", "Last Message"},
                 .name_of = [](const ojson& info) { return json_str(info.value("config", ojson::object()), "name"); },
                 .row = [](const ojson& info) -> std::vector<std::string> {
                   const ojson cfg = info.value("config", ojson::object());
                   const ojson state = info.value("state", ojson::object());
                   return {json_str(cfg, "name"),
                           json_str(cfg, "description"),
                           human_time(json_str(info, "created"), "?"),
                           format_count(static_cast<double>(json_uint(state, "messages"))),
                           human_bytes(json_uint(state, "bytes")),
                           human_age(json_str(state, "last_ts"))};
                 }});
}

int run_stream_rm(const std::vector<std::string>& args) {
  CommandParser parser(args[0], "Deletes a stream, its messages and its consumers.\n", "STREAM", 1, 1);
  parser.add_options()("f,force", "Deletes without asking");
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& name = cl.positional[0];
  return run_confirmed(
      parser, cl, "Really delete stream " + name + "?", "stream rm " + name,
      [&](JetStream& js) { return js.delete_stream(name); }, "Deleted stream " + name);
}

int run_stream_purge(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Removes messages from a stream: all of them, or those on --subject, below --seq,\n"
                       "or all but the newest --keep.\n",
                       "STREAM", 1, 1);
  // clang-format off
  parser.add_options()
    ("f,force", "Purges without asking")
    ("subject", "Only messages on this subject (wildcards allowed)", cxxopts::value<std::string>(), "SUBJECT")
    ("seq", "Only messages below this sequence", cxxopts::value<uint64_t>(), "N")
    ("keep", "Keeps the newest N messages", cxxopts::value<uint64_t>(), "N");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& name = cl.positional[0];
  PurgeOptions opts;
  if (cl.options.count("subject") != 0) opts.filter = cl.options["subject"].as<std::string>();
  if (cl.options.count("seq") != 0) opts.seq = cl.options["seq"].as<uint64_t>();
  if (cl.options.count("keep") != 0) opts.keep = cl.options["keep"].as<uint64_t>();
  if (opts.seq != 0 && opts.keep != 0) return fail(kExitUsage, parser.name() + ": --seq and --keep exclude each other");
  if (auto code = require_force(parser, cl.options, "Really purge stream " + name + "?")) return *code;
  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  auto purged = s->js->purge_stream(name, opts);
  if (!purged) return fail_api("stream purge " + name, purged.status());
  std::printf("Purged %llu messages from %s\n", static_cast<unsigned long long>(*purged), name.c_str());
  return kExitOk;
}

int run_stream_get(const std::vector<std::string>& args) {
  CommandParser parser(args[0], "Shows the stored message at SEQ, or the last one on --last-for SUBJECT.\n",
                       "STREAM [SEQ]", 1, 2);
  // clang-format off
  parser.add_options()
    ("last-for", "The last message on this subject", cxxopts::value<std::string>(), "SUBJECT")
    ("json", "Prints the server's JSON of the message (headers and data in base64)");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& name = cl.positional[0];
  const std::string last_for = cl.options.count("last-for") != 0 ? cl.options["last-for"].as<std::string>() : "";
  uint64_t seq = 0;
  if (cl.positional.size() > 1) {
    auto n = parse_int(cl.positional[1], false);
    if (!n || *n == 0) return fail(kExitUsage, parser.name() + ": invalid sequence \"" + cl.positional[1] + "\"");
    seq = static_cast<uint64_t>(*n);
  }
  if ((seq == 0) == last_for.empty()) {
    return fail(kExitUsage, parser.name() + ": give either SEQ or --last-for SUBJECT");
  }
  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  const std::string what = "stream get " + name;
  if (cl.options.count("json") != 0) {
    ojson req = seq != 0 ? ojson{{"seq", seq}} : ojson{{"last_by_subj", last_for}};
    auto answer = s->js->api_request("STREAM.MSG.GET." + name, req.dump());
    if (!answer) return fail_api(what, answer.status());
    auto j = parse_answer(*answer);
    if (!j) return fail_api(what, j.status());
    print_json(j->value("message", ojson::object()));
    return kExitOk;
  }
  auto msg = s->js->get_msg(name, seq, last_for);
  if (!msg) return fail_api(what, msg.status());
  print_stored(name, *msg);
  return kExitOk;
}

int run_stream_view(const std::vector<std::string>& args) {
  CommandParser parser(args[0], "Shows the stored messages in order, oldest first.\n", "STREAM", 1, 1);
  // clang-format off
  parser.add_options()
    ("id", "Starts at this sequence", cxxopts::value<uint64_t>(), "SEQ")
    ("count", "Shows at most N messages (0: all)", cxxopts::value<uint64_t>()->default_value("0"), "N")
    ("subject", "Only messages on this subject (wildcards allowed)", cxxopts::value<std::string>(), "FILTER");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& name = cl.positional[0];
  const uint64_t count = cl.options["count"].as<uint64_t>();
  const std::string filter = cl.options.count("subject") != 0 ? cl.options["subject"].as<std::string>() : "";
  if (!filter.empty() && !proto::is_valid_subscribe_subject(filter)) {
    return fail(kExitUsage, parser.name() + ": --subject: invalid subject \"" + filter + "\"");
  }
  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  const std::string what = "stream view " + name;
  auto info = api_json(*s->js, "STREAM.INFO." + name);
  if (!info) return fail_api(what, info.status());
  const ojson state = info->value("state", ojson::object());
  const uint64_t last = json_uint(state, "last_seq");
  uint64_t seq = std::max<uint64_t>(json_uint(state, "first_seq"), 1);
  if (cl.options.count("id") != 0) seq = std::max(seq, cl.options["id"].as<uint64_t>());
  uint64_t shown = 0;
  for (; seq <= last && (count == 0 || shown < count); ++seq) {
    auto msg = s->js->get_msg(name, seq);
    if (!msg) {
      auto e = api_error(msg.status());
      if (e && e->err_code == kNoMessageFound) continue;  // deleted, or aged out meanwhile
      return fail_api(what, msg.status());
    }
    if (!filter.empty() && !proto::subject_matches(filter, msg->subject)) continue;
    print_stored(name, *msg);
    ++shown;
    if (stdout_failed()) return kExitFailure;
  }
  if (shown == 0) std::printf("No messages in stream %s\n", name.c_str());
  return kExitOk;
}

}  // namespace tern::cli
