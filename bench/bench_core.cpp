// tern-bench-core: one workload against one NATS-protocol server, one RESULT line out.
//
//   tern-bench-core --port P --workload pub     --pubs N --msgs M --size S
//   tern-bench-core --port P --workload pubsub  --msgs M --size S            (1 pub, 1 sub)
//   tern-bench-core --port P --workload fanout  --subs K --msgs M --size S   (K subs on bench.fan.>)
//   tern-bench-core --port P --workload reqrep  --msgs M --size S            (sequential round trips)
//   tern-bench-core --free-port | --probe --port P
//
// Output (stdout, one line, key=value, parsed by bench/run.sh):
//   RESULT workload=pubsub published=... delivered=... expected=... lost=0 elapsed_s=... rate=... ops=...
//   RESULT workload=reqrep count=... p50_us=... p90_us=... p99_us=... mean_us=... max_us=... ops=...
// ops is the work the server did in units the report divides its CPU time by: messages
// published (pub), messages delivered (pubsub, fanout), round trips incl. warm-up (reqrep).
//
// Timing for throughput: t0 is taken just before the first PUB batch is written; the end
// is when the last publisher's closing PING got its PONG (pub) or when the last
// subscriber has counted all its messages (pubsub, fanout). rate = messages / (end - t0),
// where messages is what was published (pub) or delivered in total (pubsub, fanout).
//
// Flow control (pubsub, fanout): each publisher stays at most --window messages ahead of
// the slowest subscriber. The counts are shared in-process, so this costs no protocol
// traffic. Without it a server that buffers without bound (or, like nats-server, cuts
// off slow consumers at 64 MB pending) is measured on its buffering policy rather than
// on sustained throughput. The default window keeps at most ~256 MB in flight in total.

#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cxxopts.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/raw_conn.h"

namespace tern::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Config {
  std::string host = "127.0.0.1";
  int port = 4222;
  std::string workload;
  int pubs = 1;
  int subs = 1;
  uint64_t msgs = 1000000;  // total published (split over publishers), or round trips for reqrep
  size_t size = 128;
  size_t batch_bytes = 64 * 1024;  // bytes of pipelined PUB frames per send()
  uint64_t window = 0;             // 0: derived from size and subscriber count
  double timeout_s = 10;           // give up when subscribers see nothing for this long
};

std::string pub_frame(std::string_view subject, std::string_view reply, size_t size) {
  std::string f = "PUB ";
  f += subject;
  f += ' ';
  if (!reply.empty()) {
    f += reply;
    f += ' ';
  }
  f += std::to_string(size);
  f += "\r\n";
  f.append(size, 'x');
  f += "\r\n";
  return f;
}

// The pre-built batch a publisher writes over and over: whole PUB frames, ~batch_bytes.
struct PubBatch {
  std::string bytes;
  size_t frame_len = 0;
  uint64_t frames = 0;

  PubBatch(std::string_view subject, size_t size, size_t batch_bytes) {
    const std::string f = pub_frame(subject, {}, size);
    frame_len = f.size();
    frames = std::max<uint64_t>(1, batch_bytes / frame_len);
    bytes.reserve(frames * frame_len);
    for (uint64_t i = 0; i < frames; ++i) bytes += f;
  }
};

// Waits until the start flag is set. Publishers wait here so that they all start at t0.
void wait_for_start(const std::atomic<bool>& go) {
  while (!go.load(std::memory_order_acquire)) go.wait(false, std::memory_order_acquire);
}

struct PublisherResult {
  Clock::time_point flushed;
};

