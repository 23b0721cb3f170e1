// Server-enforced limits over time (protocol spec sections 2, 6 and 8): slow consumers,
// stale connections and the auth timeout, as a client sees them on the wire.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/protocol_helpers.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

using namespace std::chrono_literals;
using namespace tern::test;
using Clock = std::chrono::steady_clock;

namespace {

// Up to 10 lines as they come (server PINGs included when auto-PONG is off), stopping at the
// first 3 s without one: bounded, in case the server keeps pinging forever.
Lines lines_until_quiet(RawClient& c) {
  Lines got;
  for (int i = 0; i < 10; ++i) {
    auto line = c.read_line(3s);
    if (!line) break;
    got.push_back(*line);
  }
  return got;
}

// A subscriber socket with a tiny receive buffer, set before connect() so the TCP window is
// small from the start; the test reads from it only when it chooses to, to play a consumer
// that has stopped reading. (RawClient cannot set socket options before connecting.)
class StalledReader {
 public:
  ~StalledReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connect(int port, int rcvbuf) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  bool send(const std::string& s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Reads until `token` has been received; false on timeout or close.
  bool read_until(const std::string& token, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (data_.find(token) == std::string::npos)
      if (!fill(deadline)) return false;
    return true;
  }
  // Reads everything until the server closes; false if it did not close in time.
  bool read_until_closed(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!eof_)
      if (!fill(deadline) && !eof_) return false;
    return true;
  }
  const std::string& data() const { return data_; }

 private:
  bool fill(Clock::time_point deadline) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (ms <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(ms)) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    data_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool eof_ = false;
  std::string data_;
};

}  // namespace

TEST_CASE("a slow consumer over max_pending is closed without any -ERR and the server keeps serving others",
          "[limits]") {
  ServerProcess s;
  // max_payload may not exceed max_pending (nats-server refuses to start otherwise).
  REQUIRE(s.start(with_config("max_pending: 100KB\nmax_payload: 100KB\n")));

  StalledReader slow;
  REQUIRE(slow.connect(s.port(), 4096));
  REQUIRE(slow.read_until("\r\n", 2s));  // INFO
  REQUIRE(slow.send(std::string("CONNECT ") + kQuiet + "\r\nSUB flood 1\r\nPING\r\n"));
  REQUIRE(slow.read_until("PONG\r\n", 2s));

  RawClient fast, pub;
  connect(fast, s);
  connect(pub, s);
  REQUIRE(fast.send("SUB other 1\r\n"));
  REQUIRE(until_pong(fast) == Lines{});

  // 40 messages of 60000 bytes (2.4 MB) to a subscriber that stopped reading. Messages this
  // big push its pending bytes over 100 KB within a couple of messages once its socket is full.
  const std::string msg = "PUB flood 60000\r\n" + std::string(60000, 'x') + "\r\n";
  std::string flood;
  for (int i = 0; i < 40; ++i) flood += msg;
  REQUIRE(pub.send(flood));
  // The publisher itself is not punished: its PING is answered.
  CHECK(until_pong(pub, 5s) == Lines{});

  // The slow subscriber: some messages, then a close with no -ERR at all.
  REQUIRE(slow.read_until_closed(4s));
  CHECK(slow.data().find("-ERR") == std::string::npos);
  CHECK(slow.data().find("MSG flood 1 60000\r\n") != std::string::npos);
  CHECK(slow.data().size() < flood.size());

  // Everyone else is still served.
  REQUIRE(pub.send("PUB other 2\r\nok\r\n"));
  CHECK(until_pong(pub) == Lines{});
  CHECK(until_pong(fast) == Lines{"MSG other 1 2", "ok"});
  RawClient late;
  CHECK(late.handshake(s.port(), kQuiet));
}

