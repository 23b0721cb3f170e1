// tern server ping: round trips (PING/PONG, i.e. flush) to the server.
// tern server info: the server's INFO, as this connection received it.

#include <algorithm>
#include <chrono>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"

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

int run_server_info(const std::vector<std::string>& args) {
  CommandParser parser(args[0], "Shows what the server said about itself in its INFO when this client connected.\n", "",
                       0, 0);
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;

  auto conn = connect(cl.global);
  if (!conn) return fail(kExitFailure, conn.status().message());
  const ServerInfo info = (*conn)->server_info();
  auto yes_no = [](bool b) { return std::string(b ? "true" : "false"); };
  const std::pair<const char*, std::string> rows[] = {
      {"Server ID", info.server_id},
      {"Server Name", info.server_name},
      {"Version", info.version},
      {"Host", info.host + ":" + std::to_string(info.port)},
      {"Max Payload", std::to_string(info.max_payload)},
      {"Headers", yes_no(info.headers)},
      {"JetStream", yes_no(info.jetstream)},
      {"Auth Required", yes_no(info.auth_required)},
      {"Client ID", std::to_string(info.client_id)},
      {"Connected URL", "nats://" + info.connected_url},
  };
  std::printf("Server information for nats://%s\n\n", info.connected_url.c_str());
  for (const auto& [label, value] : rows) {
    std::string key = std::string(label) + ":";
    std::printf("  %-15s %s\n", key.c_str(), value.c_str());
  }
  return kExitOk;
}

int run_server_report(const std::vector<std::string>& args) {
  return fail(kExitFailure, args[0] + ": not implemented yet");
}

}  // namespace tern::cli
