#include "server/net/connection.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cassert>
#include <chrono>
#include <charconv>
#include <cstring>
#include <random>

#include "proto/headers.h"
#include "proto/subject.h"
#include "server/net/server.h"

namespace tern::server {

namespace {

constexpr size_t kReadChunk = 64 * 1024;      // free space offered to each read
constexpr size_t kShrinkAbove = 8 * 1024 * 1024;  // buffers larger than this are released when empty
// Output past this is written at once instead of at the end of the loop turn: a turn can
// read megabytes from a fast publisher, and fanning that out into ever larger buffers costs
// more (memory growth, page faults, cold caches) than the extra syscalls save.
constexpr size_t kFlushThreshold = 64 * 1024;
constexpr uint64_t kFirstPingMs = 2000;       // nats-server pings new clients after 2 s ...
constexpr uint64_t kRttIntervalMs = 3600 * 1000;  // ... and at least hourly, to measure RTT

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(p - buf));
}

bool has_reserved_reply_prefix(std::string_view reply) {
  return reply.starts_with("_R_.") || reply.starts_with("$JS.ACK.") || reply.starts_with("_GR_.");
}

}  // namespace

const char* close_reason_text(CloseReason r) {
  switch (r) {
    case CloseReason::ClientClosed: return "Client Closed";
    case CloseReason::ReadError: return "Read Error";
    case CloseReason::WriteError: return "Write Error";
    case CloseReason::ProtocolError: return "Protocol Violation";
    case CloseReason::AuthViolation: return "Authentication Failure";
    case CloseReason::AuthTimeout: return "Authentication Timeout";
    case CloseReason::SlowConsumerPending: return "Slow Consumer (Pending Bytes)";
    case CloseReason::SlowConsumerDeadline: return "Slow Consumer (Write Deadline)";
    case CloseReason::StaleConnection: return "Stale Connection";
    case CloseReason::MaxConnections: return "Maximum Connections Exceeded";
    case CloseReason::MaxPayload: return "Maximum Message Payload Exceeded";
    case CloseReason::MaxControlLine: return "Maximum Control Line Exceeded";
    case CloseReason::ServerShutdown: return "Server Shutdown";
  }
  return "Unknown";
}

Connection::Connection(Server& server, uint64_t id)
    : server_(server), id_(id), trace_(spdlog::should_log(spdlog::level::trace)) {
  uv_loop_t* loop = server_.loop();
  uv_tcp_init(loop, &tcp_);
  uv_timer_init(loop, &ping_timer_);
  uv_timer_init(loop, &auth_timer_);
  uv_timer_init(loop, &write_timer_);
  open_handles_ = 4;
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&tcp_), reinterpret_cast<uv_handle_t*>(&ping_timer_),
                         reinterpret_cast<uv_handle_t*>(&auth_timer_), reinterpret_cast<uv_handle_t*>(&write_timer_)})
    h->data = this;
  write_req_.data = this;
  const Options& o = server_.options();
  parser_.set_max_control_line(static_cast<size_t>(o.max_control_line));
  parser_.set_max_payload(o.max_payload);
  parser_.set_require_connect(server_.authenticator().required());
}

Connection::~Connection() = default;

std::string Connection::peer() const { return ip_ + ":" + std::to_string(port_) + " - cid:" + std::to_string(id_); }

void Connection::start() {
  start_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    char ip[64] = {0};
    if (ss.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      uv_ip4_name(a, ip, sizeof ip);
      port_ = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      uv_ip6_name(a, ip, sizeof ip);
      port_ = ntohs(a->sin6_port);
    }
    ip_ = ip;
  }
  uv_tcp_nodelay(&tcp_, 1);
  spdlog::debug("{} - Client connection created", peer());

  // INFO goes first, before anything is read (protocol spec 2 rule 1).
  std::string info = "INFO " + server_.info_prefix();
  info += ",\"client_id\":";
  append_uint(info, id_);
  info += ",\"client_ip\":\"" + ip_ + "\"}\r\n";
  send(info);

  last_activity_ms_ = uv_now(server_.loop());
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc, on_read);
  const Options& o = server_.options();
  if (server_.authenticator().required())
    uv_timer_start(&auth_timer_, on_auth_timer, static_cast<uint64_t>(o.auth_timeout.count()), 0);
  // Before CONNECT the ping timer runs at the full interval; CONNECT re-arms it short.
  start_ping_timer(static_cast<uint64_t>(o.ping_interval.count()));
}

