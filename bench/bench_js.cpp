// tern-bench-js: one JetStream workload against one server, one RESULT line out.
//
//   tern-bench-js --port P --workload async --msgs N --window 256 --size 128 [--compression lz4]
//   tern-bench-js --port P --workload sync  --msgs N --size 128
//   tern-bench-js --port P --workload async --payload telemetry --msgs 1000000 --compression zstd
//   tern-bench-js --port P --workload fill --stream BENCH --msgs 1000000 --window 4096 [--retention workqueue]
//   tern-bench-js --port P --workload pull --stream BENCH --msgs 1000000 --batch 100
//   tern-bench-js --port P --workload workqueue --stream BENCHWQ --msgs 1000000 --batch 100 --workers 4
//   tern-bench-js --port P --workload drop --stream BENCH
//   tern-bench-js --fsync-dir DIR [--fsync-count 200] [--fsync-gap-us 0]   (write+fdatasync latency)
//
// async, sync and fill first delete the stream (--stream, default BENCH; a "not found" answer is
// fine) and create it again, subjects bench.js.> for BENCH (bench.<name in lower case>.> for
// another name), file storage, with "compression" only when --compression is given (nats-server
// 2.9 has no such field) and "retention" only when --retention is. So every run starts from an
// empty stream; the stream is left in place at the end, for bench/run_js.sh to measure its
// directory or to consume.
//
// Publishing: one connection subscribed to _INBOX.b.*; each message is
// `PUB <prefix>.x _INBOX.b.<i> <size>`, and the server's pub ack arrives on that inbox.
//   async: keeps --window publishes unacknowledged: writes as many as the window has room for
//          in one send(), reads whatever acks arrived, tops up again. rate = acks / (first write
//          -> last ack). fill is the same, under another name (run_js.sh pre-fills with it).
//   sync:  one in flight: publish, wait for the ack, repeat. Ack latency percentiles (from
//          before the PUB write until the ack is read), after a warm-up of min(100, N/10).
// Every ack payload is looked at: one that holds "error" is counted in errors= (and the first
// one is printed to stderr); last_seq= is the highest "seq" acknowledged, which on a fresh
// stream must equal the number of messages.
//
// Consuming (pull, workqueue): the stream must already hold --msgs messages (fill). A durable
// pull consumer --consumer (ack explicit, other fields default) is deleted and created again;
// then --workers connections (CONNECT with headers, each subscribed to _INBOX.c<k>.*) each keep
// one pull request {"batch":B,"expires":E} outstanding, ack every message with a plain
// `PUB <$JS.ACK reply> 0` (acks of one read() and the next pull in one write), and send the
// next pull when B messages came or a status reply (408 at expiry, ...) ended the request.
// rate = msgs / (first pull -> all workers together got msgs messages and each worker's
// PING after its last ack got its PONG). Afterwards (not timed) consumer info must show
// num_ack_pending 0 and an ack floor >= msgs; for workqueue the stream must be empty. Then
// the consumer is deleted. pull and workqueue are the same code; workqueue only differs in
// what it checks (run_js.sh runs it with 4 workers on a workqueue-retention stream).
//
// Payloads: fixed (--size bytes of 'x'), or telemetry: JSON lines such as
//   {"host":"web-17","metric":"cpu.user","ts":1732363200123,"value":42.7,"unit":"percent",
//    "tags":{"dc":"eu-1","rack":"r12"}}
// from a fixed-seed generator, so both servers store the same bytes (~110-140 B each).
//
// Output (stdout, key=value, parsed by bench/run_js.sh):
//   RESULT workload=async msgs=... acked=... errors=0 last_seq=... elapsed_s=... rate=... payload_avg=...
//   RESULT workload=sync  msgs=... acked=... errors=0 rate=... p50_us=... p90_us=... p99_us=... ...
//   RESULT workload=pull msgs=... batch=... workers=... delivered=... redelivered=... statuses=...
//          bad_payloads=0 elapsed_s=... rate=... ack_pending=0 ack_floor=... remaining=... ops=...
//   (bad_payloads: deliveries whose payload is not --size bytes; any fails the run, as does
//   ack_pending != 0, an ack floor below msgs, or, for workqueue, remaining != 0)
//   RESULT workload=fsync count=200 p50_us=... p90_us=... p99_us=... mean_us=... max_us=... gap_us=0

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <cxxopts.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/raw_conn.h"

