// tern server ping: round trips (PING/PONG, i.e. flush) to the server.
// tern server info, tern server report connections|jetstream: the server's state as its HTTP
// monitoring port (/varz, /connz, /jsz) reports it; see cli/monitor_client.h.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/js_common.h"
#include "cli/monitor_client.h"

namespace tern::cli {

int run_server_ping(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Sends PING to the server COUNT times and prints each round trip (the time\n"
                       "until its PONG), then the minimum, average and maximum.\n",
                       "", 0, 0);
  // clang-format off
  parser.add_options()
    ("c,count", "Pings N times", cxxopts::value<int64_t>()->default_value("5"), "N")
    ("interval", "Waits this long between pings", cxxopts::value<std::string>()->default_value("1s"), "DURATION");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const int64_t count = cl.options["count"].as<int64_t>();
  if (count < 1) return fail(kExitUsage, parser.name() + ": --count must be at least 1");
  std::chrono::nanoseconds interval{};
  if (auto code = read_duration_option(cl.options, "interval", interval)) return *code;

  auto conn = connect(cl.global);
  if (!conn) return fail(kExitFailure, conn.status().message());
  Connection& nc = **conn;
  const std::string url = "nats://" + nc.server_info().connected_url;

  std::vector<std::chrono::nanoseconds> rtts;
  for (int64_t i = 1; i <= count; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (Status st = nc.flush(cl.global.timeout); !st) {
      return fail(kExitFailure, "ping " + std::to_string(i) + " to " + url + " failed: " + st.message());
    }
    auto rtt = std::chrono::steady_clock::now() - start;
    rtts.push_back(rtt);
    std::printf("PONG from %s: seq=%lld time=%s\n", url.c_str(), static_cast<long long>(i),
                format_duration(rtt).c_str());
    std::fflush(stdout);
    if (i < count) std::this_thread::sleep_for(interval);
  }
  auto [min, max] = std::minmax_element(rtts.begin(), rtts.end());
  std::chrono::nanoseconds total{0};
  for (auto r : rtts) total += r;
  std::printf("\n--- %s ping statistics ---\n%zu pings, min/avg/max = %s/%s/%s\n", url.c_str(), rtts.size(),
              format_duration(*min).c_str(), format_duration(total / static_cast<int64_t>(rtts.size())).c_str(),
              format_duration(*max).c_str());
  return kExitOk;
}

namespace {

using nlohmann::json;

// A field of a monitoring document; 0 or empty when it is absent or of another type (an
// older or newer server may leave some out).
uint64_t u64(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) return static_cast<uint64_t>(std::max<int64_t>(it->get<int64_t>(), 0));
  return 0;
}
int64_t i64(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_number()) return 0;
  if (it->is_number_unsigned()) {
    return static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), std::numeric_limits<int64_t>::max()));
  }
  return it->get<int64_t>();
}
std::string str(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}
const json& obj(const json& doc, const char* key) {
  static const json kEmpty = json::object();
  auto it = doc.find(key);
  return it != doc.end() && it->is_object() ? *it : kEmpty;
}
const json& arr(const json& doc, const char* key) {
  static const json kEmpty = json::array();
  auto it = doc.find(key);
  return it != doc.end() && it->is_array() ? *it : kEmpty;
}

std::string count(uint64_t n) { return format_count(static_cast<double>(n)); }

// Go's time.Duration.String() for whole seconds and above ("2m0s", "1h0m0s"), which is how
// nats-server configures and prints intervals; format_duration() below a second.
std::string go_duration(int64_t ns) {
  if (ns < 1000000000 || ns % 1000000000 != 0) return format_duration(std::chrono::nanoseconds(ns));
  int64_t s = ns / 1000000000;
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s >= 60) out += std::to_string(s / 60 % 60) + "m";
  return out + std::to_string(s % 60) + "s";
}

// Rows of "Label: value" with the labels right-aligned, as the nats CLI lays out its reports.
void print_section(const char* title, const std::vector<std::pair<std::string, std::string>>& rows) {
  constexpr int kLabelWidth = 19;  // "Total Connections" plus the indent
  std::printf("%s:\n\n", title);
  for (const auto& [label, value] : rows) std::printf("%*s: %s\n", kLabelWidth, label.c_str(), value.c_str());
  std::printf("\n");
}

