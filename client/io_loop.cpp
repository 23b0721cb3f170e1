// The I/O thread's half of tern::Connection: the private libuv loop, connecting and the
// handshake, reading and parsing, writing, keep-alive, reconnecting and the final close.
// Everything here runs on the I/O thread, except start() (the caller of connect()).

#include <pthread.h>
#include <csignal>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <nlohmann/json.hpp>

#include "client/connection_impl.h"
#include "proto/headers.h"
#include "tern/errors.h"

namespace tern::detail {
namespace {

// One uv_write and the bytes it sends (alive until its callback).
struct WriteReq {
  uv_write_t req{};
  std::string data;
  Transport* tp = nullptr;
  bool batch = false;  // a batch of out_ (vs. CONNECT/PONG written directly)
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view strip_quotes(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '\'' && s.back() == '\'') return s.substr(1, s.size() - 2);
  return s;
}

const char* kVersion = "0.1.0";

}  // namespace

// ---------------------------------------------------------------- start (caller's thread)

Status ConnectionImpl::start() {
  if (int r = uv_loop_init(&loop_); r < 0)
    return make_error(ErrorCode::ConnectionFailed, std::string("cannot create an event loop: ") + uv_strerror(r));
  uv_async_init(&loop_, &wake_, on_wake);
  for (uv_timer_t* t : {&attempt_timer_, &reconnect_timer_, &ping_timer_, &guard_timer_}) uv_timer_init(&loop_, t);
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&wake_), reinterpret_cast<uv_handle_t*>(&attempt_timer_),
                         reinterpret_cast<uv_handle_t*>(&reconnect_timer_),
                         reinterpret_cast<uv_handle_t*>(&ping_timer_), reinterpret_cast<uv_handle_t*>(&guard_timer_)})
    h->data = this;
  {
    std::lock_guard lock(mu_);
    wake_open_ = true;
  }
  io_thread_ = std::thread([this] { io_main(); });
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return connect_done_; });
  Status st = connect_status_;
  lock.unlock();
  if (!st) {
    std::lock_guard join(join_mu_);
    io_thread_.join();
  }
  return st;
}

void ConnectionImpl::io_main() {
  // A write to a socket the server closed raises SIGPIPE in the writing thread. Blocked on
  // this thread (the only one that writes), the write fails with EPIPE instead, and the
  // application's own SIGPIPE disposition is left alone.
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
  start_attempt();
  uv_run(&loop_, UV_RUN_DEFAULT);
  [[maybe_unused]] int r = uv_loop_close(&loop_);
  assert(r == 0 && "every handle is closed before the loop ends");
}

// ---------------------------------------------------------------- connecting

void ConnectionImpl::start_attempt() {
  const ServerAddr& addr = servers_.servers[server_index_ % servers_.servers.size()];
  // Blocking resolution on the I/O thread: there is no traffic to stall while connecting.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(addr.port);
  if (int r = ::getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &res); r != 0 || !res) {
    if (res) ::freeaddrinfo(res);
    attempt_failed(make_error(ErrorCode::ConnectionFailed,
                              "cannot resolve '" + addr.host + "': " + (r ? gai_strerror(r) : "no address")));
    return;
  }
  auto* tp = new Transport;
  tp->impl = this;
  tp->addr = addr;
  uv_tcp_init(&loop_, &tp->tcp);
  tp->tcp.data = tp;
  tp->connect_req.data = tp;
  tp_ = tp;
  int r = uv_tcp_connect(&tp->connect_req, &tp->tcp, res->ai_addr, on_connect);
  ::freeaddrinfo(res);
  if (r < 0) {
    attempt_failed(make_error(ErrorCode::ConnectionFailed, "connect to " + addr.display() + ": " + uv_strerror(r)));
    return;
  }
  uv_timer_start(&attempt_timer_, on_attempt_timeout, static_cast<uint64_t>(opts_.connect_timeout.count()), 0);
}

