#pragma once
// tern::JetStream: streams, consumers, publishing with acknowledgements and pull consumers,
// over a tern::Connection. Works against tern-server and nats-server (2.9+) alike: it speaks
// the JetStream JSON API ($JS.API.>) and nothing else.
//
//   auto conn = tern::Connection::connect();
//   tern::JetStream js(**conn);
//   tern::StreamConfig cfg;  cfg.name = "ORDERS";  cfg.subjects = {"orders.>"};
//   js.add_stream(cfg);
//   auto ack = js.publish("orders.new", "{\"id\":1}");          // waits for the stream's ack
//   tern::ConsumerConfig cc;  cc.durable_name = "worker";
//   js.add_consumer("ORDERS", cc);
//   auto pull = js.pull_consumer("ORDERS", "worker");
//   auto msgs = pull->fetch(10, std::chrono::seconds(1));
//   for (auto& m : *msgs) { handle(m.data()); m.ack(); }
//
// Errors. A JetStream API error answer ({"error":{"code","err_code","description"}}) becomes
// a Status with ErrorCode::JetStreamApi; api_error(status) gives its code, err_code and
// description (NATS's numbers, e.g. 10059 "stream not found"). A publish no stream captures
// is ErrorCode::NoResponders. Other errors are the Connection's (Timeout, Closed, ...).
//
// Threads. A JetStream object may be used from several threads at once. Its API calls, sync
// publishes, fetch/next and ack_sync may be made from a subscription handler, a consume()
// callback or a PubAckHandler: their answers are matched on the connection's I/O thread (the
// connection's other handlers wait meanwhile). What waits for publish acks cannot progress on
// the message thread, which is where the acks are delivered: there, publish_async() with a full
// window waits out its timeout, and publish_async_complete() its own.
//
// Lifetime. The Connection must outlive the JetStream object, and every PullConsumer,
// ConsumeContext and JsMsg made from it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/connection.h"
#include "tern/errors.h"
#include "tern/msg.h"
#include "tern/status.h"

