#pragma once
// Consumer: one pull consumer of a stream (jetstream-api spec sections 8-11, semantics R-6..R-12).
//
// Where work comes in, all on the loop thread:
//   - MSG.NEXT requests (ApiHandler -> request_next): queued as waiting pull requests;
//   - acks: the consumer is an internal Client subscribed to $JS.ACK.<stream>.<name>.*.*.*.*.*;
//   - the stream stored / removed / purged messages (Stream calls on_stored etc.);
//   - its one uv_timer, armed at the earliest of: an ack deadline, a request's expiry or idle
//     heartbeat, the inactivity deadline (ephemerals).
// Deliveries never happen inside Router::route(): anything that may deliver asks JetStream for a
// run at the end of the loop turn (want_run), and run() then routes each message to the
// request's reply subject with the message's own subject and the $JS.ACK reply (section 9.5).
// Status replies and ack-replies go through JetStream's outbox.
//
// The per-message path (deliver one, ack one) does no JSON, builds the ack subject in a reused
// buffer, and touches O(1) structures: a hash map of pending, a FIFO/heap of deadlines, a set for
// the (rare) redelivery queue.
//
// Durable state: file streams keep <stream dir>/obs/<name>/{config.json,state}. The state is a
// snapshot taken on the loop when dirty (at most every kStateIntervalMs), written and fsynced by
// the StateWriter thread. A message sent to the dead-letter stream stays "pending" in snapshots
// until the dead-letter copy is durable, so a crash can duplicate it there but never lose it.
//
// Lifetime: owned by its Stream. The destructor answers waiting requests with 409 Consumer Deleted
// (when asked via stop()), unsubscribes and closes the timer.

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/core/client.h"
#include "server/stream/ack_tracker.h"
#include "server/stream/consumer_config.h"
#include "server/stream/consumer_state.h"

namespace tern::server {

class JetStream;
class Stream;
struct StoredMsg;

inline constexpr int64_t kStateIntervalMs = 50;  // snapshot spacing: allows ~100 ms of lost acks

class Consumer final : public Client {
 public:
  // `restored` is the saved state of a recovered durable (nullptr: new consumer, start from the
  // deliver policy). `cfg` is defaulted and validated.
  Consumer(Stream& stream, JetStream& js, const ConsumerConfig& cfg, std::string name, int64_t created_ns,
           const ConsumerState* restored);
  ~Consumer() override;
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  Status subscribe();
  // Deleted (or its stream is): waiting requests get 409 Consumer Deleted, state files go.
  void stop(bool remove_files);
  // Server shutdown: final state snapshot, timer closed; no more deliveries.
  void shutdown();

  const std::string& name() const { return name_; }
  const ConsumerConfig& config() const { return cfg_; }
  int64_t created_ns() const { return created_ns_; }
  bool persistent() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  // Applies a permitted update (check_consumer_update passed).
  void update(const ConsumerConfig& cfg);
  // Writes config.json (file streams).
  Status persist_config() const;
  nlohmann::ordered_json info();

  // --- from the Router / ApiHandler (inside route: queue, never deliver) ---
  bool deliver(Subscription& sub, const Message& m) override;  // an ack
  void auto_unsubscribe(Subscription&) override {}
  void request_next(std::string_view reply, std::string_view payload);

  // --- from the Stream ---
  void on_stored(uint64_t seq, std::string_view subject);
  void on_removed(uint64_t seq);
  // After a purge: everything below `first_seq` is gone (R-11.3/11.4).
  void on_purged(uint64_t first_seq);
  bool filter_matches(std::string_view subject) const;
  bool has_filter() const { return !store_filter_.empty(); }
  // Interest retention: does this consumer still need message `seq` on `subject`?
  bool needs(uint64_t seq, std::string_view subject) const;
  uint64_t ack_floor_seq() const { return acks_.floor().stream_seq; }

  // --- from JetStream ---
  // Delivers to waiting requests while it can (end of loop turn or timer).
  void run();
  // Snapshots the state to the writer when dirty and due (tick), or unconditionally (shutdown).
  void save_state(bool force);
  bool queued_for_run = false;  // JetStream's end-of-turn list holds it

