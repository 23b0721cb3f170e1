// tern bench SUBJECT: throughput of publish/subscribe, or latency and throughput of
// request/reply, measured by clients that each have their own connection.
//
// Pub/sub: --pub publishers share --msgs messages of --size bytes; every one of --sub
// subscribers expects all of them. Rates run from the common start to each client's end
// (a publisher ends when its flush returns: the server has everything it sent).
// Request/reply (--request): each publisher sends its share of --msgs as sequential
// requests and records each round trip. --sub responders (at least one) answer in the queue
// group "tern-bench" with the request's payload; --external starts none, for benchmarking a
// service that is already running. MB are 10^6 bytes.

#include "cli/bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"

namespace tern::cli {

std::string rate_line(uint64_t msgs, uint64_t bytes, BenchClock::duration elapsed) {
  double secs = std::max(std::chrono::duration<double>(elapsed).count(), 1e-9);
  char mb[32];
  std::snprintf(mb, sizeof mb, "%.2f", static_cast<double>(bytes) / secs / 1e6);
  return format_count(static_cast<double>(msgs) / secs) + " msgs/sec ~ " + mb + " MB/sec (" +
         format_count(static_cast<double>(msgs)) + " msgs)";
}

void print_stats(const char* title, BenchClock::time_point start, const std::vector<ClientStats>& clients) {
  uint64_t msgs = 0;
  uint64_t bytes = 0;
  BenchClock::time_point end = start;
  for (const ClientStats& c : clients) {
    msgs += c.msgs;
    bytes += c.bytes;
    end = std::max(end, c.end);
  }
  std::printf("%s stats: %s\n", title, rate_line(msgs, bytes, end - start).c_str());
  for (size_t i = 0; i < clients.size(); ++i) {
    std::printf(" [%zu] %s\n", i + 1, rate_line(clients[i].msgs, clients[i].bytes, clients[i].end - start).c_str());
  }
}

std::chrono::nanoseconds percentile(const std::vector<std::chrono::nanoseconds>& sorted, double p) {
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

std::string latency_line(const std::vector<std::chrono::nanoseconds>& sorted, const char* what) {
  return "Latency: min " + format_duration(sorted.front()) + ", p50 " + format_duration(percentile(sorted, 50)) +
         ", p90 " + format_duration(percentile(sorted, 90)) + ", p99 " + format_duration(percentile(sorted, 99)) +
         ", max " + format_duration(sorted.back()) + " (" + format_count(static_cast<double>(sorted.size())) + " " +
         what + ")";
}

uint64_t share(uint64_t total, size_t n, size_t i) { return total / n + (i < total % n ? 1 : 0); }

namespace {

using Clock = BenchClock;

// One subscriber or responder: updated on its connection's dispatcher thread.
struct Receiver {
  std::unique_ptr<Connection> conn;
  std::atomic<uint64_t> msgs{0};
  std::atomic<int64_t> last_ns{0};  // Clock time of the latest message, ns since epoch
  uint64_t bytes = 0;               // dispatcher thread only until the run is over
};

Clock::time_point from_ns(int64_t ns) { return Clock::time_point(std::chrono::nanoseconds(ns)); }
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct BenchConfig {
  std::string subject;
  size_t pubs = 1;
  size_t subs = 0;
  uint64_t msgs = 0;
  size_t size = 0;
  bool external = false;
  GlobalOptions global;
};

// Waits for the publisher threads, drawing the progress bar meanwhile.
void wait_publishers(std::vector<std::thread>& threads, const std::atomic<size_t>& finished,
                     const std::atomic<uint64_t>& progress_count, uint64_t total, const char* label) {
  ProgressBar bar(label, total);
  while (finished.load() < threads.size()) {
    bar.update(progress_count.load());
    std::this_thread::sleep_for(std::chrono::milliseconds(bar.enabled() ? 100 : 5));
  }
  for (std::thread& t : threads) t.join();
  bar.finish();
}

int bench_pub_sub(const BenchConfig& cfg) {
  std::printf("Starting pub/sub benchmark [subject=%s, msgs=%s, size=%s B, pubs=%zu, subs=%zu]\n\n",
              cfg.subject.c_str(), format_count(static_cast<double>(cfg.msgs)).c_str(),
              format_count(static_cast<double>(cfg.size)).c_str(), cfg.pubs, cfg.subs);
  std::fflush(stdout);

  std::vector<std::unique_ptr<Receiver>> subs;
  for (size_t i = 0; i < cfg.subs; ++i) {
    auto r = std::make_unique<Receiver>();
    auto conn = connect(cfg.global);
    if (!conn) return fail(kExitFailure, conn.status().message());
    r->conn = std::move(*conn);
    Receiver* self = r.get();
    auto sub = r->conn->subscribe(cfg.subject, [self](Msg& m) {
      self->bytes += m.data.size();
      self->last_ns.store(now_ns(), std::memory_order_relaxed);
      self->msgs.fetch_add(1, std::memory_order_release);
    });
    if (!sub) return fail(kExitFailure, "cannot subscribe to \"" + cfg.subject + "\": " + sub.status().message());
    // Keep every message: the default limits would drop some of a large run.
    const auto limit = static_cast<int64_t>(std::max<uint64_t>(cfg.msgs, 512 * 1024));
    (void)sub->set_pending_limits(limit, std::max<int64_t>(limit * static_cast<int64_t>(cfg.size + 64), 64 << 20));
    if (Status st = r->conn->flush(cfg.global.timeout); !st)
      return fail(kExitFailure, "subscribe failed: " + st.message());
    subs.push_back(std::move(r));
  }
  std::vector<std::unique_ptr<Connection>> pub_conns;
  for (size_t i = 0; i < cfg.pubs; ++i) {
    auto conn = connect(cfg.global);
    if (!conn) return fail(kExitFailure, conn.status().message());
    pub_conns.push_back(std::move(*conn));
  }

  const std::string payload(cfg.size, 'a');
  std::vector<ClientStats> pub_stats(cfg.pubs);
  std::vector<Status> pub_errors(cfg.pubs);
  std::atomic<uint64_t> published{0};
  std::atomic<size_t> finished{0};
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t i = 0; i < cfg.pubs; ++i) {
    threads.emplace_back([&, i] {
      Connection& nc = *pub_conns[i];
      const uint64_t n = share(cfg.msgs, cfg.pubs, i);
      uint64_t sent = 0;
      for (; sent < n; ++sent) {
        if (Status st = nc.publish(cfg.subject, payload); !st) {
          pub_errors[i] = st;
          break;
        }
        if ((sent & 255) == 255) published.fetch_add(256, std::memory_order_relaxed);
      }
      if (pub_errors[i].is_ok()) {
        if (Status st = nc.flush(std::chrono::seconds(60)); !st) pub_errors[i] = st;
      }
      pub_stats[i] = {sent, sent * cfg.size, Clock::now()};
      finished.fetch_add(1);
    });
  }
  wait_publishers(threads, finished, published, cfg.msgs, "Publishing");
  for (const Status& st : pub_errors) {
    if (!st.is_ok()) return fail(kExitFailure, "bench: publish failed: " + st.message());
  }

  // Every subscriber should see every message; give up after 5 s without progress.
  uint64_t seen = 0;
  auto last_progress = Clock::now();
  for (;;) {
    uint64_t now_seen = 0;
    bool complete = true;
    for (auto& s : subs) {
      uint64_t got = s->msgs.load(std::memory_order_acquire);
      now_seen += got;
      complete = complete && got >= cfg.msgs;
    }
    if (complete) break;
    if (now_seen != seen) {
      seen = now_seen;
      last_progress = Clock::now();
    } else if (Clock::now() - last_progress > std::chrono::seconds(5)) {
      for (size_t i = 0; i < subs.size(); ++i) {
        uint64_t got = subs[i]->msgs.load();
        if (got < cfg.msgs) {
          return fail(kExitFailure, "bench: subscriber " + std::to_string(i + 1) + " received " + std::to_string(got) +
                                        " of " + std::to_string(cfg.msgs) + " messages");
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::vector<ClientStats> sub_stats;
  for (auto& s : subs) {
    uint64_t got = s->msgs.load(std::memory_order_acquire);
    sub_stats.push_back({got, s->bytes, from_ns(s->last_ns.load(std::memory_order_relaxed))});
  }
  print_stats("Pub", start, pub_stats);
  if (!sub_stats.empty()) print_stats("Sub", start, sub_stats);
  return kExitOk;
}

int bench_request_reply(const BenchConfig& cfg) {
  const size_t responders = cfg.external ? 0 : std::max<size_t>(cfg.subs, 1);
  std::printf("Starting request/reply benchmark [subject=%s, msgs=%s, size=%s B, pubs=%zu, responders=%s]\n\n",
              cfg.subject.c_str(), format_count(static_cast<double>(cfg.msgs)).c_str(),
              format_count(static_cast<double>(cfg.size)).c_str(), cfg.pubs,
              cfg.external ? "external" : std::to_string(responders).c_str());
  std::fflush(stdout);

  std::vector<std::unique_ptr<Receiver>> resp;
  for (size_t i = 0; i < responders; ++i) {
    auto r = std::make_unique<Receiver>();
    auto conn = connect(cfg.global);
    if (!conn) return fail(kExitFailure, conn.status().message());
    r->conn = std::move(*conn);
    Receiver* self = r.get();
    auto sub = r->conn->queue_subscribe(cfg.subject, "tern-bench", [self](Msg& m) {
      if (!m.reply.empty()) (void)self->conn->publish(m.reply, m.data);
      self->bytes += m.data.size();
      self->last_ns.store(now_ns(), std::memory_order_relaxed);
      self->msgs.fetch_add(1, std::memory_order_release);
    });
    if (!sub) return fail(kExitFailure, "cannot subscribe to \"" + cfg.subject + "\": " + sub.status().message());
    if (Status st = r->conn->flush(cfg.global.timeout); !st)
      return fail(kExitFailure, "subscribe failed: " + st.message());
    resp.push_back(std::move(r));
  }
  std::vector<std::unique_ptr<Connection>> req_conns;
  for (size_t i = 0; i < cfg.pubs; ++i) {
    auto conn = connect(cfg.global);
    if (!conn) return fail(kExitFailure, conn.status().message());
    req_conns.push_back(std::move(*conn));
  }

  const std::string payload(cfg.size, 'a');
  std::vector<ClientStats> req_stats(cfg.pubs);
  std::vector<std::vector<std::chrono::nanoseconds>> latencies(cfg.pubs);
  std::vector<Status> errors(cfg.pubs);
  std::atomic<uint64_t> done{0};
  std::atomic<size_t> finished{0};
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t i = 0; i < cfg.pubs; ++i) {
    threads.emplace_back([&, i] {
      Connection& nc = *req_conns[i];
      const uint64_t n = share(cfg.msgs, cfg.pubs, i);
      latencies[i].reserve(n);
      uint64_t ok = 0;
      for (; ok < n; ++ok) {
        auto t0 = Clock::now();
        auto reply = nc.request(cfg.subject, payload, cfg.global.timeout);
        if (!reply) {
          errors[i] = reply.status();
          break;
        }
        latencies[i].push_back(Clock::now() - t0);
        done.fetch_add(1, std::memory_order_relaxed);
      }
      req_stats[i] = {ok, ok * cfg.size, Clock::now()};
      finished.fetch_add(1);
    });
  }
  wait_publishers(threads, finished, done, cfg.msgs, "Requesting");
  for (const Status& st : errors) {
    if (st.is_ok()) continue;
    if (error_code(st) == ErrorCode::NoResponders) return fail(kExitFailure, "no responders available for request");
    return fail(kExitFailure, "bench: request failed: " + st.message());
  }

  std::vector<std::chrono::nanoseconds> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  print_stats("Pub", start, req_stats);
  if (!resp.empty()) {
    std::vector<ClientStats> resp_stats;
    for (auto& r : resp) {
      resp_stats.push_back({r->msgs.load(std::memory_order_acquire), r->bytes, from_ns(r->last_ns.load())});
    }
    print_stats("Sub", start, resp_stats);
  }
  if (!all.empty()) std::printf("%s\n", latency_line(all, "requests").c_str());
  // Requesters first, so that no request is in flight when the responders go.
  req_conns.clear();
  resp.clear();
  return kExitOk;
}

// The index of the first positional argument in args[1..], skipping the values of the
// options that take one (global ones and bench's, core and js); args.size() when none.
size_t first_positional(const std::vector<std::string>& args) {
  static constexpr std::string_view kTakesValue[] = {"-s",        "--server",   "--user",  "--password", "--token",
                                                     "--timeout", "--pub",      "--sub",   "--msgs",     "--size",
                                                     "--stream",  "--consumer", "--batch", "--window",   "--storage"};
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") return i + 1 < args.size() ? i + 1 : args.size();
    if (a.size() < 2 || a[0] != '-') return i;
    if (std::find(std::begin(kTakesValue), std::end(kTakesValue), a) != std::end(kTakesValue)) ++i;
  }
  return args.size();
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  // `tern bench js pub|fetch ...` is the JetStream benchmark (bench_js.cpp).
  if (size_t at = first_positional(args); at < args.size() && args[at] == "js") {
    std::vector<std::string> js_args(args);
    js_args.erase(js_args.begin() + static_cast<long>(at));
    size_t sub = first_positional(js_args);
    if (sub == js_args.size()) {
      for (const std::string& a : js_args) {
        if (a == "-h" || a == "--help") {
          std::printf(
              "Usage:\n  tern bench js pub SUBJECT [OPTIONS]   JetStream publish with acks\n"
              "  tern bench js fetch [OPTIONS]         pull consumer fetch and ack\n"
              "\nRun 'tern bench js pub --help' or 'tern bench js fetch --help' for the options.\n");
          return kExitOk;
        }
      }
      return fail(kExitUsage, "bench js: missing command: pub or fetch (see 'tern bench js --help')");
    }
    const std::string command = js_args[sub];
    js_args.erase(js_args.begin() + static_cast<long>(sub));
    js_args[0] = args[0] + " js " + command;
    if (command == "pub") return run_bench_js_pub(js_args);
    if (command == "fetch") return run_bench_js_fetch(js_args);
    return fail(kExitUsage, "bench js: unknown command \"" + command + "\" (use pub or fetch)");
  }
  CommandParser parser(args[0],
                       "Measures throughput on SUBJECT, each client on its own connection.\n\n"
                       "Pub/sub (default): --pub publishers share --msgs messages; each of --sub\n"
                       "subscribers must receive all of them. Prints msgs/sec and MB/sec (10^6 bytes)\n"
                       "for both sides, in total and per client.\n"
                       "Request/reply (--request): each publisher sends its share as sequential\n"
                       "requests; --sub built-in responders (at least 1; none with --external) answer\n"
                       "in queue group 'tern-bench' with the request's payload. Also prints latency\n"
                       "percentiles. A progress bar is drawn on stderr when it is a terminal.\n"
                       "JetStream: 'tern bench js pub|fetch --help'.\n",
                       "SUBJECT", 1, 1);
  // clang-format off
  parser.add_options()
    ("pub", "Number of publishers (requesters)", cxxopts::value<int64_t>()->default_value("1"), "N")
    ("sub", "Number of subscribers (responders)", cxxopts::value<int64_t>()->default_value("0"), "N")
    ("msgs", "Messages to publish, in total", cxxopts::value<int64_t>()->default_value("100000"), "N")
    ("size", "Payload size", cxxopts::value<int64_t>()->default_value("128"), "BYTES")
    ("request", "Request/reply mode")
    ("external", "Request mode: start no responders, use the service already listening");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  BenchConfig cfg;
  cfg.subject = cl.positional[0];
  const int64_t pubs = cl.options["pub"].as<int64_t>();
  const int64_t subs = cl.options["sub"].as<int64_t>();
  const int64_t msgs = cl.options["msgs"].as<int64_t>();
  const int64_t size = cl.options["size"].as<int64_t>();
  if (pubs < 1 || pubs > 1000) return fail(kExitUsage, parser.name() + ": --pub must be 1..1000");
  if (subs < 0 || subs > 1000) return fail(kExitUsage, parser.name() + ": --sub must be 0..1000");
  if (msgs < 1) return fail(kExitUsage, parser.name() + ": --msgs must be at least 1");
  if (size < 0 || size > (64 << 20)) return fail(kExitUsage, parser.name() + ": --size must be 0..67108864");
  cfg.pubs = static_cast<size_t>(pubs);
  cfg.subs = static_cast<size_t>(subs);
  cfg.msgs = static_cast<uint64_t>(msgs);
  cfg.size = static_cast<size_t>(size);
  cfg.external = cl.options.count("external") != 0;
  cfg.global = cl.global;
  cfg.global.name = "tern-bench";
  if (cfg.external && cl.options.count("request") == 0) {
    return fail(kExitUsage, parser.name() + ": --external needs --request");
  }
  return cl.options.count("request") != 0 ? bench_request_reply(cfg) : bench_pub_sub(cfg);
}

}  // namespace tern::cli