void Connection::arm_first_ping() {
  // The shorter of 2 s and ping_interval, plus up to 20% jitter, like nats-server; re-armed at CONNECT.
  uint64_t first = std::min<uint64_t>(kFirstPingMs, static_cast<uint64_t>(server_.options().ping_interval.count()));
  static thread_local std::minstd_rand rng(std::random_device{}());
  if (first >= 5) first += rng() % (first / 5);
  start_ping_timer(first);
}

void Connection::reject_max_connections() {
  std::string info = "INFO " + server_.info_prefix() + "}\r\n";
  send(info);
  fail(proto::WireError::MaxConnections, CloseReason::MaxConnections);
}

// ---- read path --------------------------------------------------------------------------

void Connection::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(h->data);
  size_t want = std::max(kReadChunk, c->needed_ > c->in_len_ ? c->needed_ - c->in_len_ : 0);
  if (c->in_.size() - c->in_len_ < want) c->in_.resize(c->in_len_ + want);
  buf->base = c->in_.data() + c->in_len_;
  buf->len = c->in_.size() - c->in_len_;
}

void Connection::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* c = static_cast<Connection*>(s->data);
  if (nread < 0) {
    c->close(nread == UV_EOF ? CloseReason::ClientClosed : CloseReason::ReadError, false);
    return;
  }
  if (nread == 0 || c->closed_) return;
  c->in_len_ += static_cast<size_t>(nread);
  c->last_activity_ms_ = uv_now(c->server_.loop());
  c->process_input();
}

void Connection::process_input() {
  size_t off = 0;
  proto::ParsedOp op;
  while (!closed_ && off < in_len_) {
    proto::ParseStep st = parser_.parse_one(std::string_view(in_.data() + off, in_len_ - off), op);
    if (st.status == proto::ParseStatus::Complete) {
      off += st.consumed;
      needed_ = 0;
      handle_op(op);
    } else if (st.status == proto::ParseStatus::NeedMore) {
      needed_ = st.needed;
      break;
    } else {
      handle_parse_error(st.error);
      break;
    }
  }
  if (closed_) return;
  // Keep the incomplete op's bytes at the front for the next read.
  if (off > 0) {
    std::memmove(in_.data(), in_.data() + off, in_len_ - off);
    in_len_ -= off;
  }
  if (in_len_ == 0 && in_.size() > kShrinkAbove) std::vector<char>().swap(in_);
}

void Connection::handle_parse_error(proto::ParseError e) {
  using proto::ParseError;
  switch (e) {
    case ParseError::UnknownOp:
      fail(proto::WireError::UnknownOp, CloseReason::ProtocolError);
      break;
    case ParseError::MaxControlLine:
      fail(proto::WireError::MaxControlLine, CloseReason::MaxControlLine);
      break;
    case ParseError::MaxPayload:
      fail(proto::WireError::MaxPayload, CloseReason::MaxPayload);
      break;
    case ParseError::AuthorizationViolation:
      fail(proto::WireError::AuthorizationViolation, CloseReason::AuthViolation);
      break;
    case ParseError::BadArguments:
    case ParseError::HeadersNotSupported:
    case ParseError::None:
      // nats-server closes these without an -ERR (protocol spec 1.1).
      spdlog::debug("{} - Client parser error, closing", peer());
      close(CloseReason::ProtocolError, true);
      break;
  }
}

