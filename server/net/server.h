#pragma once
// tern-server's event loop: the listener, every client connection, and the end-of-turn
// flush. One libuv loop thread owns all of it, so the message path takes no locks.

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proto/status.h"
#include "server/auth/auth.h"
#include "server/config/options.h"
#include "server/core/router.h"

namespace tern::server {

class Connection;
class JetStream;
class Monitor;

// The protocol version Tern speaks, as nats clients read it from INFO "version" to choose
// API paths (jetstream-api spec section 3: a 2.9.x at or above 2.9.4).
inline constexpr const char* kNatsCompatVersion = "2.9.25";

struct ServerStats {
  uint64_t in_msgs = 0, in_bytes = 0, out_msgs = 0, out_bytes = 0;
  uint64_t slow_consumers = 0;
  uint64_t total_connections = 0;
};

class Server {
 public:
  explicit Server(Options opts);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. Error names the address.
  Status start();
  // Runs the loop until shutdown completes. Returns the process exit code.
  int run();
  // Stops accepting, flushes what is queued to every client, closes them, ends run().
  void shutdown();

  // For connections (loop thread only).
  const Options& options() const { return opts_; }
  Router& router() { return router_; }
  const Authenticator& authenticator() const { return auth_; }
  uv_loop_t* loop() { return loop_; }
  ServerStats& stats() { return stats_; }
  const std::string& server_id() const { return server_id_; }
  // INFO JSON without its closing brace; a connection appends client_id and client_ip.
  const std::string& info_prefix() const { return info_prefix_; }
  // Queue `c` for a flush at the end of this loop turn (coalesces all its output into one write).
  void mark_dirty(Connection* c);
  // All of c's handles are closed: destroy it.
  void release(Connection* c);
  size_t connection_count() const { return connections_.size(); }
  bool shutting_down() const { return shutting_down_; }
  int bound_port() const { return bound_port_; }

  // For the monitor's snapshot (server/monitor/snapshot.cpp; loop thread only).
  const std::unordered_map<Connection*, std::unique_ptr<Connection>>& connections() const { return connections_; }
  JetStream* jetstream() { return js_.get(); }
  int64_t start_ns() const { return start_ns_; }
  // The monitoring port actually bound (0: off).
  int monitor_port() const;

 private:
  static void on_new_connection(uv_stream_t* listener, int status);
  static void on_signal(uv_signal_t* h, int signum);
  static void on_check(uv_check_t* h);
  static void on_prepare(uv_prepare_t* h);
  void accept_one();
  void flush_dirty();
  void maybe_finish_shutdown();
  void build_info();
  Status start_monitor();

  Options opts_;
  uv_loop_t* loop_;
  uv_tcp_t listener_;
  uv_signal_t sigint_, sigterm_;
  uv_check_t flush_check_;      // after I/O callbacks: flush what reads produced
  uv_prepare_t flush_prepare_;  // before the loop blocks: flush what timers and write callbacks produced
  uv_timer_t shutdown_timer_;
  bool listening_ = false;
  bool shutting_down_ = false;
  bool handles_closed_ = false;
  int bound_port_ = 0;
  int64_t start_ns_ = 0;

  Router router_;
  std::unique_ptr<JetStream> js_;  // set when opts_.jetstream.enabled; destroyed before router_
  std::unique_ptr<Monitor> monitor_;  // set when opts_.http_port != 0; stopped first at shutdown
  Authenticator auth_;
  ServerStats stats_;
  std::string server_id_;
  std::string info_prefix_;
  uint64_t next_client_id_ = 1;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> dirty_;
};

}  // namespace tern::server