namespace tern {

namespace detail {
class JetStreamImpl;
struct PullState;
struct ConsumeState;
}  // namespace detail

// ---------------------------------------------------------------------------------------
// Errors

struct ApiError {
  int code = 0;      // HTTP-like status: 400, 404, 500, 503
  int err_code = 0;  // NATS's JetStream error code, e.g. 10059 (stream not found)
  std::string description;
};
// The API error a Status carries (ErrorCode::JetStreamApi), or nullopt for any other Status.
std::optional<ApiError> api_error(const Status& status);
// Builds such a Status: message "jetstream_api: <description> (status <code>, err_code <n>)".
Status make_api_error(const ApiError& e);

// ---------------------------------------------------------------------------------------
// Configuration and information (the JSON API's objects). Durations are nanoseconds as on
// the wire; 0 / -1 / empty mean "not set", and unset fields are left out of the JSON, so the
// server applies its defaults exactly as for the nats CLI.

enum class RetentionPolicy { Limits, Interest, WorkQueue };
enum class DiscardPolicy { Old, New };
enum class StorageType { File, Memory };
enum class DeliverPolicy { All, Last, New, ByStartSequence, ByStartTime, LastPerSubject };
enum class AckPolicy { None, All, Explicit };
enum class ReplayPolicy { Instant, Original };

std::string_view to_string(RetentionPolicy);
std::string_view to_string(DiscardPolicy);
std::string_view to_string(StorageType);
std::string_view to_string(DeliverPolicy);
std::string_view to_string(AckPolicy);
std::string_view to_string(ReplayPolicy);

struct StreamConfig {
  std::string name;
  std::string description;
  std::vector<std::string> subjects;
  RetentionPolicy retention = RetentionPolicy::Limits;
  int64_t max_consumers = -1;
  int64_t max_msgs = -1;
  int64_t max_bytes = -1;
  std::chrono::nanoseconds max_age{0};
  int64_t max_msgs_per_subject = -1;
  int32_t max_msg_size = -1;
  DiscardPolicy discard = DiscardPolicy::Old;
  StorageType storage = StorageType::File;
  int replicas = 1;
  bool no_ack = false;
  std::chrono::nanoseconds duplicate_window{0};  // 0: the server's default (2 minutes)
  bool sealed = false;
  bool deny_delete = false;
  bool deny_purge = false;
  bool allow_rollup_hdrs = false;
  bool allow_direct = false;
  // Tern: "none", "lz4" or "zstd" (empty: not sent, the server's default). nats-server 2.9
  // ignores the field.
  std::string compression;
};

struct StreamState {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t first_seq = 0;
  std::string first_ts;  // RFC 3339, as the server sent it
  uint64_t last_seq = 0;
  std::string last_ts;
  uint64_t num_deleted = 0;
  uint64_t num_subjects = 0;
  int64_t consumer_count = 0;
};

struct StreamInfo {
  StreamConfig config;
  StreamState state;
  std::string created;  // RFC 3339
  std::string json;     // the server's whole answer, for tools that print it
};

struct ConsumerConfig {
  std::string durable_name;  // set: a durable consumer
  std::string name;          // 2.9 named (possibly ephemeral) consumer
  std::string description;
  DeliverPolicy deliver_policy = DeliverPolicy::All;
  uint64_t opt_start_seq = 0;
  std::string opt_start_time;  // RFC 3339
  AckPolicy ack_policy = AckPolicy::Explicit;
  std::chrono::nanoseconds ack_wait{0};  // 0: server default (30 s)
  int64_t max_deliver = 0;               // 0: server default (unlimited)
  std::vector<std::chrono::nanoseconds> backoff;
  std::string filter_subject;
  ReplayPolicy replay_policy = ReplayPolicy::Instant;
  int64_t max_waiting = 0;      // 0: server default (512)
  int64_t max_ack_pending = 0;  // 0: server default (1000)
  bool headers_only = false;
  int64_t max_batch = 0;
  std::chrono::nanoseconds max_expires{0};
  std::chrono::nanoseconds inactive_threshold{0};
  int num_replicas = 0;
  bool mem_storage = false;
  // Tern: dead-letter stream (docs/dead-letter.md). Empty: none. nats-server ignores it.
  std::string dead_letter_stream;
};

struct SequenceInfo {
  uint64_t consumer_seq = 0;
  uint64_t stream_seq = 0;
  std::string last_active;  // RFC 3339, empty when absent
};

struct ConsumerInfo {
  std::string stream_name;
  std::string name;
  std::string created;
  ConsumerConfig config;
  SequenceInfo delivered;
  SequenceInfo ack_floor;
  int64_t num_ack_pending = 0;
  int64_t num_redelivered = 0;
  int64_t num_waiting = 0;
  uint64_t num_pending = 0;
  std::string json;  // the server's whole answer
};

struct AccountInfo {
  uint64_t memory = 0;
  uint64_t storage = 0;
  int64_t streams = 0;
  int64_t consumers = 0;
  int64_t max_memory = -1;  // limits: -1 unlimited
  int64_t max_storage = -1;
  int64_t max_streams = -1;
  int64_t max_consumers = -1;
  uint64_t api_total = 0;
  uint64_t api_errors = 0;
  std::string json;  // the server's whole answer
};

struct PurgeOptions {
  std::string filter;  // only this subject (wildcards allowed); empty: all
  uint64_t seq = 0;    // remove everything below this sequence; 0: not set
  uint64_t keep = 0;   // keep this many newest; 0: not set
};

struct StoredMsg {  // STREAM.MSG.GET
  std::string subject;
  uint64_t seq = 0;
  Headers headers;
  bool has_headers = false;
  std::string data;
  std::string time;  // RFC 3339
};

struct RedriveOptions {  // Tern: $JS.API.TERN.DLQ.REDRIVE.<dlq>
  uint64_t seq = 0;    // only this sequence; 0: every copy
  uint64_t max = 0;    // at most this many; 0: no limit
  std::string filter;  // only copies whose original subject matches
};

// ---------------------------------------------------------------------------------------
// Publishing

struct PubAck {
  std::string stream;
  uint64_t seq = 0;
  bool duplicate = false;
  std::string domain;
};

struct PublishOptions {
  std::string msg_id;                                  // Nats-Msg-Id (dedup)
  std::string expected_stream;                         // Nats-Expected-Stream
  std::optional<uint64_t> expected_last_seq;           // Nats-Expected-Last-Sequence
  std::optional<uint64_t> expected_last_subject_seq;   // Nats-Expected-Last-Subject-Sequence
  std::string expected_last_msg_id;                    // Nats-Expected-Last-Msg-Id
  std::chrono::milliseconds timeout{0};                // 0: JetStreamOptions::timeout
};

using PubAckHandler = std::function<void(const Msg& msg, const Result<PubAck>& ack)>;

struct JetStreamOptions {
  std::string api_prefix = "$JS.API";         // or "$JS.<domain>.API"
  std::chrono::milliseconds timeout{5000};    // API requests and sync publishes
  // Async publishes awaiting their ack at most; publish_async() blocks (up to `timeout`)
  // when the window is full.
  size_t max_pending_acks = 256;
};

// ---------------------------------------------------------------------------------------
// Pull consumers

// Where a message stands in its stream and consumer, from its ack subject
// ($JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>, and the
// 2.10 form with domain and account hash).
struct MsgMetadata {
  std::string domain;
  std::string stream;
  std::string consumer;
  uint64_t num_delivered = 0;
  uint64_t stream_seq = 0;
  uint64_t consumer_seq = 0;
  std::chrono::system_clock::time_point timestamp;
  uint64_t num_pending = 0;
};
// Parses an ack subject; InvalidArgument when it is not one.
Result<MsgMetadata> parse_ack_subject(std::string_view reply);

// A message delivered by a pull consumer. Acknowledge it once (ack, nak or term; in_progress
// any number of times before). Acks are publishes on the connection: non-blocking, except
// ack_sync, which waits for the server's confirmation.
class JsMsg {
 public:
  JsMsg() = default;
  const std::string& subject() const { return msg_.subject; }
  const std::string& data() const { return msg_.data; }
  const Headers& headers() const { return msg_.headers; }
  const std::string& reply() const { return msg_.reply; }  // the ack subject
  const Msg& msg() const { return msg_; }
  Msg& msg() { return msg_; }

