#include "tests/support/raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <vector>

namespace tern::test {

RawClient::~RawClient() { close(); }

void RawClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawClient::connect(int port) {
  close();
  buf_.clear();
  eof_ = false;
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close();
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return true;
}

bool RawClient::connect_and_read_info(int port, std::string* info) {
  if (!connect(port)) return false;
  auto line = read_line(5s);
  if (!line || line->rfind("INFO ", 0) != 0) return false;
  if (info) *info = line->substr(5);
  return true;
}

bool RawClient::handshake(int port, const std::string& connect_json) {
  if (!connect_and_read_info(port)) return false;
  if (!send("CONNECT " + connect_json + "\r\nPING\r\n")) return false;
  for (int i = 0; i < 2; ++i) {
    auto line = read_line(5s);
    if (!line) return false;
    if (*line == "PONG") return true;
    if (*line != "+OK") return false;
  }
  return false;
}

bool RawClient::send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool RawClient::fill(std::chrono::steady_clock::time_point deadline) {
  if (fd_ < 0 || eof_) return false;
  auto now = std::chrono::steady_clock::now();
  if (now >= deadline) return false;
  pollfd p{fd_, POLLIN, 0};
  int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
  if (::poll(&p, 1, ms < 1 ? 1 : ms) <= 0) return false;
  char tmp[65536];
  ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

std::optional<std::string> RawClient::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t nl = buf_.find("\r\n");
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 2);
      if (auto_pong_ && line == "PING") {
        send("PONG\r\n");
        continue;
      }
      return line;
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

std::optional<std::string> RawClient::read_bytes(size_t n, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buf_.size() < n)
    if (!fill(deadline)) return std::nullopt;
  std::string out = buf_.substr(0, n);
  buf_.erase(0, n);
  return out;
}

std::optional<RawClient::Msg> RawClient::read_msg(std::chrono::milliseconds timeout) {
  auto line = read_line(timeout);
  if (!line) return std::nullopt;
  std::istringstream in(*line);
  std::vector<std::string> f;
  for (std::string w; in >> w;) f.push_back(w);
  Msg m;
  size_t hdr = 0, total = 0;
  if (f.size() >= 4 && f[0] == "MSG") {
    m.subject = f[1], m.sid = f[2];
    if (f.size() == 5) m.reply = f[3];
    total = std::stoul(f.back());
  } else if (f.size() >= 5 && f[0] == "HMSG") {
    m.has_headers = true;
    m.subject = f[1], m.sid = f[2];
    if (f.size() == 6) m.reply = f[3];
    hdr = std::stoul(f[f.size() - 2]);
    total = std::stoul(f.back());
  } else {
    return std::nullopt;
  }
  auto body = read_bytes(total + 2, timeout);
  if (!body || body->substr(total) != "\r\n") return std::nullopt;
  m.headers = body->substr(0, hdr);
  m.payload = body->substr(hdr, total - hdr);
  return m;
}

bool RawClient::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    if (!fill(deadline) && !eof_) return false;
  }
  return true;
}

std::string RawClient::drain(std::chrono::milliseconds quiet) {
  for (;;) {
    if (!fill(std::chrono::steady_clock::now() + quiet)) break;
  }
  std::string out;
  out.swap(buf_);
  return out;
}

}  // namespace tern::test
