// tern bench js pub SUBJECT: JetStream publish throughput, every message acknowledged by the
// stream. --pub publishers, each on its own connection, publish their share of --msgs:
// asynchronously with up to --window acks outstanding (the default), or --sync, one at a time,
// recording each ack's latency. The stream (--stream, capturing SUBJECT) is created when
// missing. A publisher's figures run from the common start to its last ack.
//
// tern bench js fetch: pull consumer throughput. --sub workers, each on its own connection,
// fetch batches of --batch from a durable pull consumer (created when missing, explicit
// ack) and ack every message, until --msgs messages are consumed in total. A worker that gets
// nothing within --timeout stops; fewer than --msgs in total is a failure (exit 1).
//
// Errors (a nack, a timeout) are counted and reported after the figures; any makes the exit
// code 1. MB are 10^6 bytes.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <thread>

#include "cli/bench.h"
#include "cli/common.h"
#include "tern/jetstream.h"

namespace tern::cli {

namespace {

using Clock = BenchClock;

constexpr int kStreamNotFound = 10059;    // NATS's err_code for "stream not found"
constexpr int kConsumerNotFound = 10014;  // ... and "consumer not found"

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}
Clock::time_point from_ns(int64_t ns) { return Clock::time_point(std::chrono::nanoseconds(ns)); }

bool is_api_error(const Status& st, int err_code) {
  auto e = api_error(st);
  return e && e->err_code == err_code;
}

// The first failure of many (from any thread), and how many messages failed. A failure that
// costs no message (a flush at the end) is added with n = 0: it still fails the run.
class Failures {
 public:
  void add(const Status& st, uint64_t n = 1) {
    std::lock_guard lock(mu_);
    if (first_.empty()) first_ = st.message().empty() ? "unknown error" : st.message();
    count_ += n;
  }
  bool any() const {
    std::lock_guard lock(mu_);
    return !first_.empty();
  }
  uint64_t count() const {
    std::lock_guard lock(mu_);
    return count_;
  }
  std::string first() const {
    std::lock_guard lock(mu_);
    return first_;
  }

