// tern-bench-js: one JetStream stream-publish workload against one server, one RESULT line out.
//
//   tern-bench-js --port P --workload async --msgs N --window 256 --size 128 [--compression lz4]
//   tern-bench-js --port P --workload sync  --msgs N --size 128
//   tern-bench-js --port P --workload async --payload telemetry --msgs 1000000 --compression zstd
//   tern-bench-js --fsync-dir DIR [--fsync-count 200] [--fsync-gap-us 0]   (write+fdatasync latency)
//
// Every run first deletes the stream BENCH (a "not found" answer is fine) and creates it again,
// subjects bench.js.>, file storage, with "compression" only when --compression is given (nats-server
// 2.9 has no such field). So every run starts from an empty stream; the stream is left in place
// at the end, for bench/run_js.sh to measure its directory.
//
// Publishing: one connection subscribed to _INBOX.b.*; each message is
// `PUB bench.js.x _INBOX.b.<i> <size>`, and the server's pub ack arrives on that inbox.
//   async: keeps --window publishes unacknowledged: writes as many as the window has room for
//          in one send(), reads whatever acks arrived, tops up again. rate = acks / (first write
//          -> last ack).
//   sync:  one in flight: publish, wait for the ack, repeat. Ack latency percentiles (from
//          before the PUB write until the ack is read), after a warm-up of min(100, N/10).
// Every ack payload is looked at: one that holds "error" is counted in errors= (and the first
// one is printed to stderr); last_seq= is the highest "seq" acknowledged, which on a fresh
// stream must equal the number of messages.
//
// Payloads: fixed (--size bytes of 'x'), or telemetry: JSON lines such as
//   {"host":"web-17","metric":"cpu.user","ts":1732363200123,"value":42.7,"unit":"percent",
//    "tags":{"dc":"eu-1","rack":"r12"}}
// from a fixed-seed generator, so both servers store the same bytes (~110-140 B each).
//
// Output (stdout, key=value, parsed by bench/run_js.sh):
//   RESULT workload=async msgs=... acked=... errors=0 last_seq=... elapsed_s=... rate=... payload_avg=...
//   RESULT workload=sync  msgs=... acked=... errors=0 rate=... p50_us=... p90_us=... p99_us=... ...
//   RESULT workload=fsync count=200 p50_us=... p90_us=... p99_us=... mean_us=... max_us=... gap_us=0

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <cxxopts.hpp>
#include <string>
#include <string_view>
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
  uint64_t msgs = 200000;
  uint64_t window = 256;
  size_t size = 128;
  std::string payload = "fixed";  // fixed | telemetry
  std::string compression;        // empty: no "compression" field in the create request
  double timeout_s = 20;
};

// Reads server -> client bytes and hands out whole MSG frames with their payloads. Unlike
// MsgScanner it keeps payloads (acks are small and every one is checked).
class AckReader {
 public:
  // A read that waits longer than timeout_s ends the run: the server stopped acknowledging.
  AckReader(int fd, double timeout_s) : fd_(fd), buf_(256 * 1024) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout_s);
    tv.tv_usec = static_cast<suseconds_t>((timeout_s - static_cast<double>(tv.tv_sec)) * 1e6);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  // One blocking read, then on_msg(payload) per complete MSG. Answers server PINGs.
  // Returns false on EOF.
  template <class OnMsg>
  bool read_and_scan(OnMsg&& on_msg) {
    if (end_ == buf_.size()) die("ack reader: frame larger than the buffer");
    ssize_t n;
    do {
      n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) die("no answer from the server within --timeout");
    if (n < 0) die(std::string("read: ") + std::strerror(errno));
    if (n == 0) return false;
    end_ += static_cast<size_t>(n);
    const char* p = buf_.data();
    const char* const e = buf_.data() + end_;
    while (p < e) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(e - p)));
      if (nl == nullptr) break;
      std::string_view line(p, static_cast<size_t>(nl - p));
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.starts_with("MSG ") || line.starts_with("HMSG ")) {
        const size_t sp = line.find_last_of(' ');
        const size_t size = std::strtoull(std::string(line.substr(sp + 1)).c_str(), nullptr, 10);
        if (static_cast<size_t>(e - (nl + 1)) < size + 2) break;  // payload not all here yet
        on_msg(std::string_view(nl + 1, size));
        p = nl + 1 + size + 2;
        continue;
      }
      if (line.starts_with("PING")) {
        static constexpr char kPong[] = "PONG\r\n";
        if (::write(fd_, kPong, sizeof kPong - 1) < 0) die("write PONG");
      } else if (line.starts_with("-ERR")) {
        die("server said " + std::string(line));
      }
      p = nl + 1;
    }
    const size_t rest = static_cast<size_t>(e - p);
    if (rest > 0 && p != buf_.data()) std::memmove(buf_.data(), p, rest);
    end_ = rest;
    return true;
  }

 private:
  int fd_;
  std::vector<char> buf_;
  size_t end_ = 0;
};

