#pragma once
// A bare TCP connection to a NATS-protocol server, for the load generator only.
//
// Why not libnats or tern_client: a benchmark client must never be the bottleneck, so it
// writes pre-built batches of pipelined PUB frames with one send() each and reads MSG
// frames without copying payloads (see MsgScanner). It speaks only what the workloads
// need: INFO, CONNECT, SUB, PUB, PING/PONG, MSG/HMSG, +OK/-ERR.
//
// Threading: a RawConn is used by one thread at a time. Not copyable; movable.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/msg_scanner.h"

namespace tern::bench {

class RawConn {
 public:
  RawConn() = default;
  ~RawConn();
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;
  RawConn(RawConn&& o) noexcept;
  RawConn& operator=(RawConn&& o) noexcept;

  // Connects (TCP_NODELAY on), reads INFO, sends CONNECT (verbose and pedantic off, so no
  // +OK per PUB) and, when subscribe is not empty, "SUB <subject> 1"; then a PING and waits
  // for its PONG, so the subscription is live on the server when this returns.
  // Exits the process with a message on any failure: a benchmark cannot continue anyway.
  void open(const std::string& host, int port, std::string_view name, std::string_view subscribe = {});

  int fd() const { return fd_; }
  void set_nonblocking();

  // Blocking send of all of data (the socket must be blocking). Exits on error.
  void write_all(std::string_view data);

  // One read() into the scanner's buffer. Returns bytes read; 0 on EOF; -1 on EAGAIN.
  // Exits on other errors.
  ssize_t read_some();

  // PING, then read (blocking) until the matching PONG. MSGs that arrive meanwhile are
  // counted in scanner().
  void flush();

  MsgScanner& scanner() { return scanner_; }
  const MsgScanner& scanner() const { return scanner_; }

 private:
  void close_fd();

  int fd_ = -1;
  MsgScanner scanner_;
};

// Returns a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close).
int pick_free_port();

// True when a server on host:port accepts a connection and sends INFO within timeout_ms.
bool probe_server(const std::string& host, int port, int timeout_ms);

[[noreturn]] void die(const std::string& what);

}  // namespace tern::bench
