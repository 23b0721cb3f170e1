#pragma once
// JetStream: the subsystem `-js` turns on. It owns the streams, the Syncer thread, the internal
// client that serves `$JS.API.>` (api.h), and the loop handles that tie them together:
//   - a uv_check that runs once per loop turn: cuts one SyncBatch per stream that stored
//     something this turn (group commit), and publishes queued replies (pub acks, API answers);
//   - a uv_async the Syncer thread signals when a batch is done;
//   - a uv_timer for max_age expiry, dedup-window purging and interval syncs.
// Replies are queued and published after the current Router::route() returns, never from inside
// it, so a stream or API handler never re-enters the Router.
//
// On disk: <store_dir>/jetstream/streams/<name>/{config.json, msgs/} (msgs/: FileStore blocks).
//
// Threading: loop thread only, except the Syncer callback (which only takes mu_).

#include <uv.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "proto/status.h"
#include "server/config/options.h"
#include "server/core/router.h"
#include "server/stream/stream.h"
#include "server/stream/syncer.h"
#include "server/stream/maintenance.h"

namespace tern::server {

class ApiHandler;

class JetStream {
 public:
  JetStream(uv_loop_t* loop, Router& router, const JetStreamOptions& opts);
  ~JetStream();
  JetStream(const JetStream&) = delete;
  JetStream& operator=(const JetStream&) = delete;

  // Creates the store dir, recovers every persisted stream, subscribes to $JS.API.>.
  Status start();
  // Makes every file stream durable, stops the Syncer, closes the loop handles.
  void shutdown();

  // --- For streams and the API handler (loop thread) ---
  // Publishes `payload` to `subject` after the current routing finishes.
  void send(std::string subject, std::string payload);
  // Same, as an HMSG with this header block and no payload (pull status replies, section 9.3).
  void send_headers(std::string subject, std::string headers);
  // A full message (redrive republish): headers (may be empty), payload, optional reply subject.
  void send_msg(std::string subject, std::string headers, std::string payload, std::string reply = {});
  // The consumer has work for waiting pull requests: run it at the end of this loop turn.
  void want_run(Consumer* c);
  void cancel_run(Consumer* c);
  // What the end of a loop turn does (consumer runs, syncs, outbox), for timer callbacks, which
  // run before the loop may block in poll.
  void flush_turn() { end_of_turn(); }
  uv_loop_t* loop() { return loop_; }
  StateWriter& state_writer() { return *state_writer_; }
  size_t consumer_count() const;
  Router& router() { return router_; }
  bool sync_always() const { return sync_interval_ms_ == 0; }
  const std::string& root() const { return root_; }
  uint64_t next_stream_id() { return next_stream_id_++; }
  // Schedules `s` for a sync (or a flush, in interval mode) at the end of this loop turn.
  void want_sync(Stream* s);
  // Starts the tick timer if some stream needs it.
  void want_tick();

  std::map<std::string, std::unique_ptr<Stream>, std::less<>>& streams() { return streams_; }
  Stream* find(std::string_view name);
  // Creates a validated config's stream (store, config file, subscriptions).
  Result<Stream*> create_stream(const StreamConfig& cfg);
  // Unsubscribes, drops the store and deletes its files.
  Status delete_stream(std::string_view name);

  // --- Server-wide storage limits (jetstream { max_memory_store, max_file_store }) ---
  // The configured limit in bytes for `t`; -1 is unlimited (`-js` alone).
  int64_t max_store(StorageType t) const;
  // Bytes held now by the streams of type `t`: $JS.API.INFO's "memory" / "storage", and what
  // over_limit() compares. Sums over the streams (O(streams)); callers on the publish path only
  // ask when a limit is set.
  uint64_t used(StorageType t) const;
  // nats' checkBytesLimits (server part) for a stream that would reserve `add_bytes` more of `t`
  // (a create's max_bytes, <= 0 counting as 1; an update's growth). Reserved = the positive
  // max_bytes of every stream of type `t` other than `except`. 10028 (memory) / 10047 (file).
  std::optional<ApiError> check_reservation(StorageType t, int64_t add_bytes, const Stream* except = nullptr) const;
  // nats' limitsExceeded: usage is already over the limit, so a publish is refused (10023).
  // The message that crosses the limit is still taken, as in nats-server.
  bool over_limit(StorageType t) const;

  // --- For the monitor (loop thread) ---
  // The Syncer's fsync latency; nullptr before start() and after shutdown().
  const Histogram* sync_latency() const { return syncer_ ? &syncer_->latency() : nullptr; }
  // The positive max_bytes of every stream of type `t` (nats' reserved_memory / reserved_storage).
  uint64_t reserved(StorageType t) const;
  const JetStreamOptions& options() const { return opts_; }

  uint64_t api_total = 0;
  uint64_t api_errors = 0;

 private:
  struct Done {
    uint64_t stream_id;
    SyncBatch batch;
    Status status;
  };
  static void on_check(uv_check_t* h);
  static void on_async(uv_async_t* h);
  static void on_timer(uv_timer_t* h);
  void end_of_turn();
  void drain_done();
  void maintain(Stream* s);                // storage: cut s's next maintenance job, if any
  void on_maintained(MaintenanceJob job);  // storage: a job came back from maint_
  void submit(Stream* s, SyncBatch batch);
  void publish_outbox();
  void recover();
  std::string stream_dir(std::string_view name) const { return root_ + "/streams/" + std::string(name); }

  uv_loop_t* loop_;
  Router& router_;
  JetStreamOptions opts_;
  std::string root_;
  int64_t sync_interval_ms_ = 0;  // 0: "always"
  int64_t last_interval_sync_ms_ = 0;
  uv_check_t check_;
  uv_async_t async_;
  uv_timer_t timer_;
  bool handles_open_ = false;
  bool stopped_ = false;
  std::unique_ptr<Syncer> syncer_;
  std::unique_ptr<MaintenanceWorker> maint_;  // FileStore compression/compaction/spare tails
  std::unique_ptr<ApiHandler> api_;
  std::map<std::string, std::unique_ptr<Stream>, std::less<>> streams_;
  std::vector<uint64_t> want_sync_;  // stream ids
  struct OutMsg {
    std::string subject;
    std::string headers;  // empty: a plain MSG
    std::string payload;
    std::string reply;
  };
  void run_consumers();
  void sync_wanted();
  std::vector<Consumer*> running_;
  std::vector<OutMsg> outbox_;
  std::vector<Consumer*> run_queue_;
  std::unique_ptr<StateWriter> state_writer_;
  uint64_t next_stream_id_ = 1;

  std::mutex mu_;
  std::vector<Done> done_;  // GUARDED_BY(mu_)
};

// nats-server's default store dir when none is given: <temp dir>/tern (then /jetstream below it).
std::string default_store_dir();

}  // namespace tern::server