// Ack bookkeeping shared by both workloads.
struct Acks {
  uint64_t count = 0;
  uint64_t errors = 0;
  uint64_t last_seq = 0;
  void operator()(std::string_view payload) {
    ++count;
    if (payload.find("\"error\"") != std::string_view::npos) {
      if (errors++ == 0) std::fprintf(stderr, "tern-bench-js: error ack: %.*s\n", int(payload.size()), payload.data());
      return;
    }
    const size_t k = payload.find("\"seq\":");
    if (k != std::string_view::npos) last_seq = std::max<uint64_t>(last_seq, std::strtoull(payload.data() + k + 6, nullptr, 10));
  }
};

// Exit status of a run: 0 when every ack was a success and the stream (fresh) acked exactly
// `published` sequences.
int check(const Acks& acks, uint64_t published) {
  if (acks.last_seq != published)
    std::fprintf(stderr, "tern-bench-js: last acked seq %llu, expected %llu\n",
                 static_cast<unsigned long long>(acks.last_seq), static_cast<unsigned long long>(published));
  return acks.errors == 0 && acks.last_seq == published ? 0 : 1;
}

// A request on the publishing connection (reply on _INBOX.b.api), waiting for its answer.
std::string request(RawConn& conn, AckReader& rd, std::string_view subject, std::string_view body) {
  std::string f = "PUB ";
  f += subject;
  f += " _INBOX.b.api ";
  f += std::to_string(body.size());
  f += "\r\n";
  f += body;
  f += "\r\n";
  conn.write_all(f);
  std::string answer;
  bool got = false;
  while (!got) {
    if (!rd.read_and_scan([&](std::string_view p) {
          answer = p;
          got = true;
        }))
      die("server closed the connection during " + std::string(subject));
  }
  return answer;
}

void recreate_stream(RawConn& conn, AckReader& rd, const Config& cfg) {
  (void)request(conn, rd, "$JS.API.STREAM.DELETE.BENCH", "");
  std::string body = R"({"name":"BENCH","subjects":["bench.js.>"],"storage":"file")";
  if (!cfg.compression.empty()) body += R"(,"compression":")" + cfg.compression + "\"";
  body += "}";
  const std::string answer = request(conn, rd, "$JS.API.STREAM.CREATE.BENCH", body);
  if (answer.find("\"error\"") != std::string::npos) die("stream create failed: " + answer);
}

// Deterministic payload source: fixed bytes or telemetry JSON.
class Payloads {
 public:
  explicit Payloads(const Config& cfg) : telemetry_(cfg.payload == "telemetry"), fixed_(cfg.size, 'x') {
    if (!telemetry_ && cfg.payload != "fixed") die("--payload: fixed or telemetry");
  }
  std::string_view next() {
    if (!telemetry_) return fixed_;
    static constexpr const char* kMetrics[][2] = {
        {"cpu.user", "percent"},  {"cpu.system", "percent"}, {"mem.used", "bytes"},     {"mem.cached", "bytes"},
        {"disk.read", "bytes/s"}, {"disk.write", "bytes/s"}, {"net.rx", "bytes/s"},     {"net.tx", "bytes/s"},
        {"load.1m", "load"},      {"tcp.conns", "count"},    {"http.p99", "ms"},        {"gc.pause", "ms"}};
    static constexpr const char* kDcs[] = {"eu-1", "eu-2", "us-east-1", "us-west-2", "ap-south-1"};
    static constexpr const char* kRoles[] = {"web", "api", "db", "cache", "worker"};
    const uint64_t r = rnd();
    const auto& m = kMetrics[r % 12];
    ts_ += 1 + (r >> 8) % 7;
    const double value = static_cast<double>((r >> 16) % 10000000) / 10.0;  // 0.0 .. 999999.9
    const int n = std::snprintf(
        buf_, sizeof buf_,
        R"({"host":"%s-%u","metric":"%s","ts":%llu,"value":%.1f,"unit":"%s","tags":{"dc":"%s","rack":"r%u"}})",
        kRoles[(r >> 40) % 5], static_cast<unsigned>((r >> 44) % 200), m[0], static_cast<unsigned long long>(ts_),
        value, m[1], kDcs[(r >> 52) % 5], static_cast<unsigned>((r >> 56) % 40));
    return std::string_view(buf_, static_cast<size_t>(n));
  }