void Connection::handle_op(const proto::ParsedOp& op) {
  using proto::Op;
  if (trace_ && op.op != Op::Pub && op.op != Op::Hpub)
    spdlog::trace("{} - <<- [{}]", peer(), std::string_view(op.arg.empty() ? op.subject : op.arg));
  switch (op.op) {
    case Op::Pub:
    case Op::Hpub:
      on_pub(op);
      break;
    case Op::Sub:
      on_sub(op);
      break;
    case Op::Unsub:
      on_unsub(op);
      break;
    case Op::Ping:
      last_client_ping_ms_ = uv_now(server_.loop());
      send("PONG\r\n");
      break;
    case Op::Pong:
      pings_out_ = 0;
      if (rtt_ping_hr_) {  // the answer to our PING: the round trip /connz reports
        rtt_ns_ = uv_hrtime() - rtt_ping_hr_;
        rtt_ping_hr_ = 0;
      }
      break;
    case Op::Connect:
      on_connect(op.arg);
      break;
    case Op::Info:
      // nats-server parses a client's INFO and ignores it; invalid JSON closes.
      if (!nlohmann::json::accept(op.arg)) close(CloseReason::ProtocolError, false);
      break;
    case Op::Err:
      spdlog::debug("{} - Client sent -ERR {}, closing", peer(), op.arg);
      close(CloseReason::ClientClosed, false);
      break;
    case Op::Ok:
    default:
      break;
  }
}

void Connection::on_connect(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    close(CloseReason::ProtocolError, false);
    return;
  }
  auto get_bool = [&](const char* k, bool def) {
    auto it = j.find(k);
    return (it != j.end() && it->is_boolean()) ? it->get<bool>() : def;
  };
  auto get_str = [&](const char* k) {
    auto it = j.find(k);
    return (it != j.end() && it->is_string()) ? it->get<std::string>() : std::string();
  };
  // Keys a client leaves out keep their current values, as Go's json.Unmarshal does in
  // nats-server: a bare CONNECT {} stays verbose and pedantic.
  verbose_ = get_bool("verbose", verbose_);
  pedantic_ = get_bool("pedantic", pedantic_);
  echo_ = get_bool("echo", echo_);
  headers_ = get_bool("headers", headers_);
  no_responders_ = get_bool("no_responders", no_responders_);
  name_ = get_str("name");
  lang_ = get_str("lang");
  version_ = get_str("version");
  int protocol = 0;
  if (auto it = j.find("protocol"); it != j.end() && it->is_number_integer()) protocol = it->get<int>();

  // The order of checks is nats-server's: auth, accounts, protocol, no_responders.
  const Authenticator& auth = server_.authenticator();
  if (auth.required()) {
    std::string token = get_str("auth_token"), user = get_str("user"), pass = get_str("pass");
    AuthOutcome a = auth.check(Credentials{token, user, pass});
    if (!a.ok) {
      spdlog::info("{} - Client authentication failed", peer());
      fail(proto::WireError::AuthorizationViolation, CloseReason::AuthViolation);
      return;
    }
    user_ = a.user;
    if (a.permissions) perms_ = std::make_unique<PermissionChecker>(*a.permissions);
    uv_timer_stop(&auth_timer_);
    parser_.set_require_connect(false);
  }
  if (j.contains("account") || j.contains("new_account")) {
    fail(proto::WireError::AuthorizationViolation, CloseReason::AuthViolation);
    return;
  }
  if (protocol < 0 || protocol > 1) {
    fail(proto::WireError::InvalidClientProtocol, CloseReason::ProtocolError);
    return;
  }
  if (no_responders_ && !headers_) {
    fail(proto::WireError::NoRespondersRequiresHeaders, CloseReason::ProtocolError);
    return;
  }
  connected_ = true;
  parser_.set_headers_allowed(headers_);
  arm_first_ping();
  if (verbose_) send_ok();
}

