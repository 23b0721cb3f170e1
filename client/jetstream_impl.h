#pragma once
// libtern JetStream internals shared by jetstream.cpp (management, publishing, JSON) and
// jetstream_pull.cpp (JsMsg, PullConsumer, consume). Not installed.

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tern/jetstream.h"

namespace tern::detail {

// Async publishing (jetstream.cpp): one wildcard reply subscription "<inbox>.*", made on the
// first publish, whose last token names the outstanding publish; a bounded window of them; and
// a timer thread that fails each one whose deadline passes, so no ack waits forever.
// Completions (promise or handler) run outside mu_: acks on the connection's message thread,
// timeouts on the timer thread, Closed on the thread that calls close().
class AsyncAcks : public std::enable_shared_from_this<AsyncAcks> {
 public:
  AsyncAcks(Connection& conn, size_t window) : conn_(conn), window_(window == 0 ? 1 : window) {}
  ~AsyncAcks();  // REQUIRES: close() was called (the timer thread holds a reference until then)
  AsyncAcks(const AsyncAcks&) = delete;
  AsyncAcks& operator=(const AsyncAcks&) = delete;

  // Waits (up to `timeout`) for room in the window, then sends `msg` with a reply subject of
  // its own. Exactly one of `promise` / `handler` is set; it gets the ack, or an error once
  // `timeout` has passed since the send.
  Status publish(Msg msg, std::chrono::milliseconds timeout, std::shared_ptr<std::promise<Result<PubAck>>> promise,
                 PubAckHandler handler);
  // Until nothing is outstanding and every completion has run.
  Status wait_all(std::chrono::milliseconds timeout);
  size_t pending() const;
  // Completes every outstanding publish with Closed, unsubscribes, stops the timer, and waits
  // for completions running on other threads (an ack handler on the message thread) to return,
  // so that none runs after the JetStream is gone. Idempotent.
  void close();

 private:
  struct Pending {
    std::shared_ptr<std::promise<Result<PubAck>>> promise;
    PubAckHandler handler;
    Msg msg;  // what was published (its reply is ours): the handler's argument, and error texts
    std::chrono::steady_clock::time_point deadline;
  };
  using Deadline = std::pair<std::chrono::steady_clock::time_point, uint64_t>;

  Status start_locked();  // REQUIRES: mu_ held
  void on_ack(Msg& reply);  // the subscription's handler (message thread)
  void timer_loop();
  // Removes `token` from pending_ and deadlines_ into `out`; false if it is not there.
  bool take_locked(uint64_t token, Pending& out);  // REQUIRES: mu_ held
  // Counts `n` completions this thread is about to run (completing_, completing_on_).
  void begin_completing_locked(size_t n);  // REQUIRES: mu_ held
  // Runs completions without mu_, counted by begin_completing_locked() meanwhile.
  void finish(std::vector<std::pair<Pending, Result<PubAck>>>& done);

  Connection& conn_;
  const size_t window_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // any change below: window room, all done, a new earliest deadline
  bool started_ = false;        // mu_
  bool closed_ = false;         // mu_
  std::string prefix_;          // mu_ (fixed once started): "_INBOX.<nuid>."
  Subscription sub_;            // mu_
  std::thread timer_;           // mu_
  uint64_t next_token_ = 0;     // mu_
  std::unordered_map<uint64_t, Pending> pending_;  // mu_: by token
  std::set<Deadline> deadlines_;                   // mu_: (deadline, token) for every entry of pending_
  size_t completing_ = 0;  // mu_: taken out of pending_, completion still running
  // mu_: the threads running those completions (one entry per finish() call), so that close()
  // can wait for the ones on other threads.
  std::multiset<std::thread::id> completing_on_;
};

class JetStreamImpl : public std::enable_shared_from_this<JetStreamImpl> {
 public:
  JetStreamImpl(Connection& conn, JetStreamOptions opts) : conn_(conn), opts_(std::move(opts)) {}
  virtual ~JetStreamImpl() = default;

  Connection& conn() { return conn_; }
  const JetStreamOptions& opts() const { return opts_; }
  // "<api_prefix>.<suffix>"
  std::string api_subject(std::string_view suffix) const;

  // Sends one API request and returns the answer's JSON text; an {"error":...} answer is a
  // JetStreamApi Status; no responders means JetStream is not enabled (NoResponders).
  // timeout 0: opts().timeout.
  Result<std::string> api_request(std::string_view suffix, std::string_view body,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // The same, parsed: the answer as a JSON object.
  Result<nlohmann::json> api_json(std::string_view suffix, std::string_view body,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // The async publish window (jetstream.cpp). Made with the JetStream; closed by its destructor.
  std::shared_ptr<AsyncAcks> async_acks;

 private:
  // api_json's work; `text` receives the answer's bytes.
  Result<nlohmann::json> api_call(std::string_view suffix, std::string_view body, std::chrono::milliseconds timeout,
                                  std::string& text);
  Connection& conn_;
  JetStreamOptions opts_;
};

// A PullConsumer's shared state. jetstream.cpp's pull_consumer() fills the first three members;
// H1b (jetstream_pull.cpp) owns the rest of PullState.
struct PullState {
  std::shared_ptr<JetStreamImpl> js;  // api_subject(), conn(), opts(), api_json()
  std::string stream, consumer;
  // H1b adds its own members below this line.

  // "MSG.NEXT.<stream>.<consumer>" under the API prefix: where pull requests go.
  std::string next_subject() const;
  // One pull request on a fresh inbox (subscribed before the request, unsubscribed after, so a
  // late message of an expired fetch is never taken for the next one's).
  Result<std::vector<JsMsg>> fetch(size_t batch, std::chrono::milliseconds timeout, const FetchOptions& opts);
  // After a pull request went unanswered: the CONSUMER.INFO error that explains it (consumer or
  // stream not found, JetStream gone), else `otherwise`.
  Status why_silent(std::chrono::milliseconds timeout, Status otherwise);
  // JsMsg's constructor is private; PullState is its friend.
  static JsMsg make_msg(Connection* conn, Msg msg) { return JsMsg(conn, std::move(msg)); }
};
struct ConsumeState;  // defined by H1b in jetstream_pull.cpp

// JSON <-> the public structs (jetstream_json.cpp).
nlohmann::json to_json(const StreamConfig& c);
nlohmann::json to_json(const ConsumerConfig& c);
Result<StreamInfo> stream_info_from_json(const nlohmann::json& j, std::string text);
Result<ConsumerInfo> consumer_info_from_json(const nlohmann::json& j, std::string text);
Result<AccountInfo> account_info_from_json(const nlohmann::json& j, std::string text);
// A STREAM.MSG.GET answer's "message" (base64 payload and header block decoded).
Result<StoredMsg> stored_msg_from_json(const nlohmann::json& j);
// An API answer's "error" object; never throws, whatever the field types.
ApiError api_error_from_json(const nlohmann::json& e);
// A publish's ack, or its {"error":...} as a JetStreamApi Status.
Result<PubAck> pub_ack_from_json(std::string_view text);
// dump() that never throws (invalid UTF-8 is replaced).
std::string dump_json(const nlohmann::json& j);

}  // namespace tern::detail