// A plain-text table: columns separated by two spaces, numbers right-aligned.
class Table {
 public:
  // A header starting with '>' is a right-aligned column (the '>' is not printed).
  explicit Table(std::vector<std::string> headers) {
    for (std::string& h : headers) {
      right_.push_back(!h.empty() && h[0] == '>');
      if (right_.back()) h.erase(0, 1);
    }
    rows_.push_back(std::move(headers));
  }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print() const {
    std::vector<size_t> width(right_.size(), 0);
    for (const auto& row : rows_) {
      for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
    }
    for (const auto& row : rows_) {
      std::string line;
      for (size_t c = 0; c < row.size(); ++c) {
        std::string pad(width[c] - display_width(row[c]), ' ');
        if (c > 0) line += "  ";
        line += right_[c] ? pad + row[c] : row[c] + (c + 1 < row.size() ? pad : "");
      }
      std::printf("%s\n", line.c_str());
    }
  }

 private:
  // Code points, not bytes: "µs" is one column wide.
  static size_t display_width(const std::string& s) {
    size_t n = 0;
    for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
    return n;
  }
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

void add_monitor_options(CommandParser& parser) {
  // clang-format off
  parser.add_options()
    ("monitor", "The server's monitoring URL (default: $TERN_MONITOR_URL, else http://<host of --server>:8222)",
     cxxopts::value<std::string>(), "URL")
    ("json", "Prints the monitoring endpoint's JSON document as the server returned it");
  // clang-format on
}

std::string monitor_flag(const CommandLine& cl) {
  return cl.options.count("monitor") != 0 ? cl.options["monitor"].as<std::string>() : std::string();
}

// The document exactly as the server sent it, ending with one newline.
void print_json(const MonitorDoc& doc) {
  std::fwrite(doc.body.data(), 1, doc.body.size(), stdout);
  if (doc.body.empty() || doc.body.back() != '\n') std::fputc('\n', stdout);
}

int print_varz(const json& v) {
  std::printf("Server information for %s (%s)\n\n", str(v, "server_name").c_str(), str(v, "server_id").c_str());
  const int64_t max_conn = i64(v, "max_connections");
  print_section("Process Details", {
                                       {"Version", str(v, "version")},
                                       {"Uptime", str(v, "uptime")},
                                       {"Host/Port", str(v, "host") + ":" + std::to_string(u64(v, "port"))},
                                       {"Max Payload", human_bytes_exact(u64(v, "max_payload"))},
                                       {"Max Connections", max_conn > 0 ? count(max_conn) : "unlimited"},
                                       {"Ping Interval", go_duration(i64(v, "ping_interval"))},
                                   });
  print_section("Connection Stats", {
                                        {"Connections", count(u64(v, "connections"))},
                                        {"Total Connections", count(u64(v, "total_connections"))},
                                        {"Subscriptions", count(u64(v, "subscriptions"))},
                                        {"Messages In", count(u64(v, "in_msgs"))},
                                        {"Messages Out", count(u64(v, "out_msgs"))},
                                        {"Bytes In", human_bytes_exact(u64(v, "in_bytes"))},
                                        {"Bytes Out", human_bytes_exact(u64(v, "out_bytes"))},
                                        {"Slow Consumers", count(u64(v, "slow_consumers"))},
                                    });
  // nats-server sends "jetstream": {} when JetStream is off, its config and stats when on.
  const json& js = obj(v, "jetstream");
  const json& config = obj(js, "config");
  if (config.empty()) {
    print_section("JetStream", {{"Enabled", "no"}});
    return kExitOk;
  }
  const json& stats = obj(js, "stats");
  auto limit = [](int64_t n) { return n > 0 ? human_bytes_exact(static_cast<uint64_t>(n)) : std::string("unlimited"); };
  print_section("JetStream", {
                                 {"Enabled", "yes"},
                                 {"Store Directory", str(config, "store_dir")},
                                 {"Memory Used", human_bytes_exact(u64(stats, "memory"))},
                                 {"Memory Limit", limit(i64(config, "max_memory"))},
                                 {"Storage Used", human_bytes_exact(u64(stats, "storage"))},
                                 {"Storage Limit", limit(i64(config, "max_storage"))},
                                 {"API Requests", count(u64(obj(stats, "api"), "total"))},
                                 {"API Errors", count(u64(obj(stats, "api"), "errors"))},
                             });
  return kExitOk;
}

// nats-server 2.9's /connz sort keys for open connections ("stop" and "reason" sort closed ones).
constexpr std::string_view kConnSorts[] = {"cid",      "start",      "subs", "pending", "msgs_to", "msgs_from",
                                           "bytes_to", "bytes_from", "last", "idle",    "uptime"};

int report_connections(const CommandParser& parser, const CommandLine& cl, const MonitorClient& monitor) {
  const std::string sort = cl.options["sort"].as<std::string>();
  if (std::find(std::begin(kConnSorts), std::end(kConnSorts), sort) == std::end(kConnSorts)) {
    std::string valid;
    for (std::string_view k : kConnSorts) valid += (valid.empty() ? "" : ", ") + std::string(k);
    return fail(kExitUsage, parser.name() + ": invalid --sort \"" + sort + "\" (use one of " + valid + ")");
  }
  const int64_t top = cl.options["top"].as<int64_t>();
  if (top < 1) return fail(kExitUsage, parser.name() + ": --top must be at least 1");

  auto doc = monitor.get("/connz?subs=1&sort=" + sort + "&limit=" + std::to_string(top));
  if (!doc) return fail(kExitFailure, parser.name() + ": " + doc.status().message());
  if (cl.options.count("json") != 0) {
    print_json(*doc);
    return kExitOk;
  }
  const json& conns = arr(doc->json, "connections");
  std::printf("%s of %s connections, sorted by %s\n\n", count(conns.size()).c_str(),
              count(u64(doc->json, "total")).c_str(), sort.c_str());
  if (conns.empty()) return kExitOk;
  Table table({">CID", "Name", "IP:Port", ">Subs", ">Msgs In", ">Msgs Out", ">Bytes In", ">Bytes Out", ">Uptime",
               "Last Activity"});
  uint64_t subs = 0, in_msgs = 0, out_msgs = 0, in_bytes = 0, out_bytes = 0;
  for (const json& c : conns) {
    subs += u64(c, "subscriptions");
    in_msgs += u64(c, "in_msgs");
    out_msgs += u64(c, "out_msgs");
    in_bytes += u64(c, "in_bytes");
    out_bytes += u64(c, "out_bytes");
    table.add({std::to_string(u64(c, "cid")), str(c, "name"), str(c, "ip") + ":" + std::to_string(u64(c, "port")),
               count(u64(c, "subscriptions")), count(u64(c, "in_msgs")), count(u64(c, "out_msgs")),
               human_bytes(u64(c, "in_bytes")), human_bytes(u64(c, "out_bytes")), str(c, "uptime"),
               str(c, "idle") + " ago"});
  }
  table.print();
  std::printf("\nTotals: %s subscriptions, %s msgs in, %s msgs out, %s in, %s out\n", count(subs).c_str(),
              count(in_msgs).c_str(), count(out_msgs).c_str(), human_bytes(in_bytes).c_str(),
              human_bytes(out_bytes).c_str());
  return kExitOk;
}

std::string plural(uint64_t n, const char* word) { return count(n) + " " + word + (n == 1 ? "" : "s"); }

int report_jetstream(const CommandParser& parser, const CommandLine& cl, const MonitorClient& monitor) {
  auto doc = monitor.get("/jsz?streams=1&consumers=1&config=1");
  if (!doc) return fail(kExitFailure, parser.name() + ": " + doc.status().message());
  const json& jsz = doc->json;
  if (auto off = jsz.find("disabled"); off != jsz.end() && off->is_boolean() && off->get<bool>())
    return fail(kExitFailure, parser.name() + ": JetStream is not enabled on this server");
  if (cl.options.count("json") != 0) {
    print_json(*doc);
    return kExitOk;
  }
  std::printf("JetStream: %s, %s, %s, %s\n\n", plural(u64(jsz, "streams"), "stream").c_str(),
              plural(u64(jsz, "consumers"), "consumer").c_str(), plural(u64(jsz, "messages"), "message").c_str(),
              human_bytes(u64(jsz, "bytes")).c_str());
  Table streams({"Stream", "Storage", ">Messages", ">Bytes", ">Consumers", ">First Seq", ">Last Seq"});
  Table consumers({"Stream", "Consumer", ">Ack Pending", ">Redelivered", ">Unprocessed", ">Waiting"});
  size_t stream_rows = 0, consumer_rows = 0;
  for (const json& account : arr(jsz, "account_details")) {
    for (const json& s : arr(account, "stream_detail")) {
      const json& state = obj(s, "state");
      std::string storage = str(obj(s, "config"), "storage");
      streams.add({str(s, "name"), storage.empty() ? "-" : storage, count(u64(state, "messages")),
                   human_bytes(u64(state, "bytes")), count(u64(state, "consumer_count")),
                   count(u64(state, "first_seq")), count(u64(state, "last_seq"))});
      ++stream_rows;
      for (const json& c : arr(s, "consumer_detail")) {
        consumers.add({str(s, "name"), str(c, "name"), count(u64(c, "num_ack_pending")),
                       count(u64(c, "num_redelivered")), count(u64(c, "num_pending")), count(u64(c, "num_waiting"))});
        ++consumer_rows;
      }
    }
  }
  if (stream_rows == 0) {
    std::printf("No streams\n");
  } else {
    streams.print();
    std::printf("\n");
    if (consumer_rows == 0) {
      std::printf("No consumers\n");
    } else {
      consumers.print();
    }
  }
  const json& api = obj(jsz, "api");
  std::printf("\nTotals: memory %s, storage %s, API requests %s, API errors %s\n",
              human_bytes(u64(jsz, "memory")).c_str(), human_bytes(u64(jsz, "storage")).c_str(),
              count(u64(api, "total")).c_str(), count(u64(api, "errors")).c_str());
  return kExitOk;
}

}  // namespace