void Connection::on_pub(const proto::ParsedOp& op) {
  ++in_msgs_;
  in_bytes_ += op.headers.size() + op.payload.size();
  ServerStats& st = server_.stats();
  ++st.in_msgs;
  st.in_bytes += op.headers.size() + op.payload.size();
  if (trace_)
    spdlog::trace("{} - <<- [{} {} {} {}]", peer(), op.op == proto::Op::Hpub ? "HPUB" : "PUB", op.subject, op.reply,
                  op.headers.size() + op.payload.size());

  // Pedantic only warns; the message is still routed (nats-server 2.9.10).
  if (pedantic_ && !proto::is_valid_publish_subject(op.subject))
    send_err(proto::wire_error_text(proto::WireError::InvalidPublishSubject));
  if (!op.reply.empty() && has_reserved_reply_prefix(op.reply)) {
    send_err(proto::reply_violation_text(op.reply));
    return;
  }
  if (op.subject.starts_with("_GR_.") || (perms_ && !perms_->can_publish(op.subject))) {
    send_err(proto::publish_violation_text(op.subject));
    return;
  }
  if (verbose_) send_ok();

  Message m{this, op.subject, op.reply, op.headers, op.payload, op.op == proto::Op::Hpub};
  size_t n = server_.router().route(m);
  if (n == 0 && no_responders_ && !op.reply.empty()) send_no_responders(op.reply);
}

void Connection::send_no_responders(std::string_view reply) {
  // The 503 goes to this connection's own subscription that matches the reply subject.
  for (auto& [sid, sub] : subs_) {
    if (!proto::subject_matches(sub->subject, reply)) continue;
    std::string line = "HMSG ";
    line.append(reply).append(" ").append(sid).append(" ");
    append_uint(line, proto::kNoRespondersHeader.size());
    line += ' ';
    append_uint(line, proto::kNoRespondersHeader.size());
    line.append("\r\n").append(proto::kNoRespondersHeader).append("\r\n");
    send(line);
    return;
  }
}

void Connection::on_sub(const proto::ParsedOp& op) {
  const Options& o = server_.options();
  Subscription probe;
  probe.subject = op.subject;
  probe.queue = op.queue;
  if (perms_ && (!perms_->can_subscribe(op.subject, op.queue) || op.queue == "_sys_")) {
    send_err(proto::subscribe_violation_text(op.subject, op.queue));
    return;
  }
  if (o.max_subscriptions > 0 && subs_.size() >= static_cast<size_t>(o.max_subscriptions)) {
    send_err(proto::wire_error_text(proto::WireError::MaxSubscriptions));
    return;
  }
  std::string sid(op.sid);
  if (subs_.find(sid) == subs_.end()) {
    auto sub = std::make_unique<Subscription>();
    sub->client = this;
    sub->subject = std::string(op.subject);
    sub->queue = std::string(op.queue);
    sub->sid = sid;
    if (!server_.router().sublist().insert(sub.get())) {
      send_err(proto::wire_error_text(proto::WireError::InvalidSubject));
      return;
    }
    subs_.emplace(std::move(sid), std::move(sub));
  }
  if (verbose_) send_ok();
}

void Connection::on_unsub(const proto::ParsedOp& op) {
  auto it = subs_.find(std::string(op.sid));
  if (it != subs_.end()) {
    Subscription& sub = *it->second;
    if (op.max_msgs > 0 && static_cast<uint64_t>(op.max_msgs) > sub.delivered) {
      sub.max_msgs = static_cast<uint64_t>(op.max_msgs);
    } else {
      remove_subscription(sub);
    }
  }
  if (verbose_) send_ok();
}

void Connection::remove_subscription(Subscription& sub) {
  server_.router().sublist().remove(&sub);
  sub.closed = true;
  // Freeing now is safe: a match result listing `sub` lives only inside Router::route(),
  // and the only subscription route() removes is the one it just delivered to, which it
  // does not touch again.
  std::string sid = sub.sid;
  subs_.erase(sid);
}