namespace tern::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Blocking write of all of data to a socket. Exits on error.
void write_fd(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die(std::string("write: ") + std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
}

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
  // Consumer workloads (pull, workqueue) and the fill that precedes them.
  std::string stream = "BENCH";
  std::string retention;  // empty: the default (limits); "workqueue" for the workqueue stream
  uint64_t batch = 100;   // messages per pull request
  int workers = 1;        // consumer connections pulling from the one durable consumer
  uint64_t expires_ms = 5000;
  std::string consumer = "C";
};

// The subjects of the bench stream: BENCH keeps bench.js.> (the stream-publish groups, the
// README); another stream NAME captures bench.<name in lower case>.>, so streams never overlap.
std::string subject_prefix(const Config& cfg) {
  if (cfg.stream == "BENCH") return "bench.js";
  std::string p = "bench.";
  for (char c : cfg.stream) p += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return p;
}

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
  (void)request(conn, rd, "$JS.API.STREAM.DELETE." + cfg.stream, "");
  std::string body = R"({"name":")" + cfg.stream + R"(","subjects":[")" + subject_prefix(cfg) + R"(.>"],"storage":"file")";
  if (!cfg.compression.empty()) body += R"(,"compression":")" + cfg.compression + "\"";
  if (!cfg.retention.empty()) body += R"(,"retention":")" + cfg.retention + "\"";
  body += "}";
  const std::string answer = request(conn, rd, "$JS.API.STREAM.CREATE." + cfg.stream, body);
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

void append_pub(std::string& out, std::string_view prefix, uint64_t i, std::string_view payload) {
  out += "PUB ";
  out += prefix;
  out += ".x _INBOX.b.";
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
  const std::string prefix = subject_prefix(cfg);
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
        append_pub(out, prefix, sent + j, p);
      }
      conn.write_all(out);
      sent += k;
    }
    if (!rd.read_and_scan(acks)) die("server closed the connection");
  }
  const double el = seconds(Clock::now() - t0);
  std::printf(
      "RESULT workload=%s msgs=%llu acked=%llu errors=%llu last_seq=%llu window=%llu elapsed_s=%.6f rate=%.0f "
      "payload_avg=%.1f ops=%llu\n",
      cfg.workload.c_str(), static_cast<unsigned long long>(cfg.msgs), static_cast<unsigned long long>(acks.count),
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
    append_pub(out, subject_prefix(cfg), i, payloads.next());
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

// ---- consumer workloads: pull and workqueue --------------------------------------------

// Opens a TCP connection for a consumer worker and does the handshake itself rather than
// through RawConn: pull status replies (408 Request Timeout, ...) are HMSG, which a server
// sends only to clients that announce "headers":true. Subscribes to `subscribe` (sid 1) and
// returns after the PONG, so the subscription is live. Blocking socket.
int connect_js(const Config& cfg, std::string_view name, std::string_view subscribe) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(cfg.host.c_str(), std::to_string(cfg.port).c_str(), &hints, &res) != 0 || res == nullptr)
    die("cannot resolve " + cfg.host);
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd >= 0 && ::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) die("cannot connect to " + cfg.host + ":" + std::to_string(cfg.port));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string hello = R"(CONNECT {"verbose":false,"pedantic":false,"lang":"c++","version":"0.1","protocol":1,)";
  hello += R"("headers":true,"no_responders":true,"echo":true,"name":")";
  hello += name;
  hello += "\"}\r\nSUB ";
  hello += subscribe;
  hello += " 1\r\nPING\r\n";
  // INFO comes first; the PONG after it answers our PING. Nothing else can arrive before.
  std::string in;
  char buf[4096];
  while (in.find("PONG\r\n") == std::string::npos) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) die("server closed the connection during the handshake");
    in.append(buf, static_cast<size_t>(n));
    if (in.find("-ERR") != std::string::npos) die("server said " + in.substr(in.find("-ERR")));
    if (!hello.empty() && in.find("\r\n") != std::string::npos) {  // INFO is in: say hello
      write_fd(fd, hello);
      hello.clear();
    }
  }
  return fd;
}