// Writes count messages in batches, staying at most window messages ahead of *slowest
// (when given), then flushes (PING/PONG).
// With P publishers feeding the same subscribers, a subscriber's count is the sum over
// all of them, so a publisher compares its own progress times P (they run at about the
// same pace) against that count.
void run_publisher(RawConn& conn, const PubBatch& batch, uint64_t count, uint64_t window, uint64_t pubs,
                   const std::atomic<uint64_t>* slowest, const std::atomic<bool>& go, PublisherResult& out) {
  wait_for_start(go);
  uint64_t sent = 0;
  while (sent < count) {
    const uint64_t n = std::min(batch.frames, count - sent);
    if (slowest != nullptr) {
      int spins = 0;
      while ((sent + n) * pubs > slowest->load(std::memory_order_acquire) + window) {
        if (++spins < 16)
          sched_yield();
        else
          std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    }
    conn.write_all(std::string_view(batch.bytes.data(), n * batch.frame_len));
    sent += n;
  }
  conn.flush();
  out.flushed = Clock::now();
}

// All subscriber connections, read by one epoll thread. Each must receive expected msgs.
class SubscriberGroup {
 public:
  SubscriberGroup(const Config& cfg, int count, std::string_view subject) {
    conns_.reserve(count);
    for (int i = 0; i < count; ++i) {
      conns_.emplace_back();
      conns_.back().open(cfg.host, cfg.port, "bench-sub-" + std::to_string(i), subject);
      conns_.back().set_nonblocking();
    }
  }

  // Reads until every connection has `expected` messages or nothing arrived for timeout_s.
  // Publishes the slowest connection's count to slowest after every wake-up.
  void run(uint64_t expected, double timeout_s, std::atomic<uint64_t>& slowest) {
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    for (size_t i = 0; i < conns_.size(); ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, conns_[i].fd(), &ev);
    }
    std::vector<epoll_event> evs(conns_.size());
    size_t remaining = conns_.size();
    std::vector<bool> done(conns_.size(), false);
    auto last_data = Clock::now();
    while (remaining > 0) {
      const int n = ::epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
      if (n <= 0) {
        if (seconds(Clock::now() - last_data) > timeout_s) {
          timed_out_ = true;
          break;
        }
        continue;
      }
      last_data = Clock::now();
      for (int k = 0; k < n; ++k) {
        RawConn& c = conns_[evs[k].data.u64];
        const ssize_t r = c.read_some();
        if (r == 0)
          die("server closed a subscriber connection" +
              (c.scanner().last_error().empty() ? std::string() : " after " + c.scanner().last_error()));
        if (r < 0) continue;
        c.scanner().scan();
        if (c.scanner().pings_owed() > 0) {
          c.write_all("PONG\r\n");
          c.scanner().pings_answered();
        }
        if (!done[evs[k].data.u64] && c.scanner().msgs() >= expected) {
          done[evs[k].data.u64] = true;
          --remaining;
        }
      }
      uint64_t lo = UINT64_MAX;
      for (auto& c : conns_) lo = std::min<uint64_t>(lo, c.scanner().msgs());
      slowest.store(lo, std::memory_order_release);
    }
    finished_ = last_data;
    ::close(ep);
  }

  uint64_t delivered() const {
    uint64_t t = 0;
    for (auto& c : conns_) t += c.scanner().msgs();
    return t;
  }
  Clock::time_point finished() const { return finished_; }
  bool timed_out() const { return timed_out_; }

 private:
  std::vector<RawConn> conns_;
  Clock::time_point finished_;
  bool timed_out_ = false;
};

void print_throughput(const char* workload, uint64_t published, uint64_t delivered, uint64_t expected, double elapsed,
                      uint64_t counted) {
  std::printf(
      "RESULT workload=%s published=%llu delivered=%llu expected=%llu lost=%llu elapsed_s=%.6f rate=%.0f ops=%llu\n",
      workload, static_cast<unsigned long long>(published), static_cast<unsigned long long>(delivered),
      static_cast<unsigned long long>(expected), static_cast<unsigned long long>(expected - delivered), elapsed,
      counted / elapsed, static_cast<unsigned long long>(counted));
}

int run_pub_only(const Config& cfg) {
  const uint64_t per_pub = cfg.msgs / cfg.pubs;
  const PubBatch batch("bench.pub", cfg.size, cfg.batch_bytes);
  std::vector<RawConn> conns(cfg.pubs);
  for (int i = 0; i < cfg.pubs; ++i) conns[i].open(cfg.host, cfg.port, "bench-pub-" + std::to_string(i));
  std::vector<PublisherResult> results(cfg.pubs);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < cfg.pubs; ++i)
    threads.emplace_back(run_publisher, std::ref(conns[i]), std::cref(batch), per_pub, 0, 1, nullptr, std::cref(go),
                         std::ref(results[i]));
  const auto t0 = Clock::now();
  go.store(true, std::memory_order_release);
  go.notify_all();
  for (auto& t : threads) t.join();
  Clock::time_point end = t0;
  for (auto& r : results) end = std::max(end, r.flushed);
  const uint64_t total = per_pub * cfg.pubs;
  print_throughput("pub", total, 0, 0, seconds(end - t0), total);
  return 0;
}