  Status ack();
  Status ack_sync(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  Status nak();
  Status nak(std::chrono::nanoseconds delay);  // redeliver no sooner than this
  Status in_progress();                        // +WPI: resets the ack wait
  Status term();                               // +TERM: never redeliver
  Result<MsgMetadata> metadata() const { return parse_ack_subject(msg_.reply); }
  bool acked() const { return acked_; }  // ack, nak or term was sent

 private:
  friend class detail::JetStreamImpl;
  friend struct detail::PullState;
  friend struct detail::ConsumeState;
  JsMsg(Connection* conn, Msg msg) : conn_(conn), msg_(std::move(msg)) {}
  Status send_ack(std::string_view body, bool final);
  Connection* conn_ = nullptr;
  Msg msg_;
  bool acked_ = false;
};

struct FetchOptions {
  size_t max_bytes = 0;   // 0: no byte limit
  bool no_wait = false;   // answer at once with what is there (nothing there: Timeout at once)
  std::chrono::milliseconds heartbeat{0};
};

struct ConsumeOptions {
  size_t batch = 100;                          // messages asked for per pull request
  size_t threshold = 0;                        // re-pull when this many remain (0: batch/2)
  std::chrono::milliseconds expires{30000};    // each pull request's expiry
  std::chrono::milliseconds heartbeat{0};      // 0: none; else idle_heartbeat per request
};

// A running consume(): messages go to the callback (on the connection's message thread)
// until stop(). Destroying it stops it.
class ConsumeContext {
 public:
  ConsumeContext() = default;
  ConsumeContext(ConsumeContext&&) noexcept;
  ConsumeContext& operator=(ConsumeContext&&) noexcept;
  ~ConsumeContext();
  // Stops asking for messages and unsubscribes; messages already delivered keep their acks.
  // Waits for a handler running on another thread to return (not when called from the handler),
  // so no handler runs after stop() returns.
  void stop();
  uint64_t delivered() const;  // messages handed to the callback so far
  // The last error the consume loop met (a 409 consumer deleted, ErrorCode::Closed once the
  // connection closed, ...); ok if none. After a reconnect the consume pulls again by itself.
  Status last_error() const;

 private:
  friend class PullConsumer;
  explicit ConsumeContext(std::shared_ptr<detail::ConsumeState> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::ConsumeState> state_;
};

class PullConsumer {
 public:
  PullConsumer() = default;
  PullConsumer(PullConsumer&&) noexcept;
  PullConsumer& operator=(PullConsumer&&) noexcept;
  ~PullConsumer();

  // Up to `batch` messages from one pull request that expires just before `timeout`. Returns
  // what arrived: fewer than `batch` when the request expired or (no_wait) nothing more was
  // there; Timeout when nothing arrived at all. A 409 status (consumer deleted, max_waiting
  // exceeded, ...) before any message is ErrorCode::ServerError with the status text. Servers
  // do not answer pulls on a consumer that does not exist, so a fetch that hears nothing at all
  // asks CONSUMER.INFO once and returns its error (JetStreamApi 10014) instead of Timeout.
  Result<std::vector<JsMsg>> fetch(size_t batch, std::chrono::milliseconds timeout, FetchOptions opts = {});
  // One message (fetch(1, timeout)).
  Result<JsMsg> next(std::chrono::milliseconds timeout);
  // Delivers continuously, keeping pull requests topped up.
  Result<ConsumeContext> consume(std::function<void(JsMsg&)> handler, ConsumeOptions opts = {});