void Connection::auto_unsubscribe(Subscription& sub) { remove_subscription(sub); }

// ---- write path -------------------------------------------------------------------------

size_t Connection::pending_bytes() const { return out_.size() + (writing_ ? inflight_.size() - inflight_off_ : 0); }

void Connection::send(std::string_view bytes) {
  if (closed_ && !close_after_write_) return;
  out_.append(bytes);
  server_.mark_dirty(this);
}

void Connection::send_err(std::string_view text) {
  spdlog::debug("{} - Sending -ERR '{}'", peer(), text);
  send(proto::err_line(text));
}

void Connection::fail(proto::WireError e, CloseReason reason) {
  send_err(proto::wire_error_text(e));
  close(reason, true);
}

bool Connection::deliver(Subscription& sub, const Message& m) {
  if (closed_) return false;
  bool with_headers = m.has_headers && headers_;
  size_t body = with_headers ? m.headers.size() + m.payload.size() : m.payload.size();
  size_t line = m.subject.size() + sub.sid.size() + m.reply.size() + 48;
  if (pending_bytes() + line + body > static_cast<size_t>(server_.options().max_pending)) {
    // Slow consumer: closed without an -ERR (protocol spec section 9).
    ++server_.stats().slow_consumers;
    spdlog::info("{} - Slow Consumer Detected: MaxPending of {} Exceeded", peer(), server_.options().max_pending);
    // What was accepted before the limit still goes out (bounded by max_pending and the
    // write deadline); nothing more is queued.
    close(CloseReason::SlowConsumerPending, true);
    return false;
  }
  // Literal pieces go in with their sizes known: no strlen per delivery.
  using namespace std::string_view_literals;
  out_.append(with_headers ? "HMSG "sv : "MSG "sv);
  out_.append(m.subject);
  out_.push_back(' ');
  out_.append(sub.sid);
  out_.push_back(' ');
  if (!m.reply.empty()) {
    out_.append(m.reply);
    out_.push_back(' ');
  }
  if (with_headers) {
    append_uint(out_, m.headers.size());
    out_.push_back(' ');
  }
  append_uint(out_, body);
  out_.append("\r\n"sv);
  if (with_headers) out_.append(m.headers);
  out_.append(m.payload);
  out_.append("\r\n"sv);
  ++out_msgs_;
  out_bytes_ += body;
  ServerStats& st = server_.stats();
  ++st.out_msgs;
  st.out_bytes += body;
  if (out_.size() >= kFlushThreshold && !writing_) {
    flush();
  } else {
    server_.mark_dirty(this);
  }
  return true;
}

void Connection::flush() {
  if (writing_ || out_.empty() || handles_closing_) return;
  uv_buf_t b = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
  if (n == static_cast<int>(out_.size())) {
    out_.clear();
    if (out_.capacity() > kShrinkAbove) std::string().swap(out_);
    if (close_after_write_) finish_close();
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    out_.clear();
    if (!closed_) close(CloseReason::WriteError, false);
    else finish_close();
    return;
  }
  // The socket is full: hand the rest to libuv and start the write deadline.
  inflight_.swap(out_);
  out_.clear();
  inflight_off_ = n > 0 ? static_cast<size_t>(n) : 0;
  uv_buf_t rest = uv_buf_init(inflight_.data() + inflight_off_, static_cast<unsigned>(inflight_.size() - inflight_off_));
  writing_ = true;
  uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &rest, 1, on_write);
  uv_timer_start(&write_timer_, on_write_timer, static_cast<uint64_t>(server_.options().write_deadline.count()), 0);
}

