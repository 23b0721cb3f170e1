// The API side of tern::Connection and tern::Subscription, and the two callback threads.
// The I/O thread's half is in io_loop.cpp.

#include <algorithm>
#include <cassert>

#include "client/connection_impl.h"
#include "proto/headers.h"
#include "proto/subject.h"
#include "tern/errors.h"

namespace tern {
namespace detail {
namespace {

// Bytes a PUB/HPUB control line adds to subject + reply + payload, at most ("HPUB " + 2
// sizes of up to 10 digits + spaces + CRLF + the payload's CRLF): the reconnect buffer
// counts them too.
constexpr size_t kPubOverhead = 40;

bool has_blank(std::string_view s) { return s.find_first_of(" \t\r\n\f") != std::string_view::npos; }

// A subject that keeps the wire well-formed. nats-server itself routes anything that
// parses (protocol spec 3.1 rule 5), so libtern checks only what would break framing.
bool is_sendable_subject(std::string_view s) { return !s.empty() && !has_blank(s); }

Status check_headers(const Headers& h) {
  for (const auto& [k, v] : h.fields()) {
    if (k.empty() || k.find_first_of(": \t\r\n") != std::string::npos)
      return make_error(ErrorCode::InvalidArgument, "bad header key '" + k + "'");
    if (v.find_first_of("\r\n") != std::string::npos)
      return make_error(ErrorCode::InvalidArgument, "header '" + k + "' has a line break in its value");
  }
  if (h.description().find_first_of("\r\n") != std::string::npos)
    return make_error(ErrorCode::InvalidArgument, "header status description has a line break");
  if (h.status() < 0 || h.status() > 999) return make_error(ErrorCode::InvalidArgument, "header status out of range");
  return Status::ok();
}

std::string encode(const Headers& h) {
  proto::Headers ph;
  ph.status = h.status();
  ph.description = h.description();
  ph.fields = h.fields();
  return proto::encode_headers(ph);
}

std::string display_ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

ConnectionImpl::ConnectionImpl(Options opts, ServerList servers)
    : opts_(std::move(opts)), servers_(std::move(servers)) {
  parser_.set_max_control_line(kClientMaxControlLine);
}

ConnectionImpl::~ConnectionImpl() {
  // The Connection joined the threads, unless the last reference died on a callback thread
  // (each holds one while it runs): that one must not join itself.
  if (io_thread_.joinable()) io_thread_.join();
  for (std::thread* t : {&msg_thread_, &ctl_thread_}) {
    if (!t->joinable()) continue;
    if (t->get_id() == std::this_thread::get_id())
      t->detach();
    else
      t->join();
  }
}

void ConnectionImpl::wake_locked() {
  if (wake_open_) uv_async_send(&wake_);
}

void ConnectionImpl::enqueue_event_locked(Event ev) {
  if (ev.kind == Event::Kind::Message) {
    msg_events_.push_back(std::move(ev));
    msg_cv_.notify_one();
  } else {
    ctl_events_.push_back(std::move(ev));
    ctl_cv_.notify_one();
  }
}

void ConnectionImpl::close_sub_locked(SubState& sub) {
  sub.closed = true;
  sub.active = false;
  if (sub.handler) dead_handlers_.push_back(std::move(sub.handler));  // freed outside mu_
  sub.cv.notify_all();
}

// ---------------------------------------------------------------- publish

Status ConnectionImpl::publish(std::string_view subject, std::string_view reply, const Headers* headers,
                               bool with_headers, std::string_view data) {
  std::lock_guard lock(mu_);
  return publish_locked(subject, reply, headers, with_headers, data);
}

Status ConnectionImpl::publish_locked(std::string_view subject, std::string_view reply, const Headers* headers,
                                      bool with_headers, std::string_view data) {
  if (status_ == ConnectionStatus::Closed) return make_error(ErrorCode::Closed, "publish: connection closed");
  if (!is_sendable_subject(subject))
    return make_error(ErrorCode::InvalidArgument, "publish: bad subject '" + std::string(subject) + "'");
  if (!reply.empty() && has_blank(reply))
    return make_error(ErrorCode::InvalidArgument, "publish: bad reply subject '" + std::string(reply) + "'");
  std::string hdr;
  if (headers && (with_headers || !headers->empty())) {
    if (Status st = check_headers(*headers); !st) return st;
    hdr = encode(*headers);
  }
  size_t total = hdr.size() + data.size();
  if (info_.max_payload > 0 && total > static_cast<size_t>(info_.max_payload))
    return make_error(ErrorCode::MaxPayload, "publish to '" + std::string(subject) + "': " + std::to_string(total) +
                                                 " bytes exceed the server's max_payload of " +
                                                 std::to_string(info_.max_payload));
  bool live = status_ == ConnectionStatus::Connected || status_ == ConnectionStatus::Draining;
  if (!live) {
    if (opts_.reconnect_buffer_size == 0)
      return make_error(ErrorCode::Disconnected, "publish: disconnected and reconnect buffering is off");
    if (out_.size() + total + subject.size() + reply.size() + kPubOverhead > opts_.reconnect_buffer_size)
      return make_error(ErrorCode::BufferFull, "publish to '" + std::string(subject) + "': reconnect buffer of " +
                                                   std::to_string(opts_.reconnect_buffer_size) + " bytes is full");
  }
  out_ += hdr.empty() ? "PUB " : "HPUB ";
  out_ += subject;
  out_ += ' ';
  if (!reply.empty()) {
    out_ += reply;
    out_ += ' ';
  }
  if (!hdr.empty()) {
    out_ += std::to_string(hdr.size());
    out_ += ' ';
  }
  out_ += std::to_string(total);
  out_ += "\r\n";
  out_ += hdr;
  out_ += data;
  out_ += "\r\n";
  if (live) wake_locked();
  return Status::ok();
}

// ---------------------------------------------------------------- subscribe

Result<Subscription> ConnectionImpl::subscribe(std::string_view subject, std::string_view queue, MsgHandler handler) {
  if (!proto::is_valid_subscribe_subject(subject))
    return make_error(ErrorCode::InvalidArgument, "subscribe: bad subject '" + std::string(subject) + "'");
  if (!queue.empty() && !proto::is_valid_queue_name(queue))
    return make_error(ErrorCode::InvalidArgument, "subscribe: bad queue group '" + std::string(queue) + "'");
  std::lock_guard lock(mu_);
  if (status_ == ConnectionStatus::Closed) return make_error(ErrorCode::Closed, "subscribe: connection closed");
  if (status_ == ConnectionStatus::Draining) return make_error(ErrorCode::Closed, "subscribe: connection is draining");
  uint64_t sid = next_sid_++;
  auto sub = std::make_shared<SubState>(sid, std::string(subject), std::string(queue), std::move(handler),
                                        opts_.pending_msgs_limit, opts_.pending_bytes_limit);
  subs_[sid] = sub;
  // While reconnecting the SUB goes out with all the others once the handshake is done.
  if (status_ == ConnectionStatus::Connected) {
    out_ += "SUB " + sub->subject + " " + (sub->queue.empty() ? "" : sub->queue + " ") + std::to_string(sid) + "\r\n";
    wake_locked();
  }
  return Subscription(weak_from_this(), std::move(sub));
}

Status ConnectionImpl::unsubscribe(const std::shared_ptr<SubState>& sub) {
  std::lock_guard lock(mu_);
  if (sub->closed) return make_error(ErrorCode::Closed, "unsubscribe: subscription already closed");
  bool was_active = sub->active;
  close_sub_locked(*sub);
  subs_.erase(sub->sid);
  bool live = status_ == ConnectionStatus::Connected || status_ == ConnectionStatus::Draining;
  if (was_active && live) {
    out_ += "UNSUB " + std::to_string(sub->sid) + "\r\n";
    wake_locked();
  }
  cv_.notify_all();  // a drain may be waiting for this sub's backlog
  return Status::ok();
}

Status ConnectionImpl::auto_unsubscribe(const std::shared_ptr<SubState>& sub, uint64_t max) {
  std::unique_lock lock(mu_);
  if (sub->closed || !sub->active)
    return make_error(ErrorCode::Closed, "auto_unsubscribe: subscription already closed");
  if (max == 0) return make_error(ErrorCode::InvalidArgument, "auto_unsubscribe: max must be > 0");
  if (max <= sub->delivered.load()) {
    lock.unlock();
    return unsubscribe(sub);
  }
  sub->max = max;
  if (status_ == ConnectionStatus::Connected || status_ == ConnectionStatus::Draining) {
    out_ += "UNSUB " + std::to_string(sub->sid) + " " + std::to_string(max) + "\r\n";
    wake_locked();
  }
  return Status::ok();
}

Result<Msg> ConnectionImpl::next(const std::shared_ptr<SubState>& sub, std::chrono::milliseconds timeout) {
  if (!sub->is_sync) return make_error(ErrorCode::InvalidArgument, "next: not a sync subscription");
  std::unique_lock lock(mu_);
  auto ready = [&] { return !sub->inbox.empty() || sub->closed || !sub->active; };
  if (!sub->cv.wait_for(lock, timeout, ready))
    return make_error(ErrorCode::Timeout, "next on '" + sub->subject + "': no message within " + display_ms(timeout));
  if (sub->inbox.empty()) return make_error(ErrorCode::Closed, "next on '" + sub->subject + "': subscription closed");
  Msg m = std::move(sub->inbox.front());
  sub->inbox.pop_front();
  sub->pending_bytes -= static_cast<int64_t>(m.data.size());
  if (--sub->pending_msgs == 0) sub->slow = false;
  if (sub->inbox.empty()) cv_.notify_all();  // drain progress
  return m;
}

Status ConnectionImpl::set_pending_limits(const std::shared_ptr<SubState>& sub, int64_t msgs, int64_t bytes) {
  if (msgs <= 0 || bytes <= 0) return make_error(ErrorCode::InvalidArgument, "pending limits must be > 0");
  std::lock_guard lock(mu_);
  sub->limit_msgs = msgs;
  sub->limit_bytes = bytes;
  return Status::ok();
}

bool ConnectionImpl::sub_is_open(const std::shared_ptr<SubState>& sub) const {
  std::lock_guard lock(mu_);
  return !sub->closed && sub->active;
}

// ---------------------------------------------------------------- request, flush

Result<Msg> ConnectionImpl::request(std::string_view subject, const Headers* headers, bool with_headers,
                                    std::string_view data, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mu_);
  if (status_ == ConnectionStatus::Closed) return make_error(ErrorCode::Closed, "request: connection closed");
  if (resp_sid_ == 0) {
    // The one shared reply subscription, made on first use and resent on reconnect like any other.
    resp_prefix_ = "_INBOX." + nuid_.next() + ".";
    resp_sid_ = next_sid_++;
    auto sub = std::make_shared<SubState>(resp_sid_, resp_prefix_ + "*", "", MsgHandler{}, 0, 0);
    subs_[resp_sid_] = sub;
    if (status_ == ConnectionStatus::Connected || status_ == ConnectionStatus::Draining)
      out_ += "SUB " + sub->subject + " " + std::to_string(resp_sid_) + "\r\n";
  }
  // A token of base-62 digits from a counter: unique within this connection.
  std::string token;
  for (uint64_t n = next_token_++;; n /= 62) {
    token += "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[n % 62];
    if (n < 62) break;
  }
  auto slot = std::make_shared<RequestSlot>();
  requests_[token] = slot;
  if (Status st = publish_locked(subject, resp_prefix_ + token, headers, with_headers, data); !st) {
    requests_.erase(token);
    return st;
  }
  bool got = cv_.wait_until(lock, deadline, [&] { return slot->done || status_ == ConnectionStatus::Closed; });
  requests_.erase(token);
  if (!slot->done) {
    if (!got)
      return make_error(ErrorCode::Timeout,
                        "request on '" + std::string(subject) + "': no reply within " + display_ms(timeout));
    return make_error(ErrorCode::Closed, "request on '" + std::string(subject) + "': connection closed");
  }
  if (slot->reply.is_status() && slot->reply.headers.status() == 503)
    return make_error(ErrorCode::NoResponders, "no responders for request on '" + std::string(subject) + "'");
  return std::move(slot->reply);
}

Status ConnectionImpl::flush_until(std::chrono::steady_clock::time_point deadline, std::unique_lock<std::mutex>& lock) {
  if (status_ == ConnectionStatus::Closed) return make_error(ErrorCode::Closed, "flush: connection closed");
  if (status_ != ConnectionStatus::Connected && status_ != ConnectionStatus::Draining)
    return make_error(ErrorCode::Disconnected, "flush: not connected");
  auto waiter = std::make_shared<PongWaiter>();
  pongs_.push_back(waiter);
  ++pings_to_send_;
  wake_locked();
  if (!cv_.wait_until(lock, deadline, [&] { return waiter->done; })) {
    // The PONG may still come: its entry stays in pongs_ to keep the PING/PONG pairing.
    return make_error(ErrorCode::Timeout, "flush: no PONG from the server in time");
  }
  return waiter->status;
}

Status ConnectionImpl::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return flush_until(std::chrono::steady_clock::now() + timeout, lock);
}

// ---------------------------------------------------------------- drain, close

Status ConnectionImpl::drain(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mu_);
  if (std::this_thread::get_id() == msg_thread_id_)
    return make_error(ErrorCode::InvalidArgument, "drain: cannot be called from a message handler (it waits for them)");
  if (status_ == ConnectionStatus::Closed) return make_error(ErrorCode::Closed, "drain: connection closed");
  if (status_ != ConnectionStatus::Connected) return make_error(ErrorCode::Disconnected, "drain: not connected");
  status_ = ConnectionStatus::Draining;
  // 1. Unsubscribe everything (but the request inbox: requests in flight may still finish).
  std::vector<std::shared_ptr<SubState>> draining;
  for (auto& [sid, sub] : subs_) {
    if (sid == resp_sid_) continue;
    out_ += "UNSUB " + std::to_string(sid) + "\r\n";
    draining.push_back(sub);
  }
  // 2. Once the PONG is back, the server has sent every message it will send them.
  Status st = flush_until(deadline, lock);
  for (auto& sub : draining) {
    sub->active = false;
    subs_.erase(sub->sid);
    sub->cv.notify_all();
  }
  // 3. Wait until the application has taken every message already received.
  if (st) {
    bool emptied = cv_.wait_until(lock, deadline, [&] {
      return std::all_of(draining.begin(), draining.end(),
                         [](const auto& s) { return s->closed || s->pending_msgs.load() == 0; });
    });
    if (!emptied) st = make_error(ErrorCode::Timeout, "drain: subscriptions still had messages pending");
  }
  // 4. Make sure our own publishes reached the server, then close.
  if (st) st = flush_until(deadline, lock);
  lock.unlock();
  close();
  return st;
}