 private:
  mutable std::mutex mu_;
  uint64_t count_ = 0;
  std::string first_;
};

// API requests and acks wait at least this long: a durable ack waits for an fsync, which a
// busy disk can stretch well past the 2 s connect timeout.
std::chrono::milliseconds js_timeout(const GlobalOptions& g) {
  return std::max<std::chrono::milliseconds>(g.timeout, std::chrono::seconds(5));
}

// Connects `n` clients named "tern-bench".
Result<std::vector<std::unique_ptr<Connection>>> connect_clients(GlobalOptions global, size_t n) {
  global.name = "tern-bench";
  std::vector<std::unique_ptr<Connection>> conns;
  for (size_t i = 0; i < n; ++i) {
    auto conn = connect(global);
    if (!conn) return conn.status();
    conns.push_back(std::move(*conn));
  }
  return conns;
}

constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

// Reads an integer option that must lie in [min, max]; the usage-error exit code when not.
std::optional<int> read_count(const CommandParser& parser, const CommandLine& cl, const char* name, int64_t min,
                              int64_t max, int64_t& out) {
  out = cl.options[name].as<int64_t>();
  if (out < min || out > max) {
    const std::string range =
        max == kNoLimit ? "at least " + std::to_string(min) : std::to_string(min) + ".." + std::to_string(max);
    return fail(kExitUsage, parser.name() + ": --" + name + " must be " + range);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// bench js pub

struct PubConfig {
  std::string subject;
  std::string stream;
  uint64_t msgs = 0;
  size_t size = 0;
  size_t pubs = 1;
  bool sync = false;
  size_t window = 256;
  StorageType storage = StorageType::File;
  bool purge = false;
};

// One publisher: its ack handler runs on the connection's message thread.
struct Publisher {
  std::atomic<uint64_t> acked{0};
  std::atomic<int64_t> last_ack_ns{0};
  std::vector<std::chrono::nanoseconds> latencies;  // --sync: the publishing thread only
  ClientStats stats;
};

// Creates the stream when missing (capturing the subject), or purges it when asked.
Status prepare_stream(JetStream& js, const PubConfig& cfg) {
  auto info = js.stream_info(cfg.stream);
  if (info) {
    if (cfg.purge) {
      if (auto purged = js.purge_stream(cfg.stream); !purged) return purged.status();
    }
    return Status::ok();
  }
  if (!is_api_error(info.status(), kStreamNotFound)) return info.status();
  StreamConfig sc;
  sc.name = cfg.stream;
  sc.subjects = {cfg.subject};
  sc.storage = cfg.storage;
  if (auto created = js.add_stream(sc); !created) return created.status();
  return Status::ok();
}

void publish_async(JetStream& js, Publisher& p, uint64_t n, const Msg& msg, Failures& failures,
                   std::chrono::milliseconds timeout) {
  uint64_t sent = 0;
  for (; sent < n; ++sent) {
    Status st = js.publish_async(msg, {}, [&p, &failures](const Msg&, const Result<PubAck>& ack) {
      if (ack) {
        p.last_ack_ns.store(now_ns(), std::memory_order_relaxed);
        p.acked.fetch_add(1, std::memory_order_release);
      } else {
        failures.add(ack.status());
      }
    });
    if (!st) {  // the window stayed full for the whole timeout, or the connection is gone
      failures.add(st, n - sent);
      break;
    }
  }
  if (Status st = js.publish_async_complete(timeout); !st) failures.add(st, 0);
}

void publish_sync(JetStream& js, Publisher& p, uint64_t n, const Msg& msg, Failures& failures) {
  p.latencies.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    auto ack = js.publish(msg);
    if (!ack) {
      failures.add(ack.status());
      if (error_code(ack.status()) == ErrorCode::Closed) {
        failures.add(ack.status(), n - i - 1);
        break;
      }
      continue;
    }
    auto t1 = Clock::now();
    p.latencies.push_back(t1 - t0);
    p.last_ack_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(t1.time_since_epoch()).count(),
                        std::memory_order_relaxed);
    p.acked.fetch_add(1, std::memory_order_release);
  }
}

int bench_js_pub(const std::string& name, const PubConfig& cfg, const GlobalOptions& global) {
  const auto timeout = js_timeout(global);
  JetStreamOptions jopts;
  jopts.timeout = timeout;
  jopts.max_pending_acks = cfg.window;
  {
    auto admin = connect_clients(global, 1);
    if (!admin) return fail(kExitFailure, admin.status().message());
    JetStream js(*admin->front(), jopts);
    if (Status st = prepare_stream(js, cfg); !st) {
      return fail(kExitFailure, name + ": stream \"" + cfg.stream + "\": " + st.message());
    }
  }
  auto conns = connect_clients(global, cfg.pubs);
  if (!conns) return fail(kExitFailure, conns.status().message());

  std::printf("Starting JetStream publish benchmark [subject=%s, stream=%s, msgs=%s, size=%s B, pubs=%zu, %s]\n\n",
              cfg.subject.c_str(), cfg.stream.c_str(), format_count(static_cast<double>(cfg.msgs)).c_str(),
              format_count(static_cast<double>(cfg.size)).c_str(), cfg.pubs,
              cfg.sync ? "sync" : ("window=" + std::to_string(cfg.window)).c_str());
  std::fflush(stdout);

  const Msg msg(cfg.subject, std::string(cfg.size, 'a'));
  std::vector<std::unique_ptr<Publisher>> pubs;
  for (size_t i = 0; i < cfg.pubs; ++i) pubs.push_back(std::make_unique<Publisher>());
  Failures failures;
  std::atomic<size_t> finished{0};
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t i = 0; i < cfg.pubs; ++i) {
    threads.emplace_back([&, i] {
      JetStream js(*(*conns)[i], jopts);
      const uint64_t n = share(cfg.msgs, cfg.pubs, i);
      if (cfg.sync) {
        publish_sync(js, *pubs[i], n, msg, failures);
      } else {
        publish_async(js, *pubs[i], n, msg, failures, timeout);
      }
      finished.fetch_add(1);
    });
  }
  {
    ProgressBar bar("Publishing", cfg.msgs);
    while (finished.load() < threads.size()) {
      uint64_t acked = 0;
      for (auto& p : pubs) acked += p->acked.load(std::memory_order_relaxed);
      bar.update(acked);
      std::this_thread::sleep_for(std::chrono::milliseconds(bar.enabled() ? 100 : 5));
    }
    for (std::thread& t : threads) t.join();
  }