// pubsub and fanout: publishers on `pub_subject`, cfg.subs subscribers on `sub_subject`.
int run_pub_sub(const Config& cfg, const char* name, std::string_view pub_subject, std::string_view sub_subject) {
  const uint64_t per_pub = cfg.msgs / cfg.pubs;
  const uint64_t per_sub = per_pub * cfg.pubs;
  const PubBatch batch(pub_subject, cfg.size, cfg.batch_bytes);
  uint64_t window = cfg.window;
  if (window == 0) {
    // Per subscriber at most 16 MB of MSG frames in flight, and at most ~256 MB in total.
    const uint64_t msg_wire = cfg.size + 64;
    window = std::min<uint64_t>((16u << 20) / msg_wire, (256u << 20) / (msg_wire * cfg.subs));
    window = std::max<uint64_t>(window, 2 * batch.frames);
  }
  SubscriberGroup subs(cfg, cfg.subs, sub_subject);
  std::vector<RawConn> conns(cfg.pubs);
  for (int i = 0; i < cfg.pubs; ++i) conns[i].open(cfg.host, cfg.port, "bench-pub-" + std::to_string(i));

  std::atomic<uint64_t> slowest{0};
  std::atomic<bool> go{false};
  std::vector<PublisherResult> results(cfg.pubs);
  std::vector<std::thread> threads;
  for (int i = 0; i < cfg.pubs; ++i)
    threads.emplace_back(run_publisher, std::ref(conns[i]), std::cref(batch), per_pub, window,
                         static_cast<uint64_t>(cfg.pubs), &slowest, std::cref(go), std::ref(results[i]));
  std::thread reader([&] { subs.run(per_sub, cfg.timeout_s, slowest); });
  const auto t0 = Clock::now();
  go.store(true, std::memory_order_release);
  go.notify_all();
  for (auto& t : threads) t.join();
  reader.join();
  const uint64_t expected = per_sub * cfg.subs;
  const uint64_t delivered = subs.delivered();
  if (subs.timed_out())
    std::fprintf(stderr, "tern-bench-core: %s: timed out after %.0f s idle, %llu of %llu messages delivered\n", name,
                 cfg.timeout_s, static_cast<unsigned long long>(delivered), static_cast<unsigned long long>(expected));
  print_throughput(name, per_pub * cfg.pubs, delivered, expected, seconds(subs.finished() - t0), delivered);
  return subs.timed_out() ? 1 : 0;
}