void Connection::on_write(uv_write_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  c->writing_ = false;
  c->inflight_.clear();
  if (c->inflight_.capacity() > kShrinkAbove) std::string().swap(c->inflight_);
  if (c->handles_closing_) return;  // closing: the handles' callbacks finish the job
  uv_timer_stop(&c->write_timer_);
  if (status < 0) {
    if (!c->closed_) c->close(CloseReason::WriteError, false);
    else c->finish_close();
    return;
  }
  if (c->closed_ && !c->close_after_write_) return;
  if (!c->out_.empty()) {
    c->flush();
  } else if (c->close_after_write_) {
    c->finish_close();
  }
}

void Connection::on_write_timer(uv_timer_t* t) {
  auto* c = static_cast<Connection*>(t->data);
  if (c->closed_) {
    c->finish_close();
    return;
  }
  ++c->server_.stats().slow_consumers;
  spdlog::info("{} - Slow Consumer Detected: WriteDeadline of {}ms Exceeded", c->peer(),
               c->server_.options().write_deadline.count());
  c->close(CloseReason::SlowConsumerDeadline, false);
}

// ---- timers -----------------------------------------------------------------------------

void Connection::start_ping_timer(uint64_t delay_ms) { uv_timer_start(&ping_timer_, on_ping_timer, delay_ms, 0); }

void Connection::on_ping_timer(uv_timer_t* t) {
  auto* c = static_cast<Connection*>(t->data);
  if (c->closed_) return;
  const Options& o = c->server_.options();
  uint64_t now = uv_now(c->server_.loop());
  uint64_t interval = static_cast<uint64_t>(o.ping_interval.count());
  bool need_rtt = !c->rtt_started_ || now - c->rtt_start_ms_ > kRttIntervalMs;
  bool idle = now - c->last_activity_ms_ >= interval && now - c->last_client_ping_ms_ >= interval;
  if (need_rtt || idle) {
    if (c->pings_out_ + 1 > o.ping_max) {
      spdlog::debug("{} - Stale Client Connection - Closing", c->peer());
      c->fail(proto::WireError::StaleConnection, CloseReason::StaleConnection);
      return;
    }
    ++c->pings_out_;
    c->rtt_start_ms_ = now;
    c->rtt_started_ = true;
    if (!c->rtt_ping_hr_) c->rtt_ping_hr_ = uv_hrtime();
    c->send("PING\r\n");
  }
  c->start_ping_timer(interval);
}

void Connection::on_auth_timer(uv_timer_t* t) {
  auto* c = static_cast<Connection*>(t->data);
  if (c->closed_ || c->connected_) return;
  c->fail(proto::WireError::AuthenticationTimeout, CloseReason::AuthTimeout);
}

// ---- closing ----------------------------------------------------------------------------

void Connection::close(CloseReason reason, bool flush_first) {
  if (closed_) return;
  closed_ = true;
  spdlog::debug("{} - Client connection closed: {}", peer(), close_reason_text(reason));
  for (auto& [sid, sub] : subs_) {
    server_.router().sublist().remove(sub.get());
    sub->closed = true;
  }
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  uv_timer_stop(&ping_timer_);
  uv_timer_stop(&auth_timer_);
  if (flush_first && pending_bytes() > 0) {
    // Send what is queued (an -ERR, say), then close; the write deadline bounds the wait.
    close_after_write_ = true;
    server_.mark_dirty(this);
    if (!writing_)
      uv_timer_start(&write_timer_, on_write_timer, static_cast<uint64_t>(server_.options().write_deadline.count()), 0);
    return;
  }
  finish_close();
}

void Connection::finish_close() {
  if (handles_closing_) return;
  handles_closing_ = true;
  close_after_write_ = false;
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&tcp_), reinterpret_cast<uv_handle_t*>(&ping_timer_),
                         reinterpret_cast<uv_handle_t*>(&auth_timer_), reinterpret_cast<uv_handle_t*>(&write_timer_)})
    uv_close(h, on_handle_closed);
}

void Connection::on_handle_closed(uv_handle_t* h) {
  auto* c = static_cast<Connection*>(h->data);
  if (--c->open_handles_ == 0) c->server_.release(c);
}

}  // namespace tern::server