void ConnectionImpl::on_connect(uv_connect_t* req, int status) {
  auto* tp = static_cast<Transport*>(req->data);
  ConnectionImpl* self = tp->impl;
  if (tp != self->tp_) return;  // an abandoned attempt
  if (status < 0) {
    self->attempt_failed(
        make_error(ErrorCode::ConnectionFailed, "connect to " + tp->addr.display() + ": " + uv_strerror(status)));
    return;
  }
  uv_tcp_nodelay(&tp->tcp, 1);
  tp->phase = Transport::Phase::AwaitInfo;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tp->tcp), on_alloc, on_read);
}

void ConnectionImpl::on_attempt_timeout(uv_timer_t* t) {
  auto* self = static_cast<ConnectionImpl*>(t->data);
  if (!self->tp_) return;
  self->attempt_failed(
      make_error(ErrorCode::ConnectionFailed, "connect to " + self->tp_->addr.display() + " timed out after " +
                                                  std::to_string(self->opts_.connect_timeout.count()) + " ms"));
}

void ConnectionImpl::send_connect(Transport* tp) {
  nlohmann::json c;
  c["verbose"] = opts_.verbose;
  c["pedantic"] = opts_.pedantic;
  c["tls_required"] = false;
  c["lang"] = "cpp";
  c["version"] = kVersion;
  c["protocol"] = 1;
  c["echo"] = opts_.echo;
  c["headers"] = true;
  c["no_responders"] = true;
  if (!opts_.name.empty()) c["name"] = opts_.name;
  const std::string& user = opts_.user.empty() ? servers_.user : opts_.user;
  const std::string& pass = opts_.user.empty() ? servers_.password : opts_.password;
  const std::string& token = opts_.token.empty() ? servers_.token : opts_.token;
  if (!user.empty()) {
    c["user"] = user;
    c["pass"] = pass;
  }
  if (!token.empty()) c["auth_token"] = token;
  // Replace invalid UTF-8 rather than throw: no exception may leave the loop.
  std::string line = "CONNECT " + c.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\r\nPING\r\n";
  (void)tp;
  write_direct(std::move(line));
}

Status ConnectionImpl::apply_info(std::string_view text, bool& tls_required) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::ProtocolError, "server sent an INFO that is not a JSON object");
  ServerInfo info;
  try {
    info.server_id = j.value("server_id", "");
    info.server_name = j.value("server_name", "");
    info.version = j.value("version", "");
    info.host = j.value("host", "");
    info.port = j.value("port", 0);
    info.max_payload = j.value("max_payload", int64_t{0});
    info.client_id = j.value("client_id", uint64_t{0});
    info.headers = j.value("headers", false);
    info.auth_required = j.value("auth_required", false);
    info.jetstream = j.value("jetstream", false);
    tls_required = j.value("tls_required", false);
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::ProtocolError, std::string("server sent a malformed INFO: ") + e.what());
  }
  if (tp_) info.connected_url = tp_->addr.display();
  std::lock_guard lock(mu_);
  info_ = std::move(info);
  return Status::ok();
}

void ConnectionImpl::handshake_done() {
  uv_timer_stop(&attempt_timer_);
  tp_->phase = Transport::Phase::Open;
  {
    std::lock_guard lock(mu_);
    bool reconnected = ever_connected_;
    ever_connected_ = true;
    status_ = ConnectionStatus::Connected;
    pings_out_ = 0;
    if (reconnected) {
      // Every subscription again, in sid order, with what is left of its auto-unsubscribe
      // limit; then whatever was published while disconnected.
      std::string resub;
      for (const auto& [sid, sub] : subs_) {
        resub +=
            "SUB " + sub->subject + " " + (sub->queue.empty() ? "" : sub->queue + " ") + std::to_string(sid) + "\r\n";
        if (sub->max)
          resub += "UNSUB " + std::to_string(sid) + " " + std::to_string(sub->max - sub->delivered) + "\r\n";
      }
      out_.insert(0, resub);
      enqueue_event_locked(Event{Event::Kind::Reconnected, {}, {}, {}});
    } else {
      connect_done_ = true;
      connect_status_ = Status::ok();
      cv_.notify_all();
    }
  }
  reconnect_attempt_ = 0;
  uint64_t ping_ms = static_cast<uint64_t>(opts_.ping_interval.count());
  uv_timer_start(&ping_timer_, on_ping_timer_cb, ping_ms, ping_ms);
  write_pending();
}