  std::vector<ClientStats> stats;
  std::vector<std::chrono::nanoseconds> all;
  for (auto& p : pubs) {
    const uint64_t acked = p->acked.load(std::memory_order_acquire);
    const int64_t last = p->last_ack_ns.load(std::memory_order_relaxed);
    stats.push_back({acked, acked * cfg.size, last != 0 ? from_ns(last) : start});
    all.insert(all.end(), p->latencies.begin(), p->latencies.end());
  }
  print_stats("Pub", start, stats);
  if (!all.empty()) {
    std::sort(all.begin(), all.end());
    std::printf("%s\n", latency_line(all, "acks").c_str());
  }
  if (failures.any()) {
    const uint64_t failed = failures.count();
    return fail(kExitFailure, name + ": " + format_count(static_cast<double>(failed)) + " of " +
                                  format_count(static_cast<double>(cfg.msgs)) +
                                  " publishes failed; the first: " + failures.first());
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------------------
// bench js fetch

struct FetchConfig {
  std::string stream;
  std::string consumer;
  uint64_t msgs = 0;
  size_t batch = 100;
  size_t subs = 1;
};

// Messages still to claim, shared by the workers so that together they consume exactly --msgs.
class Budget {
 public:
  explicit Budget(uint64_t total) : left_(total) {}
  // Up to `want` messages to fetch now; 0 when all are claimed.
  size_t claim(size_t want) {
    std::lock_guard lock(mu_);
    size_t got = static_cast<size_t>(std::min<uint64_t>(want, left_));
    left_ -= got;
    return got;
  }
  void give_back(size_t n) {
    std::lock_guard lock(mu_);
    left_ += n;
  }

 private:
  std::mutex mu_;
  uint64_t left_;
};

Status prepare_consumer(JetStream& js, const FetchConfig& cfg) {
  auto info = js.consumer_info(cfg.stream, cfg.consumer);
  if (info) return Status::ok();
  if (!is_api_error(info.status(), kConsumerNotFound)) return info.status();
  ConsumerConfig cc;
  cc.durable_name = cfg.consumer;
  cc.ack_policy = AckPolicy::Explicit;
  if (auto created = js.add_consumer(cfg.stream, cc); !created) return created.status();
  return Status::ok();
}

// One worker: fetches and acks until the budget is spent or nothing comes within `wait`.
void fetch_worker(Connection& nc, const FetchConfig& cfg, Budget& budget, ClientStats& stats,
                  std::atomic<uint64_t>& progress, Failures& failures, std::chrono::milliseconds wait,
                  Clock::time_point start) {
  stats.end = start;
  JetStreamOptions jopts;
  jopts.timeout = wait;
  JetStream js(nc, jopts);
  auto pull = js.pull_consumer(cfg.stream, cfg.consumer);
  if (!pull) {
    failures.add(pull.status(), 0);
    return;
  }
  for (;;) {
    const size_t want = budget.claim(cfg.batch);
    if (want == 0) break;
    auto batch = pull->fetch(want, wait);
    if (!batch) {
      budget.give_back(want);
      // Nothing within the wait: the stream has no more for now. Anything else is a failure.
      if (error_code(batch.status()) != ErrorCode::Timeout) failures.add(batch.status(), 0);
      break;
    }
    if (batch->size() < want) budget.give_back(want - batch->size());
    for (JsMsg& m : *batch) {
      if (Status st = m.ack(); !st) {
        failures.add(st);
        continue;
      }
      stats.msgs += 1;
      stats.bytes += m.data().size();
    }
    stats.end = Clock::now();
    progress.fetch_add(batch->size(), std::memory_order_relaxed);
  }
  // Acks are plain publishes: make sure the server has them all before the figures count them.
  if (Status st = nc.flush(wait); !st) failures.add(st, 0);
}

int bench_js_fetch(const std::string& name, const FetchConfig& cfg, const GlobalOptions& global) {
  {
    auto admin = connect_clients(global, 1);
    if (!admin) return fail(kExitFailure, admin.status().message());
    JetStreamOptions jopts;
    jopts.timeout = js_timeout(global);
    JetStream js(*admin->front(), jopts);
    if (Status st = prepare_consumer(js, cfg); !st) {
      return fail(kExitFailure,
                  name + ": consumer \"" + cfg.consumer + "\" on stream \"" + cfg.stream + "\": " + st.message());
    }
  }
  auto conns = connect_clients(global, cfg.subs);
  if (!conns) return fail(kExitFailure, conns.status().message());

  std::printf("Starting JetStream fetch benchmark [stream=%s, consumer=%s, msgs=%s, batch=%zu, subs=%zu]\n\n",
              cfg.stream.c_str(), cfg.consumer.c_str(), format_count(static_cast<double>(cfg.msgs)).c_str(), cfg.batch,
              cfg.subs);
  std::fflush(stdout);

  Budget budget(cfg.msgs);
  Failures failures;
  std::vector<ClientStats> stats(cfg.subs);
  std::atomic<uint64_t> progress{0};
  std::atomic<size_t> finished{0};
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t i = 0; i < cfg.subs; ++i) {
    threads.emplace_back([&, i] {
      fetch_worker(*(*conns)[i], cfg, budget, stats[i], progress, failures, global.timeout, start);
      finished.fetch_add(1);
    });
  }
  {
    ProgressBar bar("Fetching", cfg.msgs);
    while (finished.load() < threads.size()) {
      bar.update(progress.load(std::memory_order_relaxed));
      std::this_thread::sleep_for(std::chrono::milliseconds(bar.enabled() ? 100 : 5));
    }
    for (std::thread& t : threads) t.join();
  }

  print_stats("Fetch", start, stats);
  uint64_t fetched = 0;
  for (const ClientStats& s : stats) fetched += s.msgs;
  if (failures.any()) {
    const uint64_t acks = failures.count();
    return fail(kExitFailure, name + ": " + failures.first() +
                                  (acks == 0 ? "" : " (" + format_count(static_cast<double>(acks)) + " acks failed)"));
  }
  if (fetched < cfg.msgs) {
    return fail(kExitFailure, name + ": fetched " + format_count(static_cast<double>(fetched)) + " of " +
                                  format_count(static_cast<double>(cfg.msgs)) + " messages: no more arrived within " +
                                  format_duration(global.timeout) + " (does the stream hold enough?)");
  }
  return kExitOk;
}

}  // namespace

