// Pull consumers: JsMsg acks, ack-subject metadata, PullConsumer::fetch/next/consume and the
// consume loop (ConsumeState). Wire behaviour follows nats.go 1.22 and nats.js v3 against the
// same servers (spec: shared/spec/jetstream-api.md §9 pull requests, §10 acks).
//
// Where messages arrive. The server delivers pulled messages to the request's reply subject
// with their ORIGINAL subject in MSG; only the subscription id ties them to the request. So a
// pull is a publish with a reply inbox we subscribe to ourselves, never Connection::request().
#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/jetstream_impl.h"

namespace tern {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

// The status replies of §9.3.
constexpr int kStatusHeartbeat = 100;
constexpr int kStatusNoMessages = 404;
constexpr int kStatusRequestTimeout = 408;
constexpr int kStatusConflict = 409;
constexpr int kStatusNoResponders = 503;

int64_t to_ns(milliseconds d) { return std::chrono::duration_cast<nanoseconds>(d).count(); }

// A pull request expires a little before the caller's timeout, so the server's 408 (and not
// our own clock) ends the fetch and no request is left waiting on the server for an inbox we
// already dropped. nats.go takes 10 ms off; 10% (10 ms .. 500 ms) also covers a loaded host.
milliseconds request_expiry(milliseconds timeout) {
  milliseconds margin = std::clamp(timeout / 10, milliseconds(10), milliseconds(500));
  // At least 1 ms: a request without "expires" would wait on the server for ever and take the
  // next message to an inbox nobody reads once this fetch returned.
  if (timeout <= 2 * margin) return std::max(timeout / 2, milliseconds(1));
  return timeout - margin;
}

std::string status_text(const Msg& m) {
  std::string s = std::to_string(m.headers.status());
  if (!m.headers.description().empty()) s += " " + m.headers.description();
  return s;
}

// A status reply that ends a pull request with an error rather than "fewer messages".
Status status_error(const Msg& m, const std::string& next_subject) {
  if (m.headers.status() == kStatusNoResponders)
    return make_error(ErrorCode::NoResponders,
                      "no responders on '" + next_subject + "': the consumer or its stream does not exist");
  return make_error(ErrorCode::ServerError, "pull request on '" + next_subject + "': " + status_text(m));
}

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "Nats-Pending-Messages" of a 408/409 status: how much of that request went unfilled.
std::optional<uint64_t> pending_messages(const Msg& m) {
  const std::string* v = m.headers.get("Nats-Pending-Messages");
  uint64_t n = 0;
  if (v && parse_u64(*v, n)) return n;
  return std::nullopt;
}

std::string pull_body(size_t batch, milliseconds expires, bool no_wait, size_t max_bytes, milliseconds heartbeat) {
  nlohmann::json j;
  j["batch"] = batch;
  if (expires.count() > 0) j["expires"] = to_ns(expires);
  if (no_wait) j["no_wait"] = true;
  if (max_bytes > 0) j["max_bytes"] = max_bytes;
  if (heartbeat.count() > 0) j["idle_heartbeat"] = to_ns(heartbeat);
  return j.dump();
}

const std::string& empty_string() {
  static const std::string empty;
  return empty;
}

Status empty_consumer(std::string_view what) {
  return make_error(ErrorCode::InvalidArgument, std::string(what) + ": empty PullConsumer (moved from or default)");
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Ack subjects

Result<MsgMetadata> parse_ack_subject(std::string_view reply) {
  auto bad = [&] {
    return make_error(ErrorCode::InvalidArgument, "not a JetStream ack subject: '" + std::string(reply) + "'");
  };
  std::vector<std::string_view> t;
  for (size_t start = 0;;) {
    size_t dot = reply.find('.', start);
    t.push_back(reply.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending> (9 tokens).
  // v2: $JS.ACK.<domain>.<account hash>.<stream>... .<pending>.<random> (12; nats.go accepts
  // 11 or more, so that later tokens may be added). Domain "_" means none.
  if (t.size() < 9 || t.size() == 10 || t[0] != "$JS" || t[1] != "ACK") return bad();
  MsgMetadata md;
  size_t i = 2;
  if (t.size() >= 11) {
    if (t[2] != "_") md.domain = std::string(t[2]);
    i = 4;
  }
  md.stream = std::string(t[i]);
  md.consumer = std::string(t[i + 1]);
  uint64_t ts = 0;
  if (md.stream.empty() || md.consumer.empty() || !parse_u64(t[i + 2], md.num_delivered) ||
      !parse_u64(t[i + 3], md.stream_seq) || !parse_u64(t[i + 4], md.consumer_seq) || !parse_u64(t[i + 5], ts) ||
      !parse_u64(t[i + 6], md.num_pending))
    return bad();
  md.timestamp = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(nanoseconds(static_cast<int64_t>(ts))));
  return md;
}

// ---------------------------------------------------------------------------------------
// JsMsg

Status JsMsg::send_ack(std::string_view body, bool final) {
  if (conn_ == nullptr || msg_.reply.empty())
    return make_error(ErrorCode::InvalidArgument, "ack: not a JetStream message (no reply subject)");
  // nats.go's ErrMsgAlreadyAckd: the server would ignore it, so say so here. +WPI after a
  // final ack is refused too: there is no ack timer left to reset.
  if (acked_) return make_error(ErrorCode::InvalidArgument, "ack: message already acknowledged");
  if (Status st = conn_->publish(msg_.reply, body); !st) return st;
  if (final) acked_ = true;
  return Status::ok();
}

Status JsMsg::ack() { return send_ack("+ACK", true); }
Status JsMsg::nak() { return send_ack("-NAK", true); }
Status JsMsg::nak(nanoseconds delay) {
  // Exactly what nats.go's NakWithDelay sends.
  return send_ack("-NAK {\"delay\": " + std::to_string(delay.count()) + "}", true);
}
Status JsMsg::in_progress() { return send_ack("+WPI", false); }
Status JsMsg::term() { return send_ack("+TERM", true); }

Status JsMsg::ack_sync(milliseconds timeout) {
  if (conn_ == nullptr || msg_.reply.empty())
    return make_error(ErrorCode::InvalidArgument, "ack_sync: not a JetStream message (no reply subject)");
  if (acked_) return make_error(ErrorCode::InvalidArgument, "ack_sync: message already acknowledged");
  // Both servers answer an ack that has a reply subject with one empty message once they
  // processed it (§10.2).
  auto r = conn_->request(msg_.reply, "+ACK", timeout);
  if (!r) return r.status();
  acked_ = true;
  return Status::ok();
}

// ---------------------------------------------------------------------------------------
// fetch

namespace detail {

std::string PullState::next_subject() const { return js->api_subject("CONSUMER.MSG.NEXT." + stream + "." + consumer); }

Result<std::vector<JsMsg>> PullState::fetch(size_t batch, milliseconds timeout, const FetchOptions& opts) {
  if (batch == 0) return make_error(ErrorCode::InvalidArgument, "fetch: batch must be > 0");
  if (timeout.count() <= 0) return make_error(ErrorCode::InvalidArgument, "fetch: timeout must be > 0");
  // no_wait asks for what is there now, without expiry (with one, 2.9 would wait for it).
  milliseconds expires = opts.no_wait ? milliseconds(0) : request_expiry(timeout);
  milliseconds heartbeat = opts.no_wait ? milliseconds(0) : opts.heartbeat;
  if (heartbeat.count() > 0 && expires < 2 * heartbeat)
    return make_error(ErrorCode::InvalidArgument, "fetch: heartbeat must be at most half the timeout");

  Connection& conn = js->conn();
  auto start = Clock::now();
  auto deadline = start + timeout;
  auto sub = conn.subscribe_sync(conn.new_inbox());
  if (!sub) return sub.status();
  struct Unsubscribe {
    Subscription& s;
    ~Unsubscribe() { (void)s.unsubscribe(); }
  } unsubscribe_on_return{*sub};
  // The SUB went out before this PUB on the same connection, so the server has it first.
  std::string next = next_subject();
  if (Status st =
          conn.publish(next, sub->subject(), pull_body(batch, expires, opts.no_wait, opts.max_bytes, heartbeat));
      !st)
    return st;

  std::vector<JsMsg> out;
  bool heard = false;  // any message or status came back
  // With a heartbeat, two missed ones mean the request (or the connection) is gone.
  auto alive_until = heartbeat.count() > 0 ? Clock::now() + 2 * heartbeat : Clock::time_point::max();
  while (out.size() < batch) {
    auto now = Clock::now();
    auto until = std::min(deadline, alive_until);
    if (now >= until) {
      if (until == alive_until && out.empty())
        return why_silent(
            timeout, make_error(ErrorCode::Timeout, "fetch from '" + next + "': no heartbeat from the server for " +
                                                        std::to_string((2 * heartbeat).count()) + " ms"));
      break;
    }
    auto m = sub->next(std::chrono::ceil<milliseconds>(until - now));
    if (!m) {
      if (error_code(m.status()) == ErrorCode::Timeout) continue;  // the loop head decides
      if (out.empty()) return m.status();
      break;
    }
    heard = true;
    if (heartbeat.count() > 0) alive_until = Clock::now() + 2 * heartbeat;
    if (!m->is_status()) {
      out.push_back(make_msg(&conn, std::move(*m)));
      continue;
    }
    int status = m->headers.status();
    if (status == kStatusHeartbeat) continue;
    // 404 No Messages (no_wait), 408 Request Timeout / Requests Pending: the request is over.
    if (status == kStatusNoMessages || status == kStatusRequestTimeout) break;
    // 409 (consumer deleted, max_waiting exceeded, ...), 400, 503: an error, unless some
    // messages came first: they are the caller's to ack.
    if (!out.empty()) break;
    return status_error(*m, next);
  }
  if (out.empty()) {
    Status timed_out = make_error(
        ErrorCode::Timeout, "fetch from '" + next + "': no message within " + std::to_string(timeout.count()) + " ms");
    // A live consumer answers an expired request with a 408 before our deadline; silence
    // means there is none (deleted), which the API names.
    return heard ? timed_out : why_silent(timeout, timed_out);
  }
  return out;
}

Status PullState::why_silent(milliseconds timeout, Status otherwise) {
  auto probe = std::min(js->opts().timeout, std::max(timeout, milliseconds(200)));
  auto info = js->api_request("CONSUMER.INFO." + stream + "." + consumer, "", probe);
  if (!info &&
      (error_code(info.status()) == ErrorCode::JetStreamApi || error_code(info.status()) == ErrorCode::NoResponders))
    return info.status();
  return otherwise;
}

// ---------------------------------------------------------------------------------------
// consume

// The state of one consume(): an async subscription on one inbox, pull requests kept topped
// up, and a monitor thread for what no message tells us (missed heartbeats, a request that
// vanished with a reconnect, a retry after a transient 409).
//
// Threads: on_msg runs on the connection's message thread; monitor_main on its own thread;
// stop() and the accessors on any thread. `mu` guards the request bookkeeping; `cb_mu` is held
// while the user's handler runs, which is how stop() waits for a running callback.
struct ConsumeState {
  std::shared_ptr<PullState> pull;
  Connection* conn = nullptr;
  std::function<void(JsMsg&)> handler;
  ConsumeOptions opts;
  size_t threshold = 0;
  std::string next;  // MSG.NEXT subject
  Subscription sub;

  std::mutex mu;
  std::condition_variable cv;      // wakes the monitor (stop)
  bool stopped = false;            // GUARDED_BY(mu)
  size_t outstanding = 0;          // GUARDED_BY(mu): asked for and not yet received or expired
  bool halted = false;             // GUARDED_BY(mu): a terminal status; no more pulls
  Clock::time_point retry_at{};    // GUARDED_BY(mu): re-pull then after a transient error
  Clock::time_point last_heard{};  // GUARDED_BY(mu): last message or status on the inbox
  Clock::time_point last_pull{};   // GUARDED_BY(mu)
  Status last_error;               // GUARDED_BY(mu)
  std::string conn_identity;       // GUARDED_BY(mu): identity_of(*conn) when last looked
  bool saw_disconnected = false;   // GUARDED_BY(mu): a monitor tick found the connection down
  std::thread monitor;
  std::mutex join_mu;

  std::mutex cb_mu;
  std::atomic<std::thread::id> cb_thread{};  // the thread running the handler, if any
  std::atomic<uint64_t> delivered{0};
  std::atomic<bool> stop_requested{false};

  ~ConsumeState() { stop(); }

  // Every new connection to a server, a reconnect included, has a new (server_id, client_id).
  static std::string identity_of(Connection& c) {
    ServerInfo info = c.server_info();
    return info.server_id + "/" + std::to_string(info.client_id);
  }

  enum class Link { Same, Replaced, Down };
  // REQUIRES: mu held. Replaced when the connection was replaced since the last call: a
  // reconnect drops the server's waiting pull requests without a word, so nothing we asked for
  // will come (nats.go re-pulls on its reconnected event). The monitor's ticks see a reconnect
  // as a changed identity, or as a tick that found the connection down (should a server hand
  // out the same identity again). Down (no point pulling) while it is not connected; once it
  // closed for good the consume halts with Closed.
  Link check_link_locked() {
    ConnectionStatus cs = conn->status();
    if (cs == ConnectionStatus::Closed) {
      last_error = make_error(ErrorCode::Closed, "consume from '" + next + "': the connection is closed");
      halted = true;
      return Link::Down;
    }
    if (cs != ConnectionStatus::Connected) {
      saw_disconnected = saw_disconnected || cs == ConnectionStatus::Reconnecting;
      return Link::Down;
    }
    std::string id = identity_of(*conn);
    bool replaced = saw_disconnected || id != conn_identity;
    saw_disconnected = false;
    conn_identity = std::move(id);
    return replaced ? Link::Replaced : Link::Same;
  }

  // REQUIRES: mu held.
  void send_pull_locked(size_t n) {
    Status st = conn->publish(next, sub.subject(), pull_body(n, opts.expires, false, 0, opts.heartbeat));
    if (!st) {
      last_error = st;
      if (error_code(st) == ErrorCode::Closed) {
        halted = true;  // the connection is gone for good
      } else {
        retry_at = Clock::now() + retry_delay();  // e.g. BufferFull while reconnecting
      }
      return;
    }
    outstanding += n;
    last_pull = Clock::now();
  }

  // REQUIRES: mu held. Asks for more once no more than `threshold` are still on their way.
  void top_up_locked() {
    if (stopped || halted || outstanding > threshold) return;
    send_pull_locked(opts.batch - outstanding);
  }

  milliseconds retry_delay() const { return std::min(opts.expires, milliseconds(1000)); }

  // REQUIRES: mu held.
  void on_status_locked(const Msg& m) {
    int status = m.headers.status();
    if (status == kStatusHeartbeat) return;
    auto pending = pending_messages(m);
    if (status == kStatusRequestTimeout || status == kStatusNoMessages || (status == kStatusConflict && pending)) {
      // One request ended (expired; or 409 Message Size Exceeds MaxBytes / Batch Completed /
      // Server Shutdown, which carry the pending headers): what it did not deliver is no
      // longer on its way. Without the header we cannot tell, so assume nothing is.
      outstanding -= std::min(outstanding, pending.value_or(outstanding));
      top_up_locked();
      return;
    }
    last_error = status_error(m, next);
    const std::string& d = m.headers.description();
    bool transient = status == kStatusConflict &&
                     (d.find("MaxWaiting") != std::string::npos || d.find("Leadership") != std::string::npos);
    if (transient) {
      // The request was refused; try again a little later rather than hammer the server.
      outstanding = 0;
      retry_at = Clock::now() + retry_delay();
    } else {
      // 409 Consumer Deleted, 400 Bad Request, 409 Exceeded MaxRequest*, 503: pulling again
      // cannot help. The subscription stays until stop(); last_error() says why it went quiet.
      halted = true;
    }
  }

  void on_msg(Msg& m) {
    {
      std::lock_guard lock(mu);
      if (stopped) return;
      last_heard = Clock::now();
      if (m.is_status()) {
        on_status_locked(m);
        return;
      }
      if (outstanding > 0) --outstanding;
      top_up_locked();  // before the handler runs, so the server works meanwhile
    }
    std::lock_guard cb_lock(cb_mu);
    if (stop_requested.load()) return;
    cb_thread.store(std::this_thread::get_id());
    struct Clear {
      std::atomic<std::thread::id>& t;
      ~Clear() { t.store(std::thread::id()); }
    } clear{cb_thread};
    JsMsg jm(conn, std::move(m));
    delivered.fetch_add(1);
    handler(jm);
  }

  void monitor_main() {
    auto tick = opts.heartbeat.count() > 0 ? std::min(opts.heartbeat / 2, milliseconds(250)) : milliseconds(250);
    tick = std::max(tick, milliseconds(5));
    // A request's 408 should arrive at its expiry; this long after it, it was lost (a reconnect
    // drops the server's waiting requests silently).
    auto lost_after = opts.expires + std::max(milliseconds(500), opts.expires / 4);
    std::unique_lock lock(mu);
    while (!stopped) {
      cv.wait_for(lock, tick, [&] { return stopped; });
      if (stopped || halted) continue;
      Link link = check_link_locked();
      if (link == Link::Down) continue;
      bool reconnected = link == Link::Replaced;
      auto now = Clock::now();
      bool retry_due = retry_at != Clock::time_point{} && now >= retry_at;
      // A backlog on our side (a slow handler) is not silence from the server.
      bool quiet = sub.pending_msgs() == 0;
      bool heartbeats_missed = quiet && opts.heartbeat.count() > 0 && now - last_heard > 2 * opts.heartbeat;
      bool requests_lost = quiet && now - last_pull > lost_after && now - last_heard > lost_after - opts.expires;
      if (!reconnected && (requests_lost || heartbeats_missed)) {
        // Silence: either the connection lost our requests or the consumer is gone. Ask
        // (without the lock: the message thread must not wait on an API round trip).
        lock.unlock();
        // At most 1 s, which is also the longest stop() may wait for this thread.
        Status gone = pull->why_silent(std::min(opts.expires, milliseconds(1000)), Status::ok());
        lock.lock();
        if (stopped) break;
        if (!gone.is_ok()) {
          last_error = gone;
          if (error_code(gone) == ErrorCode::JetStreamApi) {
            halted = true;  // consumer (or stream) not found: pulling again cannot help
            continue;
          }
        }
        now = Clock::now();
      }
      if (reconnected || retry_due || heartbeats_missed || requests_lost) {
        // Start over: whatever the server still holds for us is delivered and simply counted.
        retry_at = Clock::time_point{};
        outstanding = 0;
        last_heard = now;
        send_pull_locked(opts.batch);
      }
    }
  }

  void stop() {
    {
      std::lock_guard lock(mu);
      stopped = true;
    }
    stop_requested.store(true);
    cv.notify_all();
    (void)sub.unsubscribe();  // Closed when already done: fine
    {
      std::lock_guard j(join_mu);  // stop() may race with itself (ConsumeContext::stop and ~ConsumeState)
      if (monitor.joinable() && monitor.get_id() != std::this_thread::get_id()) monitor.join();
    }
    // Wait for a handler that is running right now, unless that handler is the one calling.
    if (cb_thread.load() != std::this_thread::get_id()) {
      std::lock_guard cb_lock(cb_mu);
    }
  }
};

}  // namespace detail

// ---------------------------------------------------------------------------------------
// ConsumeContext

ConsumeContext::ConsumeContext(ConsumeContext&&) noexcept = default;
ConsumeContext& ConsumeContext::operator=(ConsumeContext&& o) noexcept {
  if (this != &o) {
    stop();
    state_ = std::move(o.state_);
  }
  return *this;
}
ConsumeContext::~ConsumeContext() { stop(); }

// After stop() returns no handler call starts, and one that was running has returned — unless
// stop() is called from inside the handler itself, which then finishes normally.
void ConsumeContext::stop() {
  if (state_) state_->stop();
}

uint64_t ConsumeContext::delivered() const { return state_ ? state_->delivered.load() : 0; }

Status ConsumeContext::last_error() const {
  if (!state_) return Status::ok();
  std::lock_guard lock(state_->mu);
  return state_->last_error;
}

// ---------------------------------------------------------------------------------------
// PullConsumer

PullConsumer::PullConsumer(PullConsumer&&) noexcept = default;
PullConsumer& PullConsumer::operator=(PullConsumer&&) noexcept = default;
PullConsumer::~PullConsumer() = default;

const std::string& PullConsumer::stream() const { return state_ ? state_->stream : empty_string(); }
const std::string& PullConsumer::name() const { return state_ ? state_->consumer : empty_string(); }

Result<std::vector<JsMsg>> PullConsumer::fetch(size_t batch, milliseconds timeout, FetchOptions opts) {
  if (!state_) return empty_consumer("fetch");
  return state_->fetch(batch, timeout, opts);
}

Result<JsMsg> PullConsumer::next(milliseconds timeout) {
  if (!state_) return empty_consumer("next");
  auto msgs = state_->fetch(1, timeout, {});
  if (!msgs) return msgs.status();
  return std::move(msgs->front());
}

Result<ConsumerInfo> PullConsumer::info() {
  if (!state_) return empty_consumer("info");
  auto text = state_->js->api_request("CONSUMER.INFO." + state_->stream + "." + state_->consumer, "");
  if (!text) return text.status();
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  return detail::consumer_info_from_json(j, std::move(*text));
}

Result<ConsumeContext> PullConsumer::consume(std::function<void(JsMsg&)> handler, ConsumeOptions opts) {
  if (!state_) return empty_consumer("consume");
  if (!handler) return make_error(ErrorCode::InvalidArgument, "consume: empty handler");
  if (opts.batch == 0) return make_error(ErrorCode::InvalidArgument, "consume: batch must be > 0");
  if (opts.expires.count() <= 0) return make_error(ErrorCode::InvalidArgument, "consume: expires must be > 0");
  if (opts.heartbeat.count() < 0 || (opts.heartbeat.count() > 0 && opts.expires < 2 * opts.heartbeat))
    return make_error(ErrorCode::InvalidArgument, "consume: heartbeat must be at most half of expires");

  auto cs = std::make_shared<detail::ConsumeState>();
  cs->pull = state_;
  cs->conn = &state_->js->conn();
  cs->handler = std::move(handler);
  cs->opts = opts;
  // nats.js refills at 75% outstanding; half the batch is nats.go's (jetstream package) default.
  cs->threshold = opts.threshold > 0 ? std::min(opts.threshold, opts.batch - 1) : opts.batch / 2;
  cs->next = state_->next_subject();
  // The subscription holds the state weakly: the ConsumeContext owns it, and dropping that stops it.
  std::weak_ptr<detail::ConsumeState> weak = cs;
  auto sub = cs->conn->subscribe(cs->conn->new_inbox(), [weak](Msg& m) {
    if (auto s = weak.lock()) s->on_msg(m);
  });
  if (!sub) return sub.status();
  cs->sub = std::move(*sub);
  {
    std::lock_guard lock(cs->mu);
    cs->conn_identity = detail::ConsumeState::identity_of(*cs->conn);
    cs->last_heard = Clock::now();
    cs->send_pull_locked(opts.batch);
    if (!cs->last_error.is_ok()) {
      Status st = cs->last_error;
      (void)cs->sub.unsubscribe();
      return st;
    }
  }
  cs->monitor = std::thread([p = cs.get()] { p->monitor_main(); });
  return ConsumeContext(std::move(cs));
}

}  // namespace tern