// Sequential request/reply: the requester publishes to bench.req with a reply inbox and
// waits for the answer before sending the next. The responder answers every MSG by
// publishing to its reply subject. Round-trip time per request, percentiles over all
// requests after a warm-up of min(1000, msgs/10).
int run_req_rep(const Config& cfg) {
  RawConn responder;
  responder.open(cfg.host, cfg.port, "bench-responder", "bench.req");
  RawConn requester;
  requester.open(cfg.host, cfg.port, "bench-requester", "_INBOX.bench.reply");

  const std::string payload(cfg.size, 'y');
  std::atomic<bool> stop{false};
  std::thread resp_thread([&] {
    std::string out;
    auto reply_to = [&](std::string_view args) {
      // args: <subject> <sid> <reply> <size>; the reply subject is the third field.
      size_t i = 0;
      std::string_view f[4];
      int nf = 0;
      while (i < args.size() && nf < 4) {
        while (i < args.size() && (args[i] == ' ' || args[i] == '\t')) ++i;
        const size_t s = i;
        while (i < args.size() && args[i] != ' ' && args[i] != '\t') ++i;
        if (i > s) f[nf++] = args.substr(s, i - s);
      }
      if (nf < 4) return;  // no reply subject: not a request
      out += "PUB ";
      out += f[2];
      out += ' ';
      out += std::to_string(payload.size());
      out += "\r\n";
      out += payload;
      out += "\r\n";
    };
    while (!stop.load(std::memory_order_relaxed)) {
      const ssize_t r = responder.read_some();
      if (r == 0) break;
      if (r < 0) continue;
      responder.scanner().scan(reply_to);
      if (responder.scanner().pings_owed() > 0) {
        out += "PONG\r\n";
        responder.scanner().pings_answered();
      }
      if (!out.empty()) {
        responder.write_all(out);
        out.clear();
      }
    }
  });

  const std::string request = pub_frame("bench.req", "_INBOX.bench.reply", cfg.size);
  const uint64_t warmup = std::min<uint64_t>(1000, cfg.msgs / 10);
  std::vector<double> us;
  us.reserve(cfg.msgs);
  MsgScanner& sc = requester.scanner();
  for (uint64_t i = 0; i < warmup + cfg.msgs; ++i) {
    const uint64_t want = sc.msgs() + 1;
    const auto t = Clock::now();
    requester.write_all(request);
    while (sc.msgs() < want) {
      if (requester.read_some() == 0) die("server closed the requester connection");
      sc.scan();
      if (sc.pings_owed() > 0) {
        requester.write_all("PONG\r\n");
        sc.pings_answered();
      }
    }
    if (i >= warmup) us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  stop.store(true);
  ::shutdown(responder.fd(), SHUT_RD);  // wake the responder's read
  resp_thread.join();

  std::sort(us.begin(), us.end());
  auto pct = [&](double p) { return us[std::min(us.size() - 1, static_cast<size_t>(p * us.size()))]; };
  double sum = 0;
  for (double v : us) sum += v;
  std::printf(
      "RESULT workload=reqrep count=%zu p50_us=%.2f p90_us=%.2f p99_us=%.2f mean_us=%.2f max_us=%.2f ops=%llu\n",
      us.size(), pct(0.50), pct(0.90), pct(0.99), sum / us.size(), us.back(),
      static_cast<unsigned long long>(warmup + cfg.msgs));
  return 0;
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
  using namespace tern::bench;
  cxxopts::Options opts("tern-bench-core", "One NATS-protocol workload against one server; prints a RESULT line.");
  Config cfg;
  // clang-format off
  opts.add_options()
    ("host", "server host", cxxopts::value(cfg.host)->default_value(cfg.host))
    ("p,port", "server port", cxxopts::value(cfg.port)->default_value("4222"))
    ("w,workload", "pub | pubsub | fanout | reqrep", cxxopts::value(cfg.workload))
    ("pubs", "publisher connections", cxxopts::value(cfg.pubs)->default_value("1"))
    ("subs", "subscriber connections (fanout)", cxxopts::value(cfg.subs)->default_value("10"))
    ("n,msgs", "messages published in total (reqrep: round trips)", cxxopts::value(cfg.msgs)->default_value("1000000"))
    ("s,size", "payload bytes", cxxopts::value(cfg.size)->default_value("128"))
    ("batch", "bytes of PUB frames per write", cxxopts::value(cfg.batch_bytes)->default_value("65536"))
    ("window", "max messages a publisher runs ahead of the slowest subscriber (0: auto)",
        cxxopts::value(cfg.window)->default_value("0"))
    ("timeout", "seconds without data before subscribers give up", cxxopts::value(cfg.timeout_s)->default_value("10"))
    ("free-port", "print a free loopback TCP port and exit")
    ("probe", "exit 0 when the server at --host/--port sends INFO")
    ("h,help", "this help");
  // clang-format on
  cxxopts::ParseResult args;
  try {
    args = opts.parse(argc, argv);
  } catch (const std::exception& e) {
    die(e.what());
  }
  if (args.count("help")) {
    std::printf("%s\n", opts.help().c_str());
    return 0;
  }
  if (args.count("free-port")) {
    std::printf("%d\n", pick_free_port());
    return 0;
  }
  if (args.count("probe")) return probe_server(cfg.host, cfg.port, 500) ? 0 : 1;
  if (cfg.pubs < 1 || cfg.subs < 1 || cfg.msgs < 1) die("--pubs, --subs and --msgs must be >= 1");
  if (cfg.workload == "pub") return run_pub_only(cfg);
  if (cfg.workload == "pubsub") {
    cfg.subs = 1;
    return run_pub_sub(cfg, "pubsub", "bench.sub", "bench.sub");
  }
  if (cfg.workload == "fanout") return run_pub_sub(cfg, "fanout", "bench.fan.x", "bench.fan.>");
  if (cfg.workload == "reqrep") return run_req_rep(cfg);
  die("unknown --workload '" + cfg.workload + "' (pub, pubsub, fanout, reqrep)");
}
