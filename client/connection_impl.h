#pragma once
// The inside of tern::Connection. Private to libtern.
//
// Three kinds of threads meet here:
//  - API threads (any user thread) call the public methods: they take mu_, queue protocol
//    bytes in out_, and wake the I/O thread with uv_async_send();
//  - the I/O thread runs loop_ (a private libuv loop): it owns the socket (Transport), the
//    timers and the parser, writes out_, parses input, and hands messages and events to
//  - two callback threads: the message dispatcher runs subscription handlers from
//    msg_events_, one at a time; the event dispatcher runs the Options callbacks from
//    ctl_events_ (so a blocked handler cannot hide a slow-consumer report). The closed
//    callback runs last of all: the event dispatcher waits for the message dispatcher first.
// One mutex, mu_, guards every field marked "mu_". Fields marked "I/O" are touched only
// by the I/O thread (or before it starts / after it is joined). No user code ever runs
// on the I/O thread or with mu_ held.

#include <uv.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "client/nuid.h"
#include "client/url.h"
#include "proto/parser.h"
#include "tern/connection.h"

namespace tern::detail {

// Largest INFO line we accept from a server: INFO can carry connect_urls and grows well
// past the 4096 bytes a server allows its clients.
inline constexpr size_t kClientMaxControlLine = 64 * 1024;
// Read chunk handed to libuv.
inline constexpr size_t kReadChunk = 64 * 1024;
// How long close() lets the last bytes drain to the socket before cutting it.
inline constexpr uint64_t kCloseGraceMs = 500;

struct SubState {
  SubState(uint64_t sid_, std::string subject_, std::string queue_, MsgHandler handler_, int64_t lim_msgs,
           int64_t lim_bytes)
      : sid(sid_),
        subject(std::move(subject_)),
        queue(std::move(queue_)),
        is_sync(!handler_),
        handler(handler_ ? std::make_shared<const MsgHandler>(std::move(handler_)) : nullptr),
        limit_msgs(lim_msgs),
        limit_bytes(lim_bytes) {}

  const uint64_t sid;
  const std::string subject;
  const std::string queue;
  const bool is_sync;

  // mu_: all below.
  std::shared_ptr<const MsgHandler> handler;  // async only; reset when the sub closes (breaks capture cycles)
  bool active = true;                         // in ConnectionImpl::subs_: the server may still send to it
  bool closed = false;                        // unsubscribed/closed: discard everything still queued
  uint64_t max = 0;                           // auto-unsubscribe after this many in total; 0 = none
  int64_t limit_msgs, limit_bytes;
  int64_t pending_bytes = 0;
  bool slow = false;           // a SlowConsumer error was reported and the backlog has not emptied since
  std::deque<Msg> inbox;       // sync only: messages waiting for next()
  std::condition_variable cv;  // sync only: next() waits here (with mu_)

  // Readable without mu_ (Subscription's counters).
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> pending_msgs{0};
  std::atomic<uint64_t> dropped{0};
};

// One TCP connection attempt and, once the handshake is done, the live connection.
// Owned by the I/O thread; deleted in the libuv close callback of `tcp`.
struct Transport {
  enum class Phase { Connecting, AwaitInfo, AwaitPong, Open, Closing };
  ConnectionImpl* impl = nullptr;
  ServerAddr addr;
  uv_tcp_t tcp{};
  uv_connect_t connect_req{};
  uv_shutdown_t shutdown_req{};
  Phase phase = Phase::Connecting;
  bool write_in_flight = false;  // a write of out_ is pending: the next batch waits (coalescing)
  std::string rbuf;              // unparsed input
  char chunk[kReadChunk];
};

struct PongWaiter {
  bool done = false;
  Status status;
};

struct RequestSlot {
  bool done = false;
  Msg reply;
};

struct Event {
  enum class Kind { Message, Disconnected, Reconnected, Closed, Error };
  Kind kind;
  std::shared_ptr<SubState> sub;  // Message
  Msg msg;                        // Message
  Status error;                   // Error
};

class ConnectionImpl : public std::enable_shared_from_this<ConnectionImpl> {
 public:
  ConnectionImpl(Options opts, ServerList servers);
  ~ConnectionImpl();

  // Starts the I/O thread and waits for the first connect. On failure everything is
  // already stopped and joined.
  Status start();
  // Starts the two callback threads; `owner` is what callbacks receive.
  void start_dispatcher(Connection* owner);

  // API side (any thread but the I/O thread).
  Status publish(std::string_view subject, std::string_view reply, const Headers* headers, bool with_headers,
                 std::string_view data);
  Result<Subscription> subscribe(std::string_view subject, std::string_view queue, MsgHandler handler);
  Result<Msg> request(std::string_view subject, const Headers* headers, bool with_headers, std::string_view data,
                      std::chrono::milliseconds timeout);
  Status flush(std::chrono::milliseconds timeout);
  Status drain(std::chrono::milliseconds timeout);
  void close();
  // close() plus joining the callback threads (except the calling one).
  void shutdown_and_join();
  std::string new_inbox();
  ConnectionStatus status() const;
  ServerInfo server_info() const;
  Status last_error() const;