 private:
  uint64_t rnd() {  // xorshift64*, fixed seed: the same sequence for every server
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1DULL;
  }
  bool telemetry_;
  std::string fixed_;
  uint64_t s_ = 0x9E3779B97F4A7C15ULL;
  uint64_t ts_ = 1732363200000ULL;
  char buf_[512];
};

void append_pub(std::string& out, uint64_t i, std::string_view payload) {
  out += "PUB bench.js.x _INBOX.b.";
  out += std::to_string(i);
  out += ' ';
  out += std::to_string(payload.size());
  out += "\r\n";
  out += payload;
  out += "\r\n";
}

int run_async(const Config& cfg) {
  RawConn conn;
  conn.open(cfg.host, cfg.port, "bench-js", "_INBOX.b.*");
  AckReader rd(conn.fd(), cfg.timeout_s);
  recreate_stream(conn, rd, cfg);
  Payloads payloads(cfg);
  Acks acks;
  uint64_t sent = 0, payload_bytes = 0;
  std::string out;
  out.reserve(cfg.window * 256);
  const auto t0 = Clock::now();
  while (acks.count < cfg.msgs) {
    const uint64_t room = cfg.window - std::min(cfg.window, sent - acks.count);
    const uint64_t k = std::min(room, cfg.msgs - sent);
    if (k > 0) {
      out.clear();
      for (uint64_t j = 0; j < k; ++j) {
        const std::string_view p = payloads.next();
        payload_bytes += p.size();
        append_pub(out, sent + j, p);
      }
      conn.write_all(out);
      sent += k;
    }
    if (!rd.read_and_scan(acks)) die("server closed the connection");
  }
  const double el = seconds(Clock::now() - t0);
  std::printf(
      "RESULT workload=async msgs=%llu acked=%llu errors=%llu last_seq=%llu window=%llu elapsed_s=%.6f rate=%.0f "
      "payload_avg=%.1f ops=%llu\n",
      static_cast<unsigned long long>(cfg.msgs), static_cast<unsigned long long>(acks.count),
      static_cast<unsigned long long>(acks.errors), static_cast<unsigned long long>(acks.last_seq),
      static_cast<unsigned long long>(cfg.window), el, static_cast<double>(acks.count) / el,
      static_cast<double>(payload_bytes) / static_cast<double>(sent), static_cast<unsigned long long>(acks.count));
  return check(acks, cfg.msgs);
}

void print_latency(const char* workload, std::vector<double>& us, const char* extra) {
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) { return us[std::min(us.size() - 1, static_cast<size_t>(p * us.size()))]; };
  double sum = 0;
  for (double v : us) sum += v;
  std::printf("RESULT workload=%s count=%zu p50_us=%.2f p90_us=%.2f p99_us=%.2f mean_us=%.2f max_us=%.2f%s\n", workload,
              us.size(), pct(0.50), pct(0.90), pct(0.99), sum / us.size(), us.back(), extra);
}

