#pragma once
// What `tern bench` (bench.cpp) and `tern bench js` (bench_js.cpp) share: per-client figures
// and how they are printed, so the core and JetStream benchmarks read alike.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tern::cli {

using BenchClock = std::chrono::steady_clock;

// What one client did. Written by its own thread, read by main after joining / completion.
struct ClientStats {
  uint64_t msgs = 0;
  uint64_t bytes = 0;
  BenchClock::time_point end;
};

// "1,234 msgs/sec ~ 0.16 MB/sec (5,000 msgs)" (MB: 10^6 bytes).
std::string rate_line(uint64_t msgs, uint64_t bytes, BenchClock::duration elapsed);
// "<title> stats: <rate>" over all clients (from `start` to the last client's end), then
// " [n] <rate>" per client.
void print_stats(const char* title, BenchClock::time_point start, const std::vector<ClientStats>& clients);
// Nearest-rank percentile of sorted, non-empty values.
std::chrono::nanoseconds percentile(const std::vector<std::chrono::nanoseconds>& sorted, double p);
// "Latency: min .., p50 .., p90 .., p99 .., max .. (N <what>)" of sorted, non-empty values.
std::string latency_line(const std::vector<std::chrono::nanoseconds>& sorted, const char* what);
// How many of `total` messages client `i` of `n` handles.
uint64_t share(uint64_t total, size_t n, size_t i);

// `tern bench js pub SUBJECT` and `tern bench js fetch` (bench_js.cpp): args[0] is
// "tern bench js pub" / "tern bench js fetch", the rest the command line without those words.
int run_bench_js_pub(const std::vector<std::string>& args);
int run_bench_js_fetch(const std::vector<std::string>& args);

}  // namespace tern::cli