  // --- Read-only state for the monitor (/jsz, /metrics), loop thread: the numbers info() reports,
  // without its JSON. num_pending is the incrementally kept count.
  const SequencePair& delivered() const { return acks_.delivered(); }
  const SequencePair& ack_floor() const { return acks_.floor(); }
  int64_t last_delivery_ns() const { return last_delivery_ns_; }
  int64_t last_ack_ns() const { return last_ack_ns_; }
  size_t num_ack_pending() const { return acks_.num_ack_pending(); }
  size_t num_redelivered() const { return acks_.num_redelivered(); }
  size_t num_waiting() const { return waiting_.size(); }
  uint64_t num_pending() const { return npc_; }

 private:
  struct Waiting {
    std::string reply;
    int64_t batch = 1;       // left
    int64_t max_bytes = 0;   // budget left (0: no budget)
    int64_t expires_ns = 0;  // absolute; 0 = none
    int64_t hb_ns = 0;
    int64_t next_hb_ns = 0;
    int64_t delivered = 0;
    bool no_wait = false;
  };
  struct DeadLetterInFlight {
    uint64_t sseq;
    uint64_t dseq;
    std::string stream;
    uint64_t dlq_seq;
  };

  void want_run();
  void mark_dirty();
  void touch();  // activity (inactive_threshold)
  void select_start();
  uint64_t num_pending_exact();
  void send_status(const std::string& reply, std::string_view line, const Waiting* pending_hdrs);
  void process_ack(std::string_view subject, std::string_view reply, std::string_view body);
  void acked(uint64_t sseq);  // retention hook for a message this consumer is done with
  void schedule(uint64_t sseq);
  void arm_timer();
  static void on_timer(uv_timer_t* t);
  void fire(int64_t now);
  bool expire_waiting(int64_t now, bool end_of_stream);
  // The next message to deliver: redeliveries first, then new ones (nats' getNextMsg).
  // Returns false when nothing is deliverable now.
  bool next_msg(StoredMsg* out, uint64_t* dc, bool* redelivery, bool* stalled);
  void max_deliveries_reached(uint64_t sseq, uint64_t deliveries);
  void terminate(uint64_t sseq, uint64_t dseq, std::string_view reason_for_dlq);
  bool dead_letter(uint64_t sseq, uint64_t dseq, uint64_t deliveries, const char* reason);
  void advisory(std::string_view kind, std::string_view type, nlohmann::ordered_json body);
  void resolve_dead_letters();

  Stream& stream_;
  JetStream& js_;
  ConsumerConfig cfg_;
  std::string name_;
  int64_t created_ns_;
  std::string dir_;
  std::string store_filter_;  // "" for no filter or ">"
  bool filter_wildcard_ = false;
  bool track_acks_;

  AckTracker acks_;
  RedeliverySchedule sched_;
  std::set<uint64_t> rdq_;    // redelivery queue, by stream seq
  uint64_t next_seq_ = 1;     // next stream seq to look at (nats' o.sseq)
  std::deque<uint64_t> lss_;  // last_per_subject: seqs still to deliver first
  uint64_t lss_resume_ = 0;
  uint64_t npc_ = 0;  // matching messages at or after next_seq_, kept incrementally
  std::deque<Waiting> waiting_;
  std::vector<DeadLetterInFlight> dlq_in_flight_;

  std::unique_ptr<Subscription> ack_sub_;
  uv_timer_t* timer_ = nullptr;
  int64_t timer_at_ = 0;  // 0: not armed
  int64_t last_active_ns_ = 0;
  int64_t last_delivery_ns_ = 0;
  int64_t last_ack_ns_ = 0;
  bool dirty_ = false;
  int64_t last_save_ms_ = 0;
  bool stopped_ = false;
  std::string ack_buf_;  // reused ack subject buffer
  std::string ack_prefix_;
};

// The writer thread for consumer state snapshots: coalesces per directory (only the newest
// snapshot of a consumer is written), writes with save_consumer_state (fsync + rename).
class StateWriter {
 public:
  StateWriter();
  ~StateWriter();  // writes everything queued, then joins
  void submit(const std::string& dir, ConsumerState state);
  // Drops anything queued for `dir` and waits for a write of it in progress (before a delete).
  void forget(const std::string& dir);
  // Waits until everything queued is written.
  void drain();

 private:
  void loop();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::server