// One MSG or HMSG frame; views into the reader's buffer, valid during the callback.
struct Frame {
  std::string_view subject, reply, headers, payload;
};

// Reads server -> client bytes and hands out whole MSG/HMSG frames with reply subject and
// headers (AckReader keeps only payloads). Answers PINGs, counts PONGs.
class FrameReader {
 public:
  explicit FrameReader(int fd) : fd_(fd), buf_(1024 * 1024) {}

  // Waits up to timeout_ms for data, reads once, and calls on_frame(const Frame&) for every
  // complete frame. Returns false when nothing came within timeout_ms. Exits on EOF/-ERR.
  template <class OnFrame>
  bool read_and_scan(int timeout_ms, OnFrame&& on_frame) {
    pollfd pfd{fd_, POLLIN, 0};
    const int r = ::poll(&pfd, 1, timeout_ms);
    if (r == 0) return false;
    if (r < 0 && errno == EINTR) return false;
    if (end_ == buf_.size()) die("frame reader: frame larger than the buffer");
    ssize_t n;
    do {
      n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    } while (n < 0 && errno == EINTR);
    if (n < 0) die(std::string("read: ") + std::strerror(errno));
    if (n == 0) die("server closed the connection");
    end_ += static_cast<size_t>(n);
    const char* p = buf_.data();
    const char* const e = buf_.data() + end_;
    std::string_view tok[6];
    while (p < e) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(e - p)));
      if (nl == nullptr) break;
      std::string_view line(p, static_cast<size_t>(nl - p));
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const bool hmsg = line.starts_with("HMSG ");
      if (hmsg || line.starts_with("MSG ")) {
        // MSG <subject> <sid> [reply] <size> / HMSG <subject> <sid> [reply] <hdr size> <total size>
        size_t nt = 0;
        for (size_t i = 0; i < line.size() && nt < 6;) {
          const size_t sp = line.find(' ', i);
          const size_t end = sp == std::string_view::npos ? line.size() : sp;
          if (end > i) tok[nt++] = line.substr(i, end - i);
          i = end + 1;
        }
        const size_t want = hmsg ? 5 : 4;  // tokens without a reply subject
        if (nt != want && nt != want + 1) die("bad frame: " + std::string(line));
        const bool has_reply = nt == want + 1;
        const size_t total = to_u64(tok[nt - 1]);
        const size_t hdr = hmsg ? to_u64(tok[nt - 2]) : 0;
        if (static_cast<size_t>(e - (nl + 1)) < total + 2) break;  // payload not all here yet
        Frame f{tok[1], has_reply ? tok[3] : std::string_view(), std::string_view(nl + 1, hdr),
                std::string_view(nl + 1 + hdr, total - hdr)};
        on_frame(f);
        p = nl + 1 + total + 2;
        continue;
      }
      if (line.starts_with("PING")) {
        write_fd(fd_, "PONG\r\n");
      } else if (line.starts_with("PONG")) {
        ++pongs_;
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

  uint64_t pongs() const { return pongs_; }

 private:
  static size_t to_u64(std::string_view s) {
    size_t v = 0;
    for (char c : s) v = v * 10 + static_cast<size_t>(c - '0');
    return v;
  }
  int fd_;
  std::vector<char> buf_;
  size_t end_ = 0;
  uint64_t pongs_ = 0;
};

// State the consumer workers share inside this process (no protocol traffic): how many
// deliveries there were in all, so every worker knows when the stream has been consumed.
struct PullShared {
  uint64_t target = 0;
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> redelivered{0};
  std::atomic<uint64_t> statuses{0};
  std::atomic<uint64_t> bad_payloads{0};  // not --size bytes: the server did not deliver what was stored
  std::atomic<bool> done{false};
  std::atomic<int64_t> last_activity_ns{0};
};