void ConnectionImpl::close() {
  {
    std::lock_guard lock(mu_);
    close_requested_ = true;
    wake_locked();
  }
  std::lock_guard join(join_mu_);
  if (io_thread_.joinable()) io_thread_.join();
}

void ConnectionImpl::shutdown_and_join() {
  close();
  std::lock_guard join(join_mu_);
  for (std::thread* t : {&msg_thread_, &ctl_thread_})
    if (t->joinable() && t->get_id() != std::this_thread::get_id()) t->join();
}

std::string ConnectionImpl::new_inbox() {
  std::lock_guard lock(mu_);
  return "_INBOX." + nuid_.next();
}

ConnectionStatus ConnectionImpl::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

ServerInfo ConnectionImpl::server_info() const {
  std::lock_guard lock(mu_);
  return info_;
}

Status ConnectionImpl::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

// ---------------------------------------------------------------- callback threads

void ConnectionImpl::start_dispatcher(Connection* owner) {
  std::lock_guard lock(mu_);
  owner_ = owner;
  msg_thread_ = std::thread([this, self = shared_from_this()]() mutable { message_main(std::move(self)); });
  ctl_thread_ = std::thread([this, self = shared_from_this()]() mutable { event_main(std::move(self)); });
  msg_thread_id_ = msg_thread_.get_id();
  ctl_thread_id_ = ctl_thread_.get_id();
}

