#pragma once
// One client's TCP connection: reads and parses its ops, applies them, and buffers what
// it must send. All output produced in one loop turn leaves in one write (Server flushes
// dirty connections at the end of the turn); the outbound bytes are bounded by
// max_pending, past which the client is a slow consumer and is closed, as nats-server does.
//
// Threading: loop thread only. Lifetime: owned by Server; freed after every libuv handle
// it owns has closed (Server::release), never during a callback that may still use it.

#include <uv.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "proto/parser.h"
#include "proto/wire_errors.h"
#include "server/auth/auth.h"
#include "server/core/client.h"

namespace tern::server {

class Server;

enum class CloseReason {
  ClientClosed, ReadError, WriteError, ProtocolError, AuthViolation, AuthTimeout,
  SlowConsumerPending, SlowConsumerDeadline, StaleConnection, MaxConnections, MaxPayload,
  MaxControlLine, ServerShutdown,
};
const char* close_reason_text(CloseReason r);

class Connection final : public Client {
 public:
  Connection(Server& server, uint64_t id);
  ~Connection() override;

  uv_tcp_t* tcp() { return &tcp_; }
  uint64_t id() const { return id_; }

  // After accept: INFO, start reading, start timers.
  void start();
  // After accept when the server is full: INFO, -ERR 'maximum connections exceeded', close.
  void reject_max_connections();

  bool deliver(Subscription& sub, const Message& m) override;
  void auto_unsubscribe(Subscription& sub) override;
  bool echo() const override { return echo_; }

  // Hands queued output to the socket. Called by Server at the end of a loop turn.
  void flush();
  // Closes the connection; with flush_first, what is queued (an -ERR, say) is sent first.
  void close(CloseReason reason, bool flush_first);
  bool closed() const { return closed_; }

  bool dirty_ = false;  // in Server's flush list (managed by Server::mark_dirty/flush_dirty)

  // Read-only views for the monitor's snapshot (loop thread; server/monitor copies them).
  const std::string& name() const { return name_; }
  const std::string& lang() const { return lang_; }
  const std::string& version() const { return version_; }
  const std::string& user() const { return user_; }  // the authenticated CONNECT user
  const std::string& ip() const { return ip_; }
  int port() const { return port_; }
  int64_t start_ns() const { return start_ns_; }             // wall clock, when accepted
  uint64_t last_activity_ms() const { return last_activity_ms_; }  // uv_now() of the last read
  uint64_t rtt_ns() const { return rtt_ns_; }                // 0: not measured yet
  size_t pending_bytes() const;
  uint64_t in_msgs() const { return in_msgs_; }
  uint64_t in_bytes() const { return in_bytes_; }
  uint64_t out_msgs() const { return out_msgs_; }
  uint64_t out_bytes() const { return out_bytes_; }
  const std::unordered_map<std::string, std::unique_ptr<Subscription>>& subscriptions() const { return subs_; }

 private:
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_ping_timer(uv_timer_t* t);
  static void on_auth_timer(uv_timer_t* t);
  static void on_write_timer(uv_timer_t* t);
  static void on_handle_closed(uv_handle_t* h);

  void process_input();
  void handle_op(const proto::ParsedOp& op);
  void handle_parse_error(proto::ParseError e);
  void on_connect(std::string_view json);
  void on_pub(const proto::ParsedOp& op);
  void on_sub(const proto::ParsedOp& op);
  void on_unsub(const proto::ParsedOp& op);
  void send_no_responders(std::string_view reply);
  void remove_subscription(Subscription& sub);
  void fail(proto::WireError e, CloseReason reason);  // -ERR, then close
  void send(std::string_view bytes);
  void send_err(std::string_view text);
  void send_ok() { send("+OK\r\n"); }
  void start_ping_timer(uint64_t delay_ms);
  void arm_first_ping();
  void finish_close();
  std::string peer() const;

  Server& server_;
  const uint64_t id_;
  const bool trace_;  // -V: looked up once, not per message
  uv_tcp_t tcp_;
  uv_timer_t ping_timer_, auth_timer_, write_timer_;
  int open_handles_ = 0;
  bool handles_closing_ = false;  // uv_close() was called on every handle

  // Read side: in_[0, in_len_) holds bytes not yet consumed by the parser.
  proto::Parser parser_{proto::Parser::Side::Server};
  std::vector<char> in_;
  size_t in_len_ = 0;
  size_t needed_ = 0;  // bytes the op at the front of in_ needs, when known

  // Write side: out_ collects this turn's output; inflight_ is owned by a uv_write.
  std::string out_;
  std::string inflight_;
  size_t inflight_off_ = 0;
  uv_write_t write_req_;
  bool writing_ = false;

  // CONNECT state (server defaults until CONNECT arrives, protocol spec 2 rule 6).
  bool connected_ = false;  // a valid CONNECT was received
  bool verbose_ = true, pedantic_ = true, echo_ = true, headers_ = false, no_responders_ = false;
  std::string name_, lang_, version_, user_;
  std::unique_ptr<PermissionChecker> perms_;

  std::unordered_map<std::string, std::unique_ptr<Subscription>> subs_;  // by sid

  // Keepalive (protocol spec section 8).
  int pings_out_ = 0;
  uint64_t last_activity_ms_ = 0;
  uint64_t last_client_ping_ms_ = 0;
  uint64_t rtt_start_ms_ = 0;
  bool rtt_started_ = false;
  uint64_t rtt_ping_hr_ = 0;  // uv_hrtime() of the PING awaiting its PONG; 0: none
  uint64_t rtt_ns_ = 0;
  int64_t start_ns_ = 0;

  bool closed_ = false;
  bool close_after_write_ = false;
  std::string ip_;
  int port_ = 0;

  // Counters for monitoring.
  uint64_t in_msgs_ = 0, in_bytes_ = 0, out_msgs_ = 0, out_bytes_ = 0;
};

}  // namespace tern::server