int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

// The 5th token of $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>: the
// delivery count, "1" on a first delivery.
bool first_delivery(std::string_view ack) {
  for (int i = 0; i < 4; ++i) {
    const size_t dot = ack.find('.');
    if (dot == std::string_view::npos) return true;
    ack.remove_prefix(dot + 1);
  }
  return ack.starts_with("1.");
}

// One worker: pulls {"batch":B,"expires":E} on its own connection, acks every message with a
// plain PUB to its $JS.ACK reply (no reply subject: no ack-ack), and sends the next pull when the
// previous one is done (B messages, or a status reply such as 408 at expiry) — one request
// outstanding at a time, as a nats.go Fetch loop does. The acks of one read() and the next pull
// go out in one write. Returns when all workers together have received `target` messages and
// this worker's acks have been read by the server (PING/PONG after the last ack).
Clock::time_point pull_worker(const Config& cfg, int fd, int id, PullShared& sh) {
  FrameReader rd(fd);
  const std::string next_subject = "$JS.API.CONSUMER.MSG.NEXT." + cfg.stream + "." + cfg.consumer;
  const std::string body =
      R"({"batch":)" + std::to_string(cfg.batch) + R"(,"expires":)" + std::to_string(cfg.expires_ms * 1000000) + "}";
  const std::string inbox = "_INBOX.c" + std::to_string(id) + ".";
  std::string out;
  out.reserve(1 << 20);
  uint64_t requests = 0, in_request = 0;
  auto add_pull = [&] {
    out += "PUB ";
    out += next_subject;
    out += ' ';
    out += inbox;
    out += std::to_string(requests++);
    out += ' ';
    out += std::to_string(body.size());
    out += "\r\n";
    out += body;
    out += "\r\n";
    in_request = 0;
  };
  add_pull();
  write_fd(fd, out);
  out.clear();
  bool request_over = false;
  while (!sh.done.load(std::memory_order_relaxed)) {
    const bool got = rd.read_and_scan(20, [&](const Frame& f) {
      if (f.reply.starts_with("$JS.ACK.")) {
        out += "PUB ";
        out += f.reply;
        out += " 0\r\n\r\n";
        if (!first_delivery(f.reply)) sh.redelivered.fetch_add(1, std::memory_order_relaxed);
        if (f.payload.size() != cfg.size) sh.bad_payloads.fetch_add(1, std::memory_order_relaxed);
        if (++in_request == cfg.batch) request_over = true;
        if (sh.delivered.fetch_add(1, std::memory_order_relaxed) + 1 >= sh.target)
          sh.done.store(true, std::memory_order_relaxed);
      } else if (f.headers.starts_with("NATS/1.0")) {  // 404/408/409 status: this pull is over
        sh.statuses.fetch_add(1, std::memory_order_relaxed);
        request_over = true;
      }
    });
    if (got) {
      sh.last_activity_ns.store(now_ns(), std::memory_order_relaxed);
    } else if (static_cast<double>(now_ns() - sh.last_activity_ns.load(std::memory_order_relaxed)) / 1e9 >
               cfg.timeout_s) {
      die("worker " + std::to_string(id) + ": no message from the server within --timeout");
    }
    if (request_over && !sh.done.load(std::memory_order_relaxed)) {
      add_pull();
      request_over = false;
    }
    if (!out.empty()) {
      write_fd(fd, out);
      out.clear();
    }
  }
  // Frames that arrive from now on (another worker took the last message) are not acked:
  // the run is over; a leftover pull request expires on its own.
  const uint64_t want = rd.pongs() + 1;
  write_fd(fd, "PING\r\n");
  const auto deadline = Clock::now() + std::chrono::duration<double>(cfg.timeout_s);
  while (rd.pongs() < want) {
    rd.read_and_scan(20, [](const Frame&) {});
    if (Clock::now() > deadline) die("no PONG after the last ack");
  }
  return Clock::now();
}