void ConnectionImpl::message_main(std::shared_ptr<ConnectionImpl> self) {
  std::unique_lock lock(mu_);
  for (;;) {
    msg_cv_.wait(lock, [&] { return !msg_events_.empty() || msg_stop_; });
    if (msg_events_.empty()) break;  // stopping, and everything was handed out
    Event ev = std::move(msg_events_.front());
    msg_events_.pop_front();
    SubState& sub = *ev.sub;  // ev keeps it alive
    std::shared_ptr<const MsgHandler> handler = sub.closed ? nullptr : sub.handler;
    size_t bytes = ev.msg.data.size();
    if (handler) {
      lock.unlock();
      (*handler)(ev.msg);
      lock.lock();
    }
    // The message counts as pending until its handler returned (drain waits for that).
    sub.pending_bytes -= static_cast<int64_t>(bytes);
    if (--sub.pending_msgs == 0) {
      sub.slow = false;
      if (!sub.active && !sub.closed) close_sub_locked(sub);  // auto-unsubscribed or drained, and done
      cv_.notify_all();
    }
    // User objects (the handler's lambda, the Msg) are destroyed without mu_ held.
    std::vector<std::shared_ptr<const MsgHandler>> dead;
    dead.swap(dead_handlers_);
    lock.unlock();
    handler.reset();
    dead.clear();
    ev = Event{};
    lock.lock();
  }
  msg_done_ = true;
  ctl_cv_.notify_all();
  lock.unlock();
  self.reset();  // may be the last reference: then ~ConnectionImpl detaches this thread
}

