#pragma once
// tern::Connection: a NATS client connection. tern::Subscription: one subscription on it.
//
// Threads. Each Connection runs three threads of its own:
//  - an I/O thread with a private libuv loop (never uv_default_loop()): it reads, parses,
//    writes, answers server PINGs, sends keep-alive PINGs and reconnects. No user code
//    ever runs on it, so a slow callback never stalls reading;
//  - a message thread that runs the subscription handlers, one message at a time, in the
//    order the messages arrived;
//  - an event thread that runs the Options callbacks (disconnected, reconnected, error,
//    closed), in the order the events happened. So a handler that blocks does not delay
//    the slow-consumer report about it. closed is always the very last callback: it runs
//    after the message thread has finished.
// Every method of Connection and Subscription may be called from any thread, at the same
// time as any other, unless its comment says otherwise. No method throws (see <tern/errors.h>).
//
// Lifetime. Connection::connect() returns a unique_ptr; destroying it closes the
// connection (as close() does), waits for the closed callback to finish, and joins the
// threads (so every callback must eventually return, and a Connection must never be
// destroyed inside one of its own callbacks). A Subscription may outlive its Connection:
// its methods then return ErrorCode::Closed.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tern/errors.h"
#include "tern/msg.h"
#include "tern/options.h"
#include "tern/status.h"

namespace tern {

namespace detail {
class ConnectionImpl;
struct SubState;
}  // namespace detail

enum class ConnectionStatus { Connecting, Connected, Reconnecting, Draining, Closed };
std::string_view to_string(ConnectionStatus status);

// What the server said about itself in its INFO (the latest one).
struct ServerInfo {
  std::string server_id;
  std::string server_name;
  std::string version;
  std::string host;
  int port = 0;
  int64_t max_payload = 0;  // bytes; a publish (headers + data) larger than this is refused
  uint64_t client_id = 0;   // this connection's id on the server (0 when not sent)
  bool headers = false;
  bool auth_required = false;
  bool jetstream = false;
  std::string connected_url;  // "host:port" of the server this connection uses
};

// Called on the message thread for each message of an async subscription. The Msg is
// the callback's to keep (move from it freely).
using MsgHandler = std::function<void(Msg&)>;

class Subscription {
 public:
  Subscription() = default;  // an empty handle: every method returns ErrorCode::Closed
  Subscription(Subscription&&) noexcept;
  Subscription& operator=(Subscription&&) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  // Destroying the handle does NOT unsubscribe, as in nats.go: an async subscription keeps
  // delivering to its handler until unsubscribe(), auto-unsubscribe, drain or close; a
  // sync one keeps queueing (up to its pending limits) with nobody to read.
  ~Subscription();

  // Stops delivery now: sends UNSUB; messages already received but not yet delivered are
  // discarded (use Connection::drain() to deliver them instead). Later calls return
  // ErrorCode::Closed. Non-blocking. Safe inside the subscription's own handler.
  Status unsubscribe();
  // Unsubscribes automatically once `max_msgs` messages in total have been received
  // (counting those already received); the limit survives reconnects. Non-blocking.
  Status auto_unsubscribe(uint64_t max_msgs);

  // Sync subscriptions only: the next message, waiting up to `timeout`. Errors:
  // Timeout, Closed (unsubscribed, auto-unsubscribe limit reached and queue empty, or the
  // connection closed), InvalidArgument (an async subscription). Blocks the calling thread.
  Result<Msg> next(std::chrono::milliseconds timeout);

  // Replaces this subscription's pending limits (see Options::pending_msgs_limit).
  Status set_pending_limits(int64_t msgs, int64_t bytes);

  const std::string& subject() const;  // empty for an empty handle
  const std::string& queue() const;    // empty when not a queue subscription
  uint64_t sid() const;
  bool is_valid() const;          // subscribed and not yet closed
  uint64_t delivered() const;     // messages received from the server so far
  uint64_t pending_msgs() const;  // received, not yet handed to the application
  uint64_t dropped() const;       // dropped by the pending limits