// A number after "key": in a JSON answer (the first one), or -1.
int64_t json_number(std::string_view json, std::string_view key, size_t from = 0) {
  const std::string k = "\"" + std::string(key) + "\":";
  const size_t at = json.find(k, from);
  if (at == std::string_view::npos) return -1;
  return std::strtoll(json.data() + at + k.size(), nullptr, 10);
}

int run_pull(const Config& cfg) {
  const bool workqueue = cfg.workload == "workqueue";
  RawConn conn;
  conn.open(cfg.host, cfg.port, "bench-js-control", "_INBOX.b.*");
  AckReader rd(conn.fd(), cfg.timeout_s);
  const std::string si = request(conn, rd, "$JS.API.STREAM.INFO." + cfg.stream, "");
  const int64_t stored = json_number(si, "messages");
  if (stored < static_cast<int64_t>(cfg.msgs))
    die("stream " + cfg.stream + " holds " + std::to_string(stored) + " messages, fewer than --msgs (fill it first: " +
        "--workload fill); its info: " + si);

  // A fresh durable pull consumer with explicit acks (default ack_wait 30 s, max_ack_pending 1000).
  (void)request(conn, rd, "$JS.API.CONSUMER.DELETE." + cfg.stream + "." + cfg.consumer, "");
  const std::string create = R"({"stream_name":")" + cfg.stream + R"(","config":{"durable_name":")" + cfg.consumer +
                             R"(","ack_policy":"explicit","deliver_policy":"all"}})";
  const std::string ci0 =
      request(conn, rd, "$JS.API.CONSUMER.DURABLE.CREATE." + cfg.stream + "." + cfg.consumer, create);
  if (ci0.find("\"error\"") != std::string::npos) die("consumer create failed: " + ci0);

  PullShared sh;
  sh.target = cfg.msgs;
  std::vector<int> fds;
  for (int w = 0; w < cfg.workers; ++w)
    fds.push_back(connect_js(cfg, "bench-js-worker-" + std::to_string(w), "_INBOX.c" + std::to_string(w) + ".*"));
  std::vector<Clock::time_point> ends(static_cast<size_t>(cfg.workers));
  sh.last_activity_ns = now_ns();
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < cfg.workers; ++w)
    threads.emplace_back([&, w] { ends[static_cast<size_t>(w)] = pull_worker(cfg, fds[static_cast<size_t>(w)], w, sh); });
  for (auto& t : threads) t.join();
  const auto t1 = *std::max_element(ends.begin(), ends.end());
  const double el = seconds(t1 - t0);

  // Check (not timed): every ack arrived; a workqueue stream is empty. Polled briefly, since a
  // server may process acks after it answered the PING.
  int64_t ack_pending = -1, floor = -1, remaining = -1;
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  for (;;) {
    const std::string ci = request(conn, rd, "$JS.API.CONSUMER.INFO." + cfg.stream + "." + cfg.consumer, "");
    ack_pending = json_number(ci, "num_ack_pending");
    const size_t af = ci.find("\"ack_floor\"");
    floor = af == std::string::npos ? -1 : json_number(ci, "stream_seq", af);
    remaining = json_number(request(conn, rd, "$JS.API.STREAM.INFO." + cfg.stream, ""), "messages");
    const bool ok = ack_pending == 0 && (workqueue ? remaining == 0 : floor >= static_cast<int64_t>(cfg.msgs));
    if (ok || Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  (void)request(conn, rd, "$JS.API.CONSUMER.DELETE." + cfg.stream + "." + cfg.consumer, "");
  for (int fd : fds) ::close(fd);

  std::printf(
      "RESULT workload=%s msgs=%llu batch=%llu workers=%d delivered=%llu redelivered=%llu statuses=%llu bad_payloads=%llu "
      "elapsed_s=%.6f rate=%.0f ack_pending=%lld ack_floor=%lld remaining=%lld ops=%llu\n",
      cfg.workload.c_str(), static_cast<unsigned long long>(cfg.msgs), static_cast<unsigned long long>(cfg.batch),
      cfg.workers, static_cast<unsigned long long>(sh.delivered.load()),
      static_cast<unsigned long long>(sh.redelivered.load()), static_cast<unsigned long long>(sh.statuses.load()),
      static_cast<unsigned long long>(sh.bad_payloads.load()), el,
      static_cast<double>(cfg.msgs) / el, static_cast<long long>(ack_pending), static_cast<long long>(floor),
      static_cast<long long>(remaining), static_cast<unsigned long long>(cfg.msgs));
  bool ok = ack_pending == 0 && sh.bad_payloads.load() == 0;
  if (sh.bad_payloads.load() != 0) std::fprintf(stderr, "tern-bench-js: payloads of the wrong size delivered\n");
  if (!ok) std::fprintf(stderr, "tern-bench-js: %lld acks still pending\n", static_cast<long long>(ack_pending));
  if (workqueue && remaining != 0) {
    std::fprintf(stderr, "tern-bench-js: the workqueue stream still holds %lld messages\n", static_cast<long long>(remaining));
    ok = false;
  }
  if (!workqueue && floor < static_cast<int64_t>(cfg.msgs)) {
    std::fprintf(stderr, "tern-bench-js: ack floor %lld, expected %llu\n", static_cast<long long>(floor),
                 static_cast<unsigned long long>(cfg.msgs));
    ok = false;
  }
  return ok ? 0 : 1;
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
  cxxopts::Options opts("tern-bench-js", "One JetStream workload (stream publish, pull consume) against one server; prints a RESULT line.");
  Config cfg;
  std::string fsync_dir;
  int fsync_count = 200;
  int fsync_gap_us = 0;
  // clang-format off
  opts.add_options()
    ("host", "server host", cxxopts::value(cfg.host)->default_value(cfg.host))
    ("p,port", "server port", cxxopts::value(cfg.port)->default_value("4222"))
    ("w,workload", "async | sync | fill | pull | workqueue | drop", cxxopts::value(cfg.workload))
    ("n,msgs", "messages published (acknowledged)", cxxopts::value(cfg.msgs)->default_value("200000"))
    ("window", "async: publishes in flight", cxxopts::value(cfg.window)->default_value("256"))
    ("s,size", "payload bytes (--payload fixed)", cxxopts::value(cfg.size)->default_value("128"))
    ("payload", "fixed | telemetry", cxxopts::value(cfg.payload)->default_value("fixed"))
    ("compression", "stream compression field (none, lz4, zstd); omitted when empty",
        cxxopts::value(cfg.compression)->default_value(""))
    ("stream", "stream name (async/sync/fill create it; pull/workqueue read it)", cxxopts::value(cfg.stream)->default_value("BENCH"))
    ("retention", "fill: stream retention (limits, workqueue); omitted when empty", cxxopts::value(cfg.retention)->default_value(""))
    ("batch", "pull/workqueue: messages per pull request", cxxopts::value(cfg.batch)->default_value("100"))
    ("workers", "pull/workqueue: worker connections on the one consumer", cxxopts::value(cfg.workers)->default_value("1"))
    ("expires-ms", "pull/workqueue: pull request expiry", cxxopts::value(cfg.expires_ms)->default_value("5000"))
    ("consumer", "pull/workqueue: durable consumer name (deleted and created again)", cxxopts::value(cfg.consumer)->default_value("C"))
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
  if (cfg.workload == "async" || cfg.workload == "fill") return run_async(cfg);
  if (cfg.workload == "sync") return run_sync(cfg);
  if (cfg.workload == "drop") {  // delete --stream (run_js.sh, between rounds); a missing stream is fine
    RawConn conn;
    conn.open(cfg.host, cfg.port, "bench-js-control", "_INBOX.b.*");
    AckReader rd(conn.fd(), cfg.timeout_s);
    (void)request(conn, rd, "$JS.API.STREAM.DELETE." + cfg.stream, "");
    return 0;
  }
  if (cfg.workload == "pull" || cfg.workload == "workqueue") {
    if (cfg.batch < 1 || cfg.workers < 1) die("--batch and --workers must be >= 1");
    return run_pull(cfg);
  }
  die("unknown --workload '" + cfg.workload + "' (async, sync, fill, pull, workqueue, drop)");
}