void ConnectionImpl::attempt_failed(Status why) {
  uv_timer_stop(&attempt_timer_);
  close_transport(false);
  if (shutting_down_) return;
  // Keep the most telling reason: an auth or TLS refusal beats a later "connection refused".
  if (last_attempt_error_.is_ok() || error_code(why) != ErrorCode::ConnectionFailed ||
      error_code(last_attempt_error_) == ErrorCode::ConnectionFailed)
    last_attempt_error_ = why;
  bool initial;
  {
    std::lock_guard lock(mu_);
    initial = !ever_connected_;
  }
  if (initial) {
    if (++attempts_this_round_ < servers_.servers.size()) {
      ++server_index_;
      start_attempt();
      return;
    }
    close_for_good(last_attempt_error_);
    return;
  }
  schedule_reconnect();
}

// ---------------------------------------------------------------- losing and regaining the connection

void ConnectionImpl::connection_lost(Status why) {
  if (shutting_down_) return;
  uv_timer_stop(&ping_timer_);
  close_transport(false);
  bool draining;
  {
    std::lock_guard lock(mu_);
    draining = status_ == ConnectionStatus::Draining;
    for (auto& w : pongs_) {
      if (!w) continue;
      w->done = true;
      w->status = make_error(ErrorCode::Disconnected, "flush: connection lost");
    }
    pongs_.clear();
    pings_to_send_ = 0;
    pings_out_ = 0;
    // out_ keeps what was not written yet (publishes, SUB/UNSUB, which the server ignores
    // or which the resubscription repeats): it becomes the start of the reconnect buffer.
    status_ = ConnectionStatus::Reconnecting;
    enqueue_event_locked(Event{Event::Kind::Disconnected, {}, {}, {}});
    cv_.notify_all();
  }
  last_attempt_error_ = why;
  if (draining || !opts_.allow_reconnect) {
    close_for_good(why);
    return;
  }
  reconnect_attempt_ = 0;
  schedule_reconnect();
}

void ConnectionImpl::schedule_reconnect() {
  ++reconnect_attempt_;
  if (opts_.max_reconnect_attempts >= 0 && reconnect_attempt_ > opts_.max_reconnect_attempts) {
    close_for_good(make_error(ErrorCode::ConnectionFailed,
                              "gave up after " + std::to_string(opts_.max_reconnect_attempts) +
                                  " reconnect attempts; last error: " + last_attempt_error_.message()));
    return;
  }
  int64_t wait = opts_.reconnect_wait.count();
  int64_t cap = std::max(wait, static_cast<int64_t>(opts_.reconnect_wait_max.count()));
  int shift = std::min(reconnect_attempt_ - 1, 20);
  int64_t delay = std::min(cap, wait << shift);
  if (opts_.reconnect_jitter.count() > 0)
    delay += static_cast<int64_t>(jitter_rng_() % static_cast<uint64_t>(opts_.reconnect_jitter.count() + 1));
  uv_timer_start(&reconnect_timer_, on_reconnect_timer, static_cast<uint64_t>(delay), 0);
}

void ConnectionImpl::on_reconnect_timer(uv_timer_t* t) {
  auto* self = static_cast<ConnectionImpl*>(t->data);
  if (self->shutting_down_) return;
  ++self->server_index_;  // the next server in turn
  self->start_attempt();
}

