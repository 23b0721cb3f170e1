#pragma once
// Stream: one JetStream stream. It is an internal Client subscribed to its subjects through the
// Router, so a core PUB to a stream subject is captured like any delivery; it applies
// the publish rules (jetstream-api spec section 7: expected-* headers, dedup, rollup, limits),
// stores the message and answers the reply subject with a pub ack.
//
// Durability: with file storage and sync_interval "always", a pub ack waits in pending_acks_
// until the store's durable_seq() covers it. JetStream cuts one SyncBatch per stream per loop
// turn, runs it on the Syncer thread and hands the result back (on_synced), so every publish
// that arrived while an fsync ran shares the next one (group commit).
//
// Threading: loop thread only. Lifetime: owned by JetStream; its subscriptions are removed from
// the Sublist in the destructor.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/core/client.h"
#include "server/stream/api_errors.h"
#include "server/stream/consumer.h"
#include "server/stream/file_store.h"
#include "server/stream/stream_config.h"

namespace tern::server {

class JetStream;

class Stream final : public Client {
 public:
  // Opens (file: recovering from `dir`) or creates the store and subscribes. `dir` is the
  // stream's directory (config + msgs/); unused for memory storage.
  static Result<std::unique_ptr<Stream>> open(JetStream& js, const StreamConfig& cfg, int64_t created_ns,
                                              std::string dir, RecoveryReport* report);
  ~Stream() override;

  bool deliver(Subscription& sub, const Message& m) override;
  void auto_unsubscribe(Subscription&) override {}

  const StreamConfig& config() const { return cfg_; }
  int64_t created_ns() const { return created_ns_; }
  uint64_t id() const { return id_; }
  Store& store() { return *store_; }
  FileStore* file_store() { return file_store_; }
  const std::string& dir() const { return dir_; }

  // Applies an already validated config: subjects, limits (enforced at once, R-3.9), flags.
  Status update(const StreamConfig& cfg);
  // Writes config.json (atomically) for file streams.
  Status persist_config() const;

  // {"config":…,"created":…,"state":…}; subjects_filter adds state.subjects.
  nlohmann::ordered_json info(const std::string* subjects_filter = nullptr) const;

  // --- Consumers (owned here; they die with the stream) ---
  std::map<std::string, std::unique_ptr<Consumer>, std::less<>>& consumers() { return consumers_; }
  Consumer* find_consumer(std::string_view name);
  // Creates a validated consumer (the API checked the rules that involve other consumers).
  Result<Consumer*> add_consumer(const ConsumerConfig& cfg, const std::string& name);
  // Deletes it: waiting pulls get 409 Consumer Deleted, files go, interest retention drops what
  // no remaining consumer needs.
  void delete_consumer(std::string_view name);
  // Stream delete: every consumer stopped (409 to waiting pulls) and dropped.
  void stop_consumers();
  // Server shutdown: final state snapshots, timers closed.
  void shutdown_consumers();
  // A consumer is done with `seq` (acked, terminated, dead-lettered; ack none: delivered):
  // workqueue removes it, interest removes it when no consumer needs it any more.
  void message_acked(uint64_t seq);
  // After a purge / message delete through the API.
  void notify_purged();
  void notify_removed(uint64_t seq);
  // Stores a message straight into this stream's store (the dead-letter copy): not routed, the
  // stream's limits apply, durable through the same group commit as a publish. Kicks consumers.
  Result<uint64_t> store_direct(std::string_view subject, std::string_view headers, std::string_view payload);

  // --- Loop callbacks driven by JetStream ---
  // The Syncer ran `batch` with `status`: advance durability and release acks.
  void on_synced(const SyncBatch& batch, const Status& status);
  // Cut the next batch if something is pending (nullopt: nothing to do or one in flight).
  std::optional<SyncBatch> next_batch();
  // sync_interval mode: hand buffered writes to the OS and send every waiting ack.
  void flush_and_ack();
  // Removes expired messages (max_age) and forgets dedup ids out of the window.
  void tick(int64_t now_ns);
  bool needs_tick() const;
  // Asks JetStream for a sync at the end of this loop turn (file streams).
  void mark_dirty();
  void on_synced_release();  // acks up to durable_seq, or errors if the store failed

 private:
  Stream(JetStream& js, const StreamConfig& cfg, int64_t created_ns, std::string dir);
  Status subscribe();
  void unsubscribe();
  void process(const Message& m);
  void reply_error(std::string_view reply, const ApiError& e);
  void reply_ack(std::string_view reply, uint64_t seq, bool duplicate);
  void rebuild_dedup(int64_t now_ns);
  void recover_consumers();
  void stored(uint64_t seq, std::string_view subject);
  bool interest_in(std::string_view subject) const;
  void forget_expired_ids(int64_t now_ns);

  struct PendingAck {
    uint64_t seq;
    std::string reply;
    bool duplicate;
  };
  struct DedupEntry {
    uint64_t seq;
    int64_t ts;
  };

  JetStream& js_;
  uint64_t id_;
  StreamConfig cfg_;
  int64_t created_ns_;
  std::string dir_;
  std::unique_ptr<Store> store_;
  FileStore* file_store_ = nullptr;  // store_ when it is a FileStore
  std::vector<std::unique_ptr<Subscription>> subs_;
  std::deque<PendingAck> pending_acks_;  // ascending seq; waiting for durable_seq
  std::unordered_map<std::string, DedupEntry> dedup_;
  std::deque<std::pair<int64_t, std::string>> dedup_order_;  // (ts, id), oldest first
  std::string last_msg_id_;
  std::map<std::string, std::unique_ptr<Consumer>, std::less<>> consumers_;
};

// Writes `data` to `path` through a temp file: write, fsync, rename, fsync the directory.
Status write_file_durably(const std::string& path, const std::string& data);

// RFC 3339 with nanoseconds in UTC, trailing zeros trimmed as Go's RFC3339Nano does;
// 0 is Go's zero time "0001-01-01T00:00:00Z".
std::string format_time_ns(int64_t ns);
int64_t now_ns();

}  // namespace tern::server