void ConnectionImpl::event_main(std::shared_ptr<ConnectionImpl> self) {
  std::unique_lock lock(mu_);
  for (;;) {
    ctl_cv_.wait(lock, [&] { return !ctl_events_.empty(); });
    Event ev = std::move(ctl_events_.front());
    ctl_events_.pop_front();
    if (ev.kind == Event::Kind::Closed) {
      // Closed is the last callback of all: let the message dispatcher finish first.
      msg_stop_ = true;
      msg_cv_.notify_all();
      ctl_cv_.wait(lock, [&] { return msg_done_; });
      lock.unlock();
      if (opts_.closed) opts_.closed(*owner_);
      break;
    }
    lock.unlock();
    switch (ev.kind) {
      case Event::Kind::Disconnected:
        if (opts_.disconnected) opts_.disconnected(*owner_);
        break;
      case Event::Kind::Reconnected:
        if (opts_.reconnected) opts_.reconnected(*owner_);
        break;
      case Event::Kind::Error:
        if (opts_.error) opts_.error(*owner_, ev.error);
        break;
      default:
        break;
    }
    lock.lock();
  }
  self.reset();
}

}  // namespace detail

// ---------------------------------------------------------------- public wrappers

std::string_view to_string(ConnectionStatus status) {
  switch (status) {
    case ConnectionStatus::Connecting:
      return "connecting";
    case ConnectionStatus::Connected:
      return "connected";
    case ConnectionStatus::Reconnecting:
      return "reconnecting";
    case ConnectionStatus::Draining:
      return "draining";
    case ConnectionStatus::Closed:
      return "closed";
  }
  return "unknown";
}