void ConnectionImpl::on_ping_timer_cb(uv_timer_t* t) { static_cast<ConnectionImpl*>(t->data)->on_ping_timer(); }

void ConnectionImpl::on_ping_timer() {
  {
    std::unique_lock lock(mu_);
    if (status_ != ConnectionStatus::Connected && status_ != ConnectionStatus::Draining) return;
    if (pings_out_ + 1 > opts_.max_pings_out) {
      lock.unlock();
      connection_lost(make_error(ErrorCode::Disconnected,
                                 "stale connection: " + std::to_string(opts_.max_pings_out) + " PINGs unanswered"));
      return;
    }
    ++pings_out_;
    pongs_.push_back(nullptr);
    ++pings_to_send_;
  }
  write_pending();
}

// ---------------------------------------------------------------- closing

void ConnectionImpl::close_for_good(Status why) {
  if (shutting_down_) return;
  shutting_down_ = true;
  uv_timer_stop(&attempt_timer_);
  uv_timer_stop(&reconnect_timer_);
  uv_timer_stop(&ping_timer_);
  close_transport(/*graceful=*/why.is_ok());
  {
    std::lock_guard lock(mu_);
    status_ = ConnectionStatus::Closed;
    if (!why.is_ok()) last_error_ = why;
    for (auto& [sid, sub] : subs_) close_sub_locked(*sub);
    subs_.clear();
    for (auto& w : pongs_) {
      if (!w) continue;
      w->done = true;
      w->status = make_error(ErrorCode::Closed, "flush: connection closed");
    }
    pongs_.clear();
    wake_open_ = false;
    if (ever_connected_) enqueue_event_locked(Event{Event::Kind::Closed, {}, {}, {}});
    if (!connect_done_) {
      connect_done_ = true;
      connect_status_ = why.is_ok() ? make_error(ErrorCode::Closed, "closed while connecting") : why;
    }
    cv_.notify_all();
  }
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&wake_), reinterpret_cast<uv_handle_t*>(&attempt_timer_),
        reinterpret_cast<uv_handle_t*>(&reconnect_timer_), reinterpret_cast<uv_handle_t*>(&ping_timer_)})
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  if (closing_tp_)
    uv_timer_start(&guard_timer_, on_guard_timer, kCloseGraceMs, 0);
  else
    uv_close(reinterpret_cast<uv_handle_t*>(&guard_timer_), nullptr);
}

void ConnectionImpl::close_transport(bool graceful) {
  Transport* tp = tp_;
  tp_ = nullptr;
  if (!tp) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(&tp->tcp);
  if (graceful && tp->phase == Transport::Phase::Open) {
    // Best effort for the last publishes: write them, then shut the socket down once written.
    tp->phase = Transport::Phase::Closing;
    std::string rest;
    {
      std::lock_guard lock(mu_);
      rest.swap(out_);
      pings_to_send_ = 0;
    }
    uv_read_stop(stream);
    if (!rest.empty()) {
      auto* w = new WriteReq;
      w->data = std::move(rest);
      w->tp = tp;
      w->req.data = w;
      uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
      if (uv_write(&w->req, stream, &buf, 1, on_write) < 0) delete w;
    }
    tp->shutdown_req.data = tp;
    if (uv_shutdown(&tp->shutdown_req, stream, [](uv_shutdown_t* req, int) {
          auto* t = static_cast<Transport*>(req->data);
          if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&t->tcp)))
            uv_close(reinterpret_cast<uv_handle_t*>(&t->tcp), on_transport_closed);
        }) == 0) {
      closing_tp_ = tp;
      return;
    }
  }
  tp->phase = Transport::Phase::Closing;
  uv_read_stop(stream);
  uv_close(reinterpret_cast<uv_handle_t*>(&tp->tcp), on_transport_closed);
}