int run_sync(const Config& cfg) {
  RawConn conn;
  conn.open(cfg.host, cfg.port, "bench-js", "_INBOX.b.*");
  AckReader rd(conn.fd(), cfg.timeout_s);
  recreate_stream(conn, rd, cfg);
  Payloads payloads(cfg);
  Acks acks;
  const uint64_t warmup = std::min<uint64_t>(100, cfg.msgs / 10);
  std::vector<double> us;
  us.reserve(cfg.msgs);
  std::string out;
  Clock::time_point t0;
  for (uint64_t i = 0; i < warmup + cfg.msgs; ++i) {
    if (i == warmup) t0 = Clock::now();
    out.clear();
    append_pub(out, i, payloads.next());
    const uint64_t want = acks.count + 1;
    const auto t = Clock::now();
    conn.write_all(out);
    while (acks.count < want)
      if (!rd.read_and_scan(acks)) die("server closed the connection");
    if (i >= warmup) us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  const double el = seconds(Clock::now() - t0);
  char extra[256];
  std::snprintf(extra, sizeof extra, " errors=%llu last_seq=%llu rate=%.0f ops=%llu",
                static_cast<unsigned long long>(acks.errors), static_cast<unsigned long long>(acks.last_seq),
                static_cast<double>(cfg.msgs) / el, static_cast<unsigned long long>(warmup + cfg.msgs));
  print_latency("sync", us, extra);
  return check(acks, warmup + cfg.msgs);
}

// The disk's floor for a durable ack: append 128 bytes to a file and fdatasync it (what a
// one-message group commit does), count times; a fresh file in dir, removed afterwards.
// gap_us > 0 sleeps that long between probes (a disk may flush fast only when given a pause).
int run_fsync(const std::string& dir, int count, int gap_us) {
  const std::string path = dir + "/fsync-probe." + std::to_string(::getpid());
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + path + ": " + std::strerror(errno));
  const std::string rec(128, 'r');
  std::vector<double> us;
  for (int i = 0; i < count; ++i) {
    const auto t = Clock::now();
    if (::write(fd, rec.data(), rec.size()) != static_cast<ssize_t>(rec.size())) die("write probe");
    if (::fdatasync(fd) != 0) die(std::string("fdatasync: ") + std::strerror(errno));
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
    if (gap_us > 0) ::usleep(static_cast<useconds_t>(gap_us));
  }
  ::close(fd);
  ::unlink(path.c_str());
  const std::string extra = " gap_us=" + std::to_string(gap_us);
  print_latency("fsync", us, extra.c_str());
  return 0;
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
  using namespace tern::bench;
  cxxopts::Options opts("tern-bench-js", "One JetStream stream-publish workload against one server; prints a RESULT line.");
  Config cfg;
  std::string fsync_dir;
  int fsync_count = 200;
  int fsync_gap_us = 0;
  // clang-format off
  opts.add_options()
    ("host", "server host", cxxopts::value(cfg.host)->default_value(cfg.host))
    ("p,port", "server port", cxxopts::value(cfg.port)->default_value("4222"))
    ("w,workload", "async | sync", cxxopts::value(cfg.workload))
    ("n,msgs", "messages published (acknowledged)", cxxopts::value(cfg.msgs)->default_value("200000"))
    ("window", "async: publishes in flight", cxxopts::value(cfg.window)->default_value("256"))
    ("s,size", "payload bytes (--payload fixed)", cxxopts::value(cfg.size)->default_value("128"))
    ("payload", "fixed | telemetry", cxxopts::value(cfg.payload)->default_value("fixed"))
    ("compression", "stream compression field (none, lz4, zstd); omitted when empty",
        cxxopts::value(cfg.compression)->default_value(""))
    ("timeout", "seconds to wait for an answer before giving up", cxxopts::value(cfg.timeout_s)->default_value("20"))
    ("fsync-dir", "measure write(128 B)+fdatasync latency on a file in DIR and exit", cxxopts::value(fsync_dir))
    ("fsync-count", "fsyncs for --fsync-dir", cxxopts::value(fsync_count)->default_value("200"))
    ("fsync-gap-us", "pause between fsync probes", cxxopts::value(fsync_gap_us)->default_value("0"))
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
  if (!fsync_dir.empty()) return run_fsync(fsync_dir, std::max(1, fsync_count), fsync_gap_us);
  if (cfg.msgs < 1 || cfg.window < 1) die("--msgs and --window must be >= 1");
  if (cfg.workload == "async") return run_async(cfg);
  if (cfg.workload == "sync") return run_sync(cfg);
  die("unknown --workload '" + cfg.workload + "' (async, sync)");
}