int run_bench_js_pub(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Publishes --msgs messages to SUBJECT with JetStream acknowledgements and prints\n"
                       "acks/sec and MB/sec (10^6 bytes), in total and per publisher. --pub publishers\n"
                       "each have their own connection. Creates --stream (capturing SUBJECT) when it is\n"
                       "missing. Acks are awaited asynchronously, up to --window outstanding per\n"
                       "publisher, or with --sync one at a time (then the ack latency percentiles are\n"
                       "printed too). Any failed publish is reported and makes the exit code 1.\n",
                       "SUBJECT", 1, 1);
  // clang-format off
  parser.add_options()
    ("stream", "The stream to publish to", cxxopts::value<std::string>()->default_value("benchstream"), "NAME")
    ("msgs", "Messages to publish, in total", cxxopts::value<int64_t>()->default_value("100000"), "N")
    ("size", "Payload size", cxxopts::value<int64_t>()->default_value("128"), "BYTES")
    ("pub", "Number of publishers", cxxopts::value<int64_t>()->default_value("1"), "N")
    ("sync", "Waits for each ack before the next publish")
    ("window", "Async acks outstanding at most, per publisher", cxxopts::value<int64_t>()->default_value("256"), "N")
    ("storage", "Storage of a stream created here: file or memory",
     cxxopts::value<std::string>()->default_value("file"), "TYPE")
    ("purge", "Purges the stream before publishing");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  PubConfig cfg;
  cfg.subject = cl.positional[0];
  cfg.stream = cl.options["stream"].as<std::string>();
  int64_t msgs = 0, size = 0, pubs = 0, window = 0;
  if (auto code = read_count(parser, cl, "msgs", 1, kNoLimit, msgs)) return *code;
  if (auto code = read_count(parser, cl, "size", 0, 64 << 20, size)) return *code;
  if (auto code = read_count(parser, cl, "pub", 1, 1000, pubs)) return *code;
  if (auto code = read_count(parser, cl, "window", 1, 1 << 20, window)) return *code;
  if (cl.options.count("sync") != 0 && cl.options.count("window") != 0) {
    return fail(kExitUsage, parser.name() + ": --sync and --window exclude each other");
  }
  const std::string storage = cl.options["storage"].as<std::string>();
  if (storage != "file" && storage != "memory") {
    return fail(kExitUsage, parser.name() + ": --storage must be file or memory");
  }
  if (cfg.subject.find_first_of("*> \t") != std::string::npos) {
    return fail(kExitUsage, parser.name() + ": SUBJECT must be a subject to publish to (no wildcards)");
  }
  if (cfg.stream.empty() || cfg.stream.find_first_of(".*> \t") != std::string::npos) {
    return fail(kExitUsage, parser.name() + ": invalid stream name \"" + cfg.stream + "\"");
  }
  cfg.msgs = static_cast<uint64_t>(msgs);
  cfg.size = static_cast<size_t>(size);
  cfg.pubs = static_cast<size_t>(pubs);
  cfg.window = static_cast<size_t>(window);
  cfg.sync = cl.options.count("sync") != 0;
  cfg.storage = storage == "memory" ? StorageType::Memory : StorageType::File;
  cfg.purge = cl.options.count("purge") != 0;
  return bench_js_pub(parser.name(), cfg, cl.global);
}