TEST_CASE("a subscriber whose socket stays full past write_deadline is closed without any -ERR", "[limits]") {
  ServerProcess s;
  // The pending limit stays far away (64 MB default): only the deadline can close it.
  REQUIRE(s.start(with_config("write_deadline: \"300ms\"\n")));

  StalledReader slow;
  REQUIRE(slow.connect(s.port(), 4096));
  REQUIRE(slow.read_until("\r\n", 2s));  // INFO
  REQUIRE(slow.send(std::string("CONNECT ") + kQuiet + "\r\nSUB flood 1\r\nPING\r\n"));
  REQUIRE(slow.read_until("PONG\r\n", 2s));

  RawClient pub;
  connect(pub, s);
  // 12 MB: more than the kernel's socket buffers hold, far less than max_pending.
  const std::string msg = "PUB flood 500000\r\n" + std::string(500000, 'x') + "\r\n";
  std::string flood;
  for (int i = 0; i < 24; ++i) flood += msg;
  auto t0 = Clock::now();
  REQUIRE(pub.send(flood));
  CHECK(until_pong(pub, 5s) == Lines{});
  // The stall is the thing under test: it must outlast the deadline before the reader drains.
  std::this_thread::sleep_for(1s);

  REQUIRE(slow.read_until_closed(5s));
  CHECK(seconds_since(t0) < 6.0);
  CHECK(slow.data().find("-ERR") == std::string::npos);
  CHECK(slow.data().find("MSG flood 1 500000\r\n") != std::string::npos);
  // The server is still there for everyone else.
  RawClient late;
  CHECK(late.handshake(s.port(), kQuiet));
}

TEST_CASE("a client that never answers PING gets -ERR 'Stale Connection' and is closed", "[limits]") {
  ServerProcess s;
  // Durations are written as strings with units, as in nats-server configs.
  REQUIRE(s.start(with_config("ping_interval: \"200ms\"\nping_max: 1\n")));
  RawClient c;
  c.set_auto_pong(false);
  REQUIRE(c.connect_and_read_info(s.port()));
  auto t0 = Clock::now();
  REQUIRE(c.send(std::string("CONNECT ") + kQuiet + "\r\nPING\r\n"));
  Lines got = lines_until_quiet(c);
  CHECK(c.wait_closed(1s));
  // ping_max 1: one PING may be outstanding; when the next one is due the server gives up.
  CHECK(got == Lines{"PONG", "PING", "-ERR 'Stale Connection'"});
  CHECK(seconds_since(t0) < 2.5);
}

TEST_CASE("ping_max: 2 allows two unanswered PINGs before 'Stale Connection'", "[limits]") {
  ServerProcess s;
  REQUIRE(s.start(with_config("ping_interval: \"200ms\"\nping_max: 2\n")));
  RawClient c;
  c.set_auto_pong(false);
  connect(c, s);
  Lines got = lines_until_quiet(c);
  CHECK(c.wait_closed(1s));
  CHECK(got == Lines{"PING", "PING", "-ERR 'Stale Connection'"});
}

TEST_CASE("a client that answers PINGs is kept alive past many ping intervals", "[limits]") {
  ServerProcess s;
  REQUIRE(s.start(with_config("ping_interval: \"200ms\"\nping_max: 1\n")));
  RawClient c;
  connect(c, s);
  // read_line answers every server PING; nothing else may arrive for over 5 intervals.
  CHECK(c.read_line(1200ms).value_or("<none>") == "<none>");
  CHECK(until_pong(c) == Lines{});
}

TEST_CASE("a client that never sends CONNECT gets -ERR 'Authentication Timeout' after the configured timeout",
          "[limits][auth]") {
  ServerProcess s;
  // authorization.timeout is in seconds and may be fractional.
  REQUIRE(s.start(with_config("authorization { token: \"s3cret\", timeout: 0.5 }\n")));
  RawClient c;
  REQUIRE(c.connect_and_read_info(s.port()));
  auto t0 = Clock::now();
  CHECK(output_until_close(c, 3s) == "-ERR 'Authentication Timeout'\r\n");
  double elapsed = seconds_since(t0);
  CHECK(elapsed > 0.3);
  CHECK(elapsed < 1.8);

  SECTION("a client that authenticates in time is not cut off") {
    RawClient ok;
    connect(ok, s, R"({"verbose":false,"auth_token":"s3cret"})");
    CHECK(ok.read_line(900ms).value_or("<none>") == "<none>");
    CHECK(until_pong(ok) == Lines{});
  }
}

TEST_CASE("the default auth timeout is 2 seconds", "[limits][auth]") {
  ServerProcess s;
  REQUIRE(s.start({"--auth", "s3cret"}));
  RawClient c;
  REQUIRE(c.connect_and_read_info(s.port()));
  auto t0 = Clock::now();
  CHECK(output_until_close(c, 4s) == "-ERR 'Authentication Timeout'\r\n");
  double elapsed = seconds_since(t0);
  CHECK(elapsed > 1.5);
  CHECK(elapsed < 3.5);
}