  // Subscription side.
  Status unsubscribe(const std::shared_ptr<SubState>& sub);
  Status auto_unsubscribe(const std::shared_ptr<SubState>& sub, uint64_t max);
  Result<Msg> next(const std::shared_ptr<SubState>& sub, std::chrono::milliseconds timeout);
  Status set_pending_limits(const std::shared_ptr<SubState>& sub, int64_t msgs, int64_t bytes);
  bool sub_is_open(const std::shared_ptr<SubState>& sub) const;

 private:
  // ---- API helpers (REQUIRES: mu_ held)
  Status publish_locked(std::string_view subject, std::string_view reply, const Headers* headers, bool with_headers,
                        std::string_view data);
  void wake_locked();
  void close_sub_locked(SubState& sub);  // marks closed, drops the handler, wakes next()
  void enqueue_event_locked(Event ev);
  Status flush_until(std::chrono::steady_clock::time_point deadline, std::unique_lock<std::mutex>& lock);

  // ---- I/O thread
  void io_main();
  void start_attempt();
  void attempt_failed(Status why);
  void handshake_done();
  void connection_lost(Status why);
  void schedule_reconnect();
  void close_for_good(Status why);
  void close_transport(bool graceful);
  void write_pending();
  void write_direct(std::string data);
  void on_read_bytes(Transport* tp, const char* data, size_t n);
  bool handle_op(Transport* tp, const proto::ParsedOp& op);
  Status apply_info(std::string_view json, bool& tls_required);
  void send_connect(Transport* tp);
  void deliver(const proto::ParsedOp& op);
  void handle_server_error(std::string_view text);
  void on_ping_timer();

  static void on_wake(uv_async_t* h);
  static void on_connect(uv_connect_t* req, int status);
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_transport_closed(uv_handle_t* h);
  static void on_attempt_timeout(uv_timer_t* t);
  static void on_reconnect_timer(uv_timer_t* t);
  static void on_ping_timer_cb(uv_timer_t* t);
  static void on_guard_timer(uv_timer_t* t);

  // ---- callback threads
  void message_main(std::shared_ptr<ConnectionImpl> self);
  void event_main(std::shared_ptr<ConnectionImpl> self);

  const Options opts_;
  const ServerList servers_;
  Connection* owner_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // mu_: connect result, pongs, request replies, drain progress
  ConnectionStatus status_ = ConnectionStatus::Connecting;  // mu_
  bool ever_connected_ = false;                             // mu_
  bool connect_done_ = false;                               // mu_: start() may return
  Status connect_status_;                                   // mu_
  bool close_requested_ = false;                            // mu_
  bool wake_open_ = false;                                  // mu_: wake_ may be signalled
  std::string out_;           // mu_: protocol bytes for the server; while disconnected the reconnect buffer
  size_t pings_to_send_ = 0;  // mu_: PINGs to append after out_ (one per pongs_ entry not yet written)
  std::deque<std::shared_ptr<PongWaiter>> pongs_;       // mu_: one per PING in flight; nullptr = keep-alive
  int pings_out_ = 0;                                   // mu_: keep-alive PINGs unanswered
  std::map<uint64_t, std::shared_ptr<SubState>> subs_;  // mu_: by sid, every active subscription
  uint64_t next_sid_ = 1;                               // mu_
  ServerInfo info_;                                     // mu_
  Status last_error_;                                   // mu_
  Nuid nuid_;                                           // mu_
  // Request/reply (mu_): the shared inbox subscription "<resp_prefix_>*" and open requests by token.
  std::string resp_prefix_;
  uint64_t resp_sid_ = 0;
  uint64_t next_token_ = 0;
  std::unordered_map<std::string, std::shared_ptr<RequestSlot>> requests_;
  // Dispatcher (mu_).
  std::deque<Event> msg_events_;  // Message events
  std::deque<Event> ctl_events_;  // all others
  std::condition_variable msg_cv_, ctl_cv_;
  // Handlers of ended subscriptions, destroyed by the message thread outside mu_ (a
  // lambda's captures may call back into libtern); the rest go with ~ConnectionImpl.
  std::vector<std::shared_ptr<const MsgHandler>> dead_handlers_;
  bool msg_stop_ = false;  // the message dispatcher ends once its queue is empty
  bool msg_done_ = false;  // ...and has ended
  std::thread::id msg_thread_id_, ctl_thread_id_;

  std::mutex join_mu_;  // serialises joins of the threads
  std::thread io_thread_;
  std::thread msg_thread_;
  std::thread ctl_thread_;

  // I/O thread state.
  uv_loop_t loop_{};
  uv_async_t wake_{};
  uv_timer_t attempt_timer_{};       // connect timeout of the current attempt
  uv_timer_t reconnect_timer_{};     // backoff between reconnect attempts
  uv_timer_t ping_timer_{};          // keep-alive
  uv_timer_t guard_timer_{};         // bounds the graceful close
  Transport* tp_ = nullptr;          // the current attempt or live connection
  Transport* closing_tp_ = nullptr;  // the transport a graceful close is draining
  size_t server_index_ = 0;
  size_t attempts_this_round_ = 0;  // initial connect: servers tried so far
  int reconnect_attempt_ = 0;
  bool shutting_down_ = false;
  Status last_attempt_error_;
  proto::Parser parser_{proto::Parser::Side::Client};
  std::mt19937_64 jitter_rng_{std::random_device{}()};
};

}  // namespace tern::detail