void ConnectionImpl::on_guard_timer(uv_timer_t* t) {
  auto* self = static_cast<ConnectionImpl*>(t->data);
  if (self->closing_tp_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&self->closing_tp_->tcp)))
    uv_close(reinterpret_cast<uv_handle_t*>(&self->closing_tp_->tcp), on_transport_closed);
}

void ConnectionImpl::on_transport_closed(uv_handle_t* h) {
  auto* tp = static_cast<Transport*>(h->data);
  ConnectionImpl* self = tp->impl;
  if (self->closing_tp_ == tp) {
    self->closing_tp_ = nullptr;
    auto* guard = reinterpret_cast<uv_handle_t*>(&self->guard_timer_);
    if (!uv_is_closing(guard)) uv_close(guard, nullptr);
  }
  delete tp;
}

void ConnectionImpl::on_wake(uv_async_t* h) {
  auto* self = static_cast<ConnectionImpl*>(h->data);
  bool closing;
  {
    std::lock_guard lock(self->mu_);
    closing = self->close_requested_;
  }
  if (closing)
    self->close_for_good(Status::ok());
  else
    self->write_pending();
}

// ---------------------------------------------------------------- writing

void ConnectionImpl::write_pending() {
  Transport* tp = tp_;
  if (!tp || tp->phase != Transport::Phase::Open || tp->write_in_flight) return;
  auto* w = new WriteReq;
  {
    std::lock_guard lock(mu_);
    w->data.swap(out_);
    for (; pings_to_send_ > 0; --pings_to_send_) w->data += "PING\r\n";
  }
  if (w->data.empty()) {
    delete w;
    return;
  }
  w->tp = tp;
  w->batch = true;
  w->req.data = w;
  tp->write_in_flight = true;
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  if (int r = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tp->tcp), &buf, 1, on_write); r < 0) {
    delete w;
    tp->write_in_flight = false;
    connection_lost(make_error(ErrorCode::Disconnected, "write to " + tp->addr.display() + ": " + uv_strerror(r)));
  }
}

void ConnectionImpl::write_direct(std::string data) {
  Transport* tp = tp_;
  if (!tp) return;
  auto* w = new WriteReq;
  w->data = std::move(data);
  w->tp = tp;
  w->req.data = w;
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  if (int r = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tp->tcp), &buf, 1, on_write); r < 0) {
    delete w;
    Status why = make_error(ErrorCode::Disconnected, "write to " + tp->addr.display() + ": " + uv_strerror(r));
    if (tp->phase == Transport::Phase::Open)
      connection_lost(why);
    else
      attempt_failed(why);
  }
}

void ConnectionImpl::on_write(uv_write_t* req, int status) {
  auto* w = static_cast<WriteReq*>(req->data);
  Transport* tp = w->tp;
  bool batch = w->batch;
  delete w;
  if (batch) tp->write_in_flight = false;
  ConnectionImpl* self = tp->impl;
  if (tp != self->tp_) return;  // closing: its writes end with ECANCELED
  if (status < 0) {
    Status why = make_error(ErrorCode::Disconnected, "write to " + tp->addr.display() + ": " + uv_strerror(status));
    if (tp->phase == Transport::Phase::Open)
      self->connection_lost(why);
    else
      self->attempt_failed(why);
    return;
  }
  if (batch) self->write_pending();
}

// ---------------------------------------------------------------- reading

void ConnectionImpl::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* tp = static_cast<Transport*>(h->data);
  *buf = uv_buf_init(tp->chunk, sizeof tp->chunk);
}

void ConnectionImpl::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* tp = static_cast<Transport*>(s->data);
  ConnectionImpl* self = tp->impl;
  if (tp != self->tp_ || nread == 0) return;
  if (nread < 0) {
    std::string what =
        tp->addr.display() +
        (nread == UV_EOF ? " closed the connection" : ": " + std::string(uv_strerror(static_cast<int>(nread))));
    if (tp->phase == Transport::Phase::Open)
      self->connection_lost(make_error(ErrorCode::Disconnected, "connection lost: " + what));
    else
      self->attempt_failed(make_error(ErrorCode::ConnectionFailed, "handshake failed: " + what));
    return;
  }
  self->on_read_bytes(tp, tp->chunk, static_cast<size_t>(nread));
}

