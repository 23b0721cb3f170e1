#include "server/net/server.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <sys/statvfs.h>
#include <unistd.h>

#include <csignal>
#include <random>
#include <thread>

#include "server/monitor/monitor.h"
#include "server/net/connection.h"
#include "server/stream/jetstream.h"

namespace tern::server {

namespace {

constexpr int kListenBacklog = 1024;
constexpr uint64_t kShutdownGraceMs = 2000;  // how long shutdown waits for clients' queued output

// A 56-character id in the shape of nats-server's (an nkey public key: 'N' + base32).
std::string make_server_id() {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
  std::string id = "N";
  for (int i = 0; i < 55; ++i) id += kAlphabet[rng() % 32];
  return id;
}

// nats-server's defaults for `-js` without limits (jetstream.go, disk_avail.go): 75% of the
// machine's memory and 75% of the store's free disk space (1 TB if that cannot be read).
int64_t default_max_memory() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 256LL * 1024 * 1024;
  return static_cast<int64_t>(pages) * page / 4 * 3;
}

int64_t default_max_storage(const std::string& dir) {
  struct statvfs fs {};
  if (statvfs(dir.c_str(), &fs) != 0) return 1LL << 40;
  return static_cast<int64_t>(static_cast<uint64_t>(fs.f_bavail) * fs.f_bsize / 4 * 3);
}

}  // namespace

Server::Server(Options opts) : opts_(std::move(opts)), loop_(uv_default_loop()), auth_(opts_) {
  server_id_ = make_server_id();
  uv_tcp_init(loop_, &listener_);
  uv_signal_init(loop_, &sigint_);
  uv_signal_init(loop_, &sigterm_);
  uv_check_init(loop_, &flush_check_);
  uv_prepare_init(loop_, &flush_prepare_);
  uv_timer_init(loop_, &shutdown_timer_);
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&listener_), reinterpret_cast<uv_handle_t*>(&sigint_),
        reinterpret_cast<uv_handle_t*>(&sigterm_), reinterpret_cast<uv_handle_t*>(&flush_check_),
        reinterpret_cast<uv_handle_t*>(&flush_prepare_), reinterpret_cast<uv_handle_t*>(&shutdown_timer_)})
    h->data = this;
}

Server::~Server() {
  if (monitor_) monitor_->stop();  // start() failed after the monitor started, or run() never ran
  monitor_.reset();
  // Connections must be gone before the loop is closed.
  connections_.clear();
  js_.reset();
  uv_loop_close(loop_);
}

void Server::build_info() {
  nlohmann::ordered_json info;
  info["server_id"] = server_id_;
  info["server_name"] = opts_.server_name.empty() ? server_id_ : opts_.server_name;
  info["version"] = kNatsCompatVersion;
  info["proto"] = 1;
  info["go"] = std::string("tern ") + TERN_VERSION;
  info["host"] = opts_.host;
  info["port"] = bound_port_;
  info["headers"] = true;
  info["max_payload"] = opts_.max_payload;
  if (js_) info["jetstream"] = true;
  if (auth_.required()) info["auth_required"] = true;
  info["tern_version"] = TERN_VERSION;
  std::string s = info.dump();
  s.pop_back();  // drop '}' so each connection can append its own fields
  info_prefix_ = std::move(s);
}

Status Server::start() {
  // A peer that vanishes mid-write must be an EPIPE error on that connection, not a signal
  // that kills the server; libuv leaves SIGPIPE to the application.
  ::signal(SIGPIPE, SIG_IGN);
  sockaddr_storage addr{};
  std::string host = opts_.host.empty() ? "0.0.0.0" : opts_.host;
  if (host.find(':') != std::string::npos) {
    if (uv_ip6_addr(host.c_str(), opts_.port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0)
      return Status::error("invalid listen address " + host);
  } else if (uv_ip4_addr(host.c_str(), opts_.port, reinterpret_cast<sockaddr_in*>(&addr)) != 0) {
    return Status::error("invalid listen address " + host);
  }
  std::string where = host + ":" + std::to_string(opts_.port);
  if (int rc = uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&addr), 0); rc != 0)
    return Status::error("cannot listen on " + where + ": " + uv_strerror(rc));
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  bound_port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (opts_.jetstream.enabled) {
    js_ = std::make_unique<JetStream>(loop_, router_, opts_.jetstream);
    if (auto st = js_->start(); !st) return st;
  }
  build_info();
  start_ns_ = now_ns();
  // The monitor answers before clients are accepted, as nats-server's does: whoever sees the
  // client port open can query it.
  if (opts_.http_port != 0) {
    if (auto st = start_monitor(); !st) return st;
  }
  if (int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), kListenBacklog, on_new_connection); rc != 0)
    return Status::error("cannot listen on " + where + ": " + uv_strerror(rc));
  listening_ = true;

  uv_signal_start(&sigint_, on_signal, SIGINT);
  uv_signal_start(&sigterm_, on_signal, SIGTERM);
  uv_check_start(&flush_check_, on_check);
  uv_prepare_start(&flush_prepare_, on_prepare);

  spdlog::info("Starting tern-server");
  spdlog::info("  Version:  {} (NATS protocol {})", TERN_VERSION, kNatsCompatVersion);
  spdlog::info("  ID:       {}", server_id_);
  if (!opts_.config_file.empty()) spdlog::info("Using configuration file: {}", opts_.config_file);
  if (monitor_) spdlog::info("Starting http monitor on {}:{}", opts_.http_host.empty() ? host : opts_.http_host, monitor_->port());
  spdlog::info("Listening for client connections on {}:{}", host, bound_port_);
  spdlog::info("Server is ready");
  return Status::ok();
}