  Result<ConsumerInfo> info();
  const std::string& stream() const;
  const std::string& name() const;

 private:
  friend class JetStream;
  explicit PullConsumer(std::shared_ptr<detail::PullState> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::PullState> state_;
};

// ---------------------------------------------------------------------------------------

class JetStream {
 public:
  explicit JetStream(Connection& conn, JetStreamOptions opts = {});
  // Outstanding async publishes complete with Closed (on this thread). Waits for a PubAckHandler
  // (or timeout completion) already running on another thread to return, so none runs after
  // the JetStream is gone; one may destroy the JetStream from its own handler.
  ~JetStream();
  JetStream(const JetStream&) = delete;
  JetStream& operator=(const JetStream&) = delete;

  Result<AccountInfo> account_info();

  // Streams.
  Result<StreamInfo> add_stream(const StreamConfig& cfg);
  Result<StreamInfo> update_stream(const StreamConfig& cfg);
  // The same with a JSON stream config as the nats CLI's --config file holds it.
  Result<StreamInfo> add_stream_json(std::string_view config_json);
  Result<StreamInfo> update_stream_json(std::string_view config_json);
  Result<StreamInfo> stream_info(std::string_view stream);
  Status delete_stream(std::string_view stream);
  Result<uint64_t> purge_stream(std::string_view stream, const PurgeOptions& opts = {});  // purged count
  Result<std::vector<StreamInfo>> list_streams(std::string_view subject_filter = {});
  Result<std::vector<std::string>> stream_names(std::string_view subject_filter = {});
  // MSG.GET by sequence, or (seq 0) the last message on `last_by_subject`.
  Result<StoredMsg> get_msg(std::string_view stream, uint64_t seq, std::string_view last_by_subject = {});
  Status delete_msg(std::string_view stream, uint64_t seq, bool erase = false);

  // Consumers.
  Result<ConsumerInfo> add_consumer(std::string_view stream, const ConsumerConfig& cfg);
  Result<ConsumerInfo> update_consumer(std::string_view stream, const ConsumerConfig& cfg);
  Result<ConsumerInfo> add_consumer_json(std::string_view stream, std::string_view config_json);
  Result<ConsumerInfo> consumer_info(std::string_view stream, std::string_view consumer);
  Status delete_consumer(std::string_view stream, std::string_view consumer);
  Result<std::vector<ConsumerInfo>> list_consumers(std::string_view stream);
  Result<std::vector<std::string>> consumer_names(std::string_view stream);
  // A handle to pull from an existing consumer (checked with a CONSUMER.INFO).
  Result<PullConsumer> pull_consumer(std::string_view stream, std::string_view consumer);

  // Tern dead-letter streams: republishes copies; returns how many were redriven.
  Result<uint64_t> dlq_redrive(std::string_view dlq_stream, const RedriveOptions& opts = {});

  // Publishing with acknowledgement. Sync: waits for the PubAck.
  Result<PubAck> publish(std::string_view subject, std::string_view data, const PublishOptions& opts = {});
  Result<PubAck> publish(const Msg& msg, const PublishOptions& opts = {});
  // Async, bounded window: returns once the message is sent (blocking up to the timeout while
  // max_pending_acks acks are outstanding: then Timeout and nothing was sent). The future (or
  // the handler) gets the ack or the error; an ack not received within the timeout completes
  // with Timeout. Where a handler runs: acks and no-stream answers on the connection's message
  // thread; ack timeouts on a small timer thread of this JetStream object (started by the
  // first async publish); Closed (the JetStream is destroyed) on the destroying thread.
  Result<std::future<Result<PubAck>>> publish_async(const Msg& msg, const PublishOptions& opts = {});
  Status publish_async(const Msg& msg, const PublishOptions& opts, PubAckHandler handler);
  // Waits until every async publish has its ack or error. Timeout when some are still out.
  Status publish_async_complete(std::chrono::milliseconds timeout);
  size_t publish_async_pending() const;

  // A raw API request: `subject_suffix` after the prefix ("STREAM.INFO.ORDERS"); returns the
  // answer's JSON text, or the API error as a Status (see api_error()).
  Result<std::string> api_request(std::string_view subject_suffix, std::string_view body);

  Connection& connection();
  const JetStreamOptions& options() const;

 private:
  std::shared_ptr<detail::JetStreamImpl> impl_;
};

}  // namespace tern