void ConnectionImpl::on_read_bytes(Transport* tp, const char* data, size_t n) {
  tp->rbuf.append(data, n);
  size_t off = 0;
  while (off < tp->rbuf.size()) {
    proto::ParsedOp op;
    proto::ParseStep step = parser_.parse_one(std::string_view(tp->rbuf).substr(off), op);
    if (step.status == proto::ParseStatus::NeedMore) break;
    if (step.status == proto::ParseStatus::Error) {
      Status why = make_error(ErrorCode::ProtocolError, "cannot parse what " + tp->addr.display() + " sent");
      if (tp->phase == Transport::Phase::Open)
        connection_lost(why);
      else
        attempt_failed(why);
      return;
    }
    // The op's views point into rbuf: it is not touched until handle_op returns.
    if (!handle_op(tp, op)) return;  // the transport was closed; drop the rest
    off += step.consumed;
  }
  tp->rbuf.erase(0, off);
}

bool ConnectionImpl::handle_op(Transport* tp, const proto::ParsedOp& op) {
  using proto::Op;
  switch (op.op) {
    case Op::Info: {
      bool tls_required = false;
      if (Status st = apply_info(op.arg, tls_required); !st) {
        if (tp->phase == Transport::Phase::Open)
          connection_lost(st);
        else
          attempt_failed(st);
        return false;
      }
      if (tp->phase == Transport::Phase::AwaitInfo) {
        if (tls_required) {
          attempt_failed(make_error(ErrorCode::Unsupported, "server " + tp->addr.display() +
                                                                " requires TLS, which libtern does not support yet"));
          return false;
        }
        tp->phase = Transport::Phase::AwaitPong;
        send_connect(tp);
      }
      return tp_ == tp;
    }
    case Op::Ping:
      write_direct("PONG\r\n");
      return tp_ == tp;
    case Op::Pong:
      if (tp->phase == Transport::Phase::AwaitPong) {
        handshake_done();
        return tp_ == tp;
      }
      {
        std::lock_guard lock(mu_);
        pings_out_ = 0;
        if (!pongs_.empty()) {
          if (auto w = pongs_.front()) w->done = true;
          pongs_.pop_front();
          cv_.notify_all();
        }
      }
      return true;
    case Op::Ok:
      return true;
    case Op::Err: {
      std::string text(strip_quotes(op.arg));
      if (tp->phase != Transport::Phase::Open) {
        if (lower(text).find("authorization violation") != std::string::npos ||
            lower(text).find("authentication") != std::string::npos)
          attempt_failed(make_error(ErrorCode::AuthFailed,
                                    "server " + tp->addr.display() + " refused the credentials: '" + text + "'"));
        else
          attempt_failed(make_error(ErrorCode::ConnectionFailed, "server " + tp->addr.display() + ": '" + text + "'"));
        return false;
      }
      handle_server_error(text);
      return tp_ == tp;
    }
    case Op::Msg:
    case Op::Hmsg:
      if (tp->phase == Transport::Phase::Open) deliver(op);
      return true;
    default: {
      Status why = make_error(ErrorCode::ProtocolError, "unexpected op from " + tp->addr.display());
      if (tp->phase == Transport::Phase::Open)
        connection_lost(why);
      else
        attempt_failed(why);
      return false;
    }
  }
}