int run_bench_js_fetch(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Consumes --msgs messages from a durable pull consumer (created with explicit\n"
                       "acks when missing) and acks each one; prints msgs/sec and MB/sec (10^6 bytes),\n"
                       "in total and per worker. --sub workers each have their own connection and\n"
                       "fetch batches of --batch. When the stream has fewer messages, waits up to\n"
                       "--timeout for more, then reports what was fetched and exits 1.\n",
                       "", 0, 0);
  // clang-format off
  parser.add_options()
    ("stream", "The stream to consume", cxxopts::value<std::string>()->default_value("benchstream"), "NAME")
    ("consumer", "The durable pull consumer", cxxopts::value<std::string>()->default_value("benchconsumer"), "NAME")
    ("msgs", "Messages to consume, in total", cxxopts::value<int64_t>()->default_value("100000"), "N")
    ("batch", "Messages per fetch", cxxopts::value<int64_t>()->default_value("100"), "N")
    ("sub", "Number of workers", cxxopts::value<int64_t>()->default_value("1"), "N");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  FetchConfig cfg;
  cfg.stream = cl.options["stream"].as<std::string>();
  cfg.consumer = cl.options["consumer"].as<std::string>();
  int64_t msgs = 0, batch = 0, subs = 0;
  if (auto code = read_count(parser, cl, "msgs", 1, kNoLimit, msgs)) return *code;
  if (auto code = read_count(parser, cl, "batch", 1, 10000, batch)) return *code;
  if (auto code = read_count(parser, cl, "sub", 1, 1000, subs)) return *code;
  for (const std::string* n : {&cfg.stream, &cfg.consumer}) {
    if (n->empty() || n->find_first_of(".*> \t") != std::string::npos) {
      return fail(kExitUsage, parser.name() + ": invalid name \"" + *n + "\"");
    }
  }
  cfg.msgs = static_cast<uint64_t>(msgs);
  cfg.batch = static_cast<size_t>(batch);
  cfg.subs = static_cast<size_t>(subs);
  return bench_js_fetch(parser.name(), cfg, cl.global);
}

}  // namespace tern::cli