int run_server_info(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Shows the server's state from its HTTP monitoring port (/varz): process details,\n"
                       "connection and message counts, and JetStream usage. The server must be started\n"
                       "with a monitoring port (-m 8222). --timeout bounds the HTTP request.\n",
                       "", 0, 0);
  add_monitor_options(parser);
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  MonitorClient monitor(monitor_url(monitor_flag(cl), cl.global), cl.global.timeout);
  auto varz = monitor.get("/varz");
  if (!varz) return fail(kExitFailure, parser.name() + ": " + varz.status().message());
  if (cl.options.count("json") != 0) {
    print_json(*varz);
    return kExitOk;
  }
  return print_varz(varz->json);
}

int run_server_report(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Reports from the server's HTTP monitoring port (the server must be started with\n"
                       "-m 8222):\n"
                       "  connections  the clients (/connz): subscriptions, messages and bytes each way\n"
                       "               (In: from the client, Out: to it), sorted by --sort, at most --top\n"
                       "  jetstream    streams and consumers (/jsz), and the account's totals\n"
                       "--timeout bounds the HTTP request.\n",
                       "connections|jetstream", 1, 1);
  add_monitor_options(parser);
  // clang-format off
  parser.add_options()
    ("sort", "connections: sort by cid, start, subs, pending, msgs_to, msgs_from, bytes_to, bytes_from, last, "
     "idle or uptime (/connz's keys)", cxxopts::value<std::string>()->default_value("subs"), "FIELD")
    ("top", "connections: show at most N", cxxopts::value<int64_t>()->default_value("1024"), "N");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& what = cl.positional[0];
  if (what != "connections" && what != "jetstream") {
    return fail(kExitUsage, parser.name() + ": unknown report \"" + what + "\" (use connections or jetstream)");
  }
  MonitorClient monitor(monitor_url(monitor_flag(cl), cl.global), cl.global.timeout);
  return what == "connections" ? report_connections(parser, cl, monitor) : report_jetstream(parser, cl, monitor);
}

}  // namespace tern::cli