Subscription::Subscription(std::weak_ptr<detail::ConnectionImpl> conn, std::shared_ptr<detail::SubState> state)
    : conn_(std::move(conn)), state_(std::move(state)) {}
Subscription::Subscription(Subscription&&) noexcept = default;
Subscription& Subscription::operator=(Subscription&&) noexcept = default;
Subscription::~Subscription() = default;

namespace {
const std::string kEmpty;
Status closed_sub(std::string_view what) {
  return make_error(ErrorCode::Closed, std::string(what) + ": subscription closed");
}
}  // namespace

Status Subscription::unsubscribe() {
  auto c = conn_.lock();
  if (!c || !state_) return closed_sub("unsubscribe");
  return c->unsubscribe(state_);
}

Status Subscription::auto_unsubscribe(uint64_t max_msgs) {
  auto c = conn_.lock();
  if (!c || !state_) return closed_sub("auto_unsubscribe");
  return c->auto_unsubscribe(state_, max_msgs);
}

Result<Msg> Subscription::next(std::chrono::milliseconds timeout) {
  auto c = conn_.lock();
  if (!c || !state_) return closed_sub("next");
  return c->next(state_, timeout);
}

Status Subscription::set_pending_limits(int64_t msgs, int64_t bytes) {
  auto c = conn_.lock();
  if (!c || !state_) return closed_sub("set_pending_limits");
  return c->set_pending_limits(state_, msgs, bytes);
}