Status Server::start_monitor() {
  MonitorIdentity id;
  id.server_id = server_id_;
  id.server_name = opts_.server_name.empty() ? server_id_ : opts_.server_name;
  id.version = kNatsCompatVersion;
  id.go = std::string("tern ") + TERN_VERSION;  // as INFO says it
  id.host = opts_.host;
  id.port = bound_port_;
  id.opts = opts_;
  id.start_ns = start_ns_;
  if (js_) {
    id.jetstream = true;
    id.js_store_dir = js_->root();
    const JetStreamOptions& j = opts_.jetstream;
    id.js_max_memory = j.max_memory_store >= 0 ? j.max_memory_store : default_max_memory();
    id.js_max_storage = j.max_file_store >= 0 ? j.max_file_store : default_max_storage(js_->root());
  }
  monitor_ = std::make_unique<Monitor>(loop_, std::move(id),
                                       [this](const MonitorQuery& q) { return collect_snapshot(*this, q); });
  return monitor_->start();
}

int Server::monitor_port() const { return monitor_ ? monitor_->port() : 0; }

int Server::run() {
  uv_run(loop_, UV_RUN_DEFAULT);
  spdlog::info("Server Exiting..");
  return 0;
}

void Server::on_signal(uv_signal_t* h, int signum) {
  auto* s = static_cast<Server*>(h->data);
  spdlog::info("Trapped \"{}\" signal", signum == SIGINT ? "interrupt" : "terminated");
  s->shutdown();
}

void Server::shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  // First: no request may wait on a loop that is about to stop answering.
  if (monitor_) monitor_->stop();
  if (listening_) uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  listening_ = false;
  uv_signal_stop(&sigint_);
  uv_signal_stop(&sigterm_);
  // Before the connections close: the last acks it releases still reach their clients.
  if (js_) js_->shutdown();
  // Copy: close() may release connections synchronously in the future.
  std::vector<Connection*> conns;
  for (auto& [p, c] : connections_) conns.push_back(p);
  for (Connection* c : conns) c->close(CloseReason::ServerShutdown, true);
  uv_timer_start(
      &shutdown_timer_,
      [](uv_timer_t* t) {
        auto* s = static_cast<Server*>(t->data);
        spdlog::warn("Shutdown grace period passed with {} clients still closing", s->connections_.size());
        uv_stop(s->loop_);
      },
      kShutdownGraceMs, 0);
  maybe_finish_shutdown();
}

void Server::maybe_finish_shutdown() {
  if (!shutting_down_ || !connections_.empty() || handles_closed_) return;
  handles_closed_ = true;
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&sigint_), reinterpret_cast<uv_handle_t*>(&sigterm_),
                         reinterpret_cast<uv_handle_t*>(&flush_check_),
                         reinterpret_cast<uv_handle_t*>(&flush_prepare_),
                         reinterpret_cast<uv_handle_t*>(&shutdown_timer_)})
    uv_close(h, nullptr);
}

void Server::on_new_connection(uv_stream_t* listener, int status) {
  auto* s = static_cast<Server*>(listener->data);
  if (status < 0) {
    spdlog::error("Error accepting client connection: {}", uv_strerror(status));
    return;
  }
  s->accept_one();
}

void Server::accept_one() {
  auto conn = std::make_unique<Connection>(*this, next_client_id_++);
  Connection* c = conn.get();
  connections_.emplace(c, std::move(conn));
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(c->tcp())) != 0) {
    c->close(CloseReason::ReadError, false);
    return;
  }
  ++stats_.total_connections;
  if (connections_.size() > static_cast<size_t>(opts_.max_connections)) {
    spdlog::info("Maximum connections of {} exceeded", opts_.max_connections);
    c->reject_max_connections();
    return;
  }
  c->start();
}

void Server::mark_dirty(Connection* c) {
  if (c->dirty_) return;
  c->dirty_ = true;
  dirty_.push_back(c);
}

void Server::on_check(uv_check_t* h) { static_cast<Server*>(h->data)->flush_dirty(); }
void Server::on_prepare(uv_prepare_t* h) { static_cast<Server*>(h->data)->flush_dirty(); }

void Server::flush_dirty() {
  // Runs once per loop turn, after all reads: each connection's output leaves in one write.
  // A flush never adds to dirty_, but index-walk anyway in case it ever does.
  for (size_t i = 0; i < dirty_.size(); ++i) {
    Connection* c = dirty_[i];
    c->dirty_ = false;
    c->flush();
  }
  dirty_.clear();
}

void Server::release(Connection* c) {
  if (c->dirty_) {
    // Closed before its flush ran; drop it from the flush list.
    std::erase(dirty_, c);
  }
  connections_.erase(c);
  maybe_finish_shutdown();
}

}  // namespace tern::server