 private:
  friend class detail::ConnectionImpl;
  Subscription(std::weak_ptr<detail::ConnectionImpl> conn, std::shared_ptr<detail::SubState> state);
  std::weak_ptr<detail::ConnectionImpl> conn_;
  std::shared_ptr<detail::SubState> state_;
};

class Connection {
 public:
  // Connects to the first server of opts.url that answers, and finishes the handshake
  // (INFO, CONNECT, PING, PONG) before returning. Blocks up to about
  // opts.connect_timeout per server. Errors: InvalidArgument (bad URL or options),
  // Unsupported (tls://, or a server that requires TLS), AuthFailed, ConnectionFailed.
  // The first connect never retries; reconnecting applies only once connected.
  static Result<std::unique_ptr<Connection>> connect(Options opts = {});

  ~Connection();  // closes (see close()) and joins the threads; not from a callback
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // --- Publishing. Non-blocking: the message is queued for the I/O thread. While
  // reconnecting it is buffered (Options::reconnect_buffer_size). An ok Status means
  // accepted, not delivered; use flush() to know the server has it. If the connection
  // drops, what was not yet handed to the socket is kept and sent after the reconnect;
  // the last write in flight may be lost (at-most-once, as in every NATS client).
  // Errors: InvalidArgument (empty subject or one with whitespace), MaxPayload, Closed,
  // BufferFull, Disconnected.
  Status publish(std::string_view subject, std::string_view data);
  Status publish(std::string_view subject, std::string_view reply, std::string_view data);
  Status publish(const Msg& msg);  // with headers when msg.has_headers or non-empty headers

  // --- Subscribing. Non-blocking (use flush() to be sure the server has the SUB).
  // Errors: InvalidArgument (bad subject/queue, empty handler), Closed, and Draining
  // connections refuse new subscriptions (Closed).
  // `handler` runs on the message thread for each message; libtern drops its copy of it
  // when the subscription ends (unsubscribe, auto-unsubscribe limit, drain, close).
  Result<Subscription> subscribe(std::string_view subject, MsgHandler handler);
  Result<Subscription> queue_subscribe(std::string_view subject, std::string_view queue, MsgHandler handler);
  // Messages wait in the subscription until Subscription::next() takes them.
  Result<Subscription> subscribe_sync(std::string_view subject);
  Result<Subscription> queue_subscribe_sync(std::string_view subject, std::string_view queue);

  // --- Request/reply over one shared inbox subscription "_INBOX.<nuid>.*" (made on the
  // first request). Blocks up to `timeout`. Errors: Timeout, NoResponders (the server
  // said nobody listens on `subject`), Closed, Disconnected, and publish()'s errors.
  // May be called from a handler (replies are matched on the I/O thread), but every other
  // handler of this connection waits meanwhile.
  // A reply arriving after the timeout is discarded.
  Result<Msg> request(std::string_view subject, std::string_view data, std::chrono::milliseconds timeout);
  Result<Msg> request(const Msg& msg, std::chrono::milliseconds timeout);  // msg.reply is ignored

  // Sends PING and waits for the PONG: then the server has processed everything this
  // connection sent before. Blocks up to `timeout`. Errors: Timeout, Disconnected, Closed.
  Status flush(std::chrono::milliseconds timeout);

  // Graceful shutdown: unsubscribes everything, waits until every message the server
  // already sent has been handed to the application (callbacks run; sync subscriptions
  // are emptied by their next() callers), flushes pending publishes, then closes. Blocks
  // up to `timeout`; on Timeout it closes anyway. Errors: Timeout, Closed, Disconnected,
  // InvalidArgument (called from a message handler, where it could never finish).
  Status drain(std::chrono::milliseconds timeout);

  // Closes now: pending publishes get a best-effort write, subscriptions end (pending
  // messages are discarded, blocked next()/request()/flush() calls return Closed), the
  // closed callback is queued last. Idempotent. Blocks until the I/O thread has stopped
  // (a few ms, at most ~0.5 s to hand the last bytes to the socket); does not wait for
  // the callbacks. Safe inside a callback.
  void close();

  // A unique inbox subject "_INBOX.<22-char nuid>". Thread-safe, non-blocking.
  std::string new_inbox();

  ConnectionStatus status() const;
  bool is_closed() const { return status() == ConnectionStatus::Closed; }
  ServerInfo server_info() const;  // a copy of the latest INFO
  // Why the connection closed, if it closed for a reason other than close()/drain().
  Status last_error() const;

 private:
  explicit Connection(std::shared_ptr<detail::ConnectionImpl> impl);
  std::shared_ptr<detail::ConnectionImpl> impl_;
};

}  // namespace tern
