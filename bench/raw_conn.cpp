#include "bench/raw_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace tern::bench {

void die(const std::string& what) {
  std::fprintf(stderr, "tern-bench-core: %s\n", what.c_str());
  std::exit(2);
}

static int connect_tcp(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port_s = std::to_string(port);
  if (getaddrinfo(host.c_str(), port_s.c_str(), &hints, &res) != 0 || res == nullptr) return -1;
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd >= 0) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

RawConn::~RawConn() { close_fd(); }

RawConn::RawConn(RawConn&& o) noexcept : fd_(std::exchange(o.fd_, -1)), scanner_(std::move(o.scanner_)) {}

RawConn& RawConn::operator=(RawConn&& o) noexcept {
  if (this != &o) {
    close_fd();
    fd_ = std::exchange(o.fd_, -1);
    scanner_ = std::move(o.scanner_);
  }
  return *this;
}

void RawConn::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RawConn::open(const std::string& host, int port, std::string_view name, std::string_view subscribe) {
  fd_ = connect_tcp(host, port);
  if (fd_ < 0) die("cannot connect to " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
  while (scanner_.infos() == 0) {
    if (read_some() == 0) die("server closed the connection before INFO");
    scanner_.scan();
  }
  std::string hello = "CONNECT {\"verbose\":false,\"pedantic\":false,\"lang\":\"c++\",\"version\":\"0.1\",";
  hello += "\"protocol\":1,\"echo\":true,\"name\":\"";
  hello += name;
  hello += "\"}\r\n";
  if (!subscribe.empty()) {
    hello += "SUB ";
    hello += subscribe;
    hello += " 1\r\n";
  }
  write_all(hello);
  flush();
}

void RawConn::set_nonblocking() {
  const int fl = ::fcntl(fd_, F_GETFL);
  ::fcntl(fd_, F_SETFL, fl | O_NONBLOCK);
}

void RawConn::write_all(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {  // a non-blocking socket: wait until writable
        pollfd pfd{fd_, POLLOUT, 0};
        ::poll(&pfd, 1, 1000);
        continue;
      }
      die(std::string("write: ") + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

ssize_t RawConn::read_some() {
  for (;;) {
    const ssize_t n = ::read(fd_, scanner_.write_ptr(), scanner_.write_space());
    if (n > 0) {
      scanner_.commit(static_cast<size_t>(n));
      return n;
    }
    if (n == 0) return 0;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return -1;
    die(std::string("read: ") + std::strerror(errno));
  }
}

void RawConn::flush() {
  const uint64_t want = scanner_.pongs() + 1;
  write_all("PING\r\n");
  while (scanner_.pongs() < want) {
    const ssize_t n = read_some();
    if (n == 0)
      die("server closed the connection" +
          (scanner_.last_error().empty() ? std::string() : " after " + scanner_.last_error()));
    if (n < 0) {  // non-blocking socket
      pollfd pfd{fd_, POLLIN, 0};
      ::poll(&pfd, 1, 1000);
      continue;
    }
    scanner_.scan();
    if (scanner_.errors() > 0) die("server said " + scanner_.last_error());
    if (!scanner_.protocol_problem().empty()) die(scanner_.protocol_problem());
    if (scanner_.pings_owed() > 0) {
      write_all("PONG\r\n");
      scanner_.pings_answered();
    }
  }
}

int pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    die(std::string("pick_free_port: ") + std::strerror(errno));
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool probe_server(const std::string& host, int port, int timeout_ms) {
  const int fd = connect_tcp(host, port);
  if (fd < 0) return false;
  pollfd pfd{fd, POLLIN, 0};
  bool ok = false;
  if (::poll(&pfd, 1, timeout_ms) == 1) {
    char b[5] = {};
    ok = ::read(fd, b, 4) == 4 && std::strncmp(b, "INFO", 4) == 0;
  }
  ::close(fd);
  return ok;
}

}  // namespace tern::bench