const std::string& Subscription::subject() const { return state_ ? state_->subject : kEmpty; }
const std::string& Subscription::queue() const { return state_ ? state_->queue : kEmpty; }
uint64_t Subscription::sid() const { return state_ ? state_->sid : 0; }
bool Subscription::is_valid() const {
  auto c = conn_.lock();
  return c && state_ && c->status() != ConnectionStatus::Closed && c->sub_is_open(state_);
}
uint64_t Subscription::delivered() const { return state_ ? state_->delivered.load() : 0; }
uint64_t Subscription::pending_msgs() const { return state_ ? state_->pending_msgs.load() : 0; }
uint64_t Subscription::dropped() const { return state_ ? state_->dropped.load() : 0; }

Connection::Connection(std::shared_ptr<detail::ConnectionImpl> impl) : impl_(std::move(impl)) {}

Connection::~Connection() { impl_->shutdown_and_join(); }

Result<std::unique_ptr<Connection>> Connection::connect(Options opts) {
  if (opts.connect_timeout.count() <= 0 || opts.ping_interval.count() <= 0 || opts.max_pings_out < 1 ||
      opts.reconnect_wait.count() < 0 || opts.reconnect_jitter.count() < 0 || opts.pending_msgs_limit <= 0 ||
      opts.pending_bytes_limit <= 0)
    return make_error(ErrorCode::InvalidArgument,
                      "connect: an option is out of range (timeouts, intervals and limits must be > 0)");
  auto servers = detail::parse_server_list(detail::effective_url(opts.url));
  if (!servers) return servers.status();
  auto impl = std::make_shared<detail::ConnectionImpl>(std::move(opts), std::move(*servers));
  if (Status st = impl->start(); !st) return st;
  std::unique_ptr<Connection> conn(new Connection(impl));
  impl->start_dispatcher(conn.get());
  return conn;
}

Status Connection::publish(std::string_view subject, std::string_view data) {
  return impl_->publish(subject, {}, nullptr, false, data);
}
Status Connection::publish(std::string_view subject, std::string_view reply, std::string_view data) {
  return impl_->publish(subject, reply, nullptr, false, data);
}
Status Connection::publish(const Msg& msg) {
  return impl_->publish(msg.subject, msg.reply, &msg.headers, msg.has_headers, msg.data);
}

Result<Subscription> Connection::subscribe(std::string_view subject, MsgHandler handler) {
  if (!handler) return make_error(ErrorCode::InvalidArgument, "subscribe: empty handler");
  return impl_->subscribe(subject, {}, std::move(handler));
}
Result<Subscription> Connection::queue_subscribe(std::string_view subject, std::string_view queue, MsgHandler handler) {
  if (!handler) return make_error(ErrorCode::InvalidArgument, "queue_subscribe: empty handler");
  if (queue.empty()) return make_error(ErrorCode::InvalidArgument, "queue_subscribe: empty queue group");
  return impl_->subscribe(subject, queue, std::move(handler));
}
Result<Subscription> Connection::subscribe_sync(std::string_view subject) { return impl_->subscribe(subject, {}, {}); }
Result<Subscription> Connection::queue_subscribe_sync(std::string_view subject, std::string_view queue) {
  if (queue.empty()) return make_error(ErrorCode::InvalidArgument, "queue_subscribe_sync: empty queue group");
  return impl_->subscribe(subject, queue, {});
}

Result<Msg> Connection::request(std::string_view subject, std::string_view data, std::chrono::milliseconds timeout) {
  return impl_->request(subject, nullptr, false, data, timeout);
}
Result<Msg> Connection::request(const Msg& msg, std::chrono::milliseconds timeout) {
  return impl_->request(msg.subject, &msg.headers, msg.has_headers, msg.data, timeout);
}

Status Connection::flush(std::chrono::milliseconds timeout) { return impl_->flush(timeout); }
Status Connection::drain(std::chrono::milliseconds timeout) { return impl_->drain(timeout); }
void Connection::close() { impl_->close(); }
std::string Connection::new_inbox() { return impl_->new_inbox(); }
ConnectionStatus Connection::status() const { return impl_->status(); }
ServerInfo Connection::server_info() const { return impl_->server_info(); }
Status Connection::last_error() const { return impl_->last_error(); }

}  // namespace tern