void ConnectionImpl::handle_server_error(std::string_view text) {
  std::string l = lower(text);
  std::string quoted = "'" + std::string(text) + "'";
  if (l.starts_with("permissions violation")) {
    std::lock_guard lock(mu_);
    enqueue_event_locked(Event{Event::Kind::Error, {}, {}, make_error(ErrorCode::PermissionViolation, quoted)});
    return;
  }
  if (l.starts_with("stale connection") || l.starts_with("maximum connections exceeded") ||
      l.starts_with("authorization violation")) {
    // The server closes after these; nats.go reconnects, so do we.
    connection_lost(make_error(ErrorCode::Disconnected, "server closed the connection: " + quoted));
    return;
  }
  // Any other -ERR is fatal, as in nats.go: report it, then close for good.
  Status why = make_error(ErrorCode::ServerError, "server error: " + quoted);
  {
    std::lock_guard lock(mu_);
    enqueue_event_locked(Event{Event::Kind::Error, {}, {}, why});
  }
  close_for_good(why);
}

void ConnectionImpl::deliver(const proto::ParsedOp& op) {
  uint64_t sid = 0;
  auto [p, ec] = std::from_chars(op.sid.data(), op.sid.data() + op.sid.size(), sid);
  if (ec != std::errc() || p != op.sid.data() + op.sid.size()) return;

  Msg msg;
  msg.subject.assign(op.subject);
  msg.reply.assign(op.reply);
  msg.data.assign(op.payload);
  Status header_error;
  if (op.op == proto::Op::Hmsg) {
    msg.has_headers = true;
    auto parsed = proto::parse_headers(op.headers);
    if (parsed) {
      msg.headers.set_status(parsed->status, std::move(parsed->description));
      for (auto& [k, v] : parsed->fields) msg.headers.add(std::move(k), std::move(v));
    } else {
      header_error = make_error(ErrorCode::ProtocolError, "message on '" + msg.subject +
                                                              "' has a bad header block: " + parsed.status().message());
    }
  }

  std::lock_guard lock(mu_);
  if (!header_error.is_ok()) {
    enqueue_event_locked(Event{Event::Kind::Error, {}, {}, header_error});
    return;
  }
  if (resp_sid_ != 0 && sid == resp_sid_) {
    if (!msg.subject.starts_with(resp_prefix_)) return;
    auto it = requests_.find(msg.subject.substr(resp_prefix_.size()));
    if (it == requests_.end() || it->second->done) return;  // late or duplicate reply
    it->second->reply = std::move(msg);
    it->second->done = true;
    cv_.notify_all();
    return;
  }
  auto it = subs_.find(sid);
  if (it == subs_.end()) return;  // unsubscribed meanwhile
  std::shared_ptr<SubState> sub = it->second;
  uint64_t n = ++sub->delivered;
  if (sub->max && n >= sub->max) {
    sub->active = false;  // the server removed it after this one; so do we
    subs_.erase(it);
    sub->cv.notify_all();
  }
  int64_t bytes = static_cast<int64_t>(msg.data.size());
  if (static_cast<int64_t>(sub->pending_msgs.load()) >= sub->limit_msgs ||
      sub->pending_bytes + bytes > sub->limit_bytes) {
    ++sub->dropped;
    if (!sub->slow) {
      sub->slow = true;
      enqueue_event_locked(Event{
          Event::Kind::Error,
          {},
          {},
          make_error(ErrorCode::SlowConsumer, "subscription on '" + sub->subject + "' (sid " + std::to_string(sid) +
                                                  ") is dropping messages: its pending limit (" +
                                                  std::to_string(sub->limit_msgs) + " msgs, " +
                                                  std::to_string(sub->limit_bytes) + " bytes) is reached")});
    }
    if (!sub->active && sub->pending_msgs.load() == 0) close_sub_locked(*sub);
    return;
  }
  ++sub->pending_msgs;
  sub->pending_bytes += bytes;
  if (sub->is_sync) {
    sub->inbox.push_back(std::move(msg));
    sub->cv.notify_one();
  } else {
    enqueue_event_locked(Event{Event::Kind::Message, std::move(sub), std::move(msg), {}});
  }
}

}  // namespace tern::detail
