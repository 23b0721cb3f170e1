#pragma once
// The bookkeeping half of a consumer, free of I/O so it can be tested alone:
//   AckTracker          — delivered / ack floor / pending (delivered, unacked) / delivery counts
//                         (semantics R-8), with nats-server 2.9.10's floor rules;
//   RedeliverySchedule  — ack deadlines of the pending messages, earliest first, for ONE timer
//                         per consumer (no per-message timer handles, no scans per tick).
//
// Keys are stream sequences. The pending map is a hash map (acks arrive in any order); the
// floor moves by a forward walk from the acked sequence, which is amortised O(1) per stream
// sequence passed because the floor never goes back.
//
// Threading: loop thread only (owned by one Consumer).

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "server/stream/consumer_state.h"

namespace tern::server {

class AckTracker {
 public:
  struct Pending {
    uint64_t first_dseq = 0;  // consumer seq of the FIRST delivery (nats' Pending.Sequence): floors use it
    int64_t ts_ns = 0;        // last delivery (or +WPI reset)
    uint32_t gen = 0;         // bumped on every reschedule: older deadlines for this seq are stale
  };

  // ack_policy none: nothing is tracked, the floor follows the deliveries.
  explicit AckTracker(bool track = true) : track_(track) {}

  // A first delivery of `sseq` at `now`: returns its consumer sequence.
  uint64_t deliver_new(uint64_t sseq, int64_t now);
  // A redelivery of a pending `sseq`: returns its consumer sequence; `*count` gets the new
  // delivery count (>= 2).
  uint64_t redeliver(uint64_t sseq, int64_t now, uint64_t* count);
  // A delivery attempt that did not happen (max-deliver reached): the count still goes up.
  uint64_t bump_count(uint64_t sseq);

  // Explicit ack (also +TERM, dead-lettered): true when `sseq` was pending.
  bool ack(uint64_t sseq);
  // Ack-all up to `sseq` (delivered with consumer seq `dseq`); calls on_acked(seq) for every
  // pending seq it covers, ascending. Ignored at or below the floor.
  template <class F>
  void ack_upto(uint64_t sseq, uint64_t dseq, F&& on_acked);
  // Drops `sseq` from pending without acking it (max deliveries reached, R-9.6; message gone).
  // The floor does not move (2.9 nuance in) unless nothing is pending any more.
  bool drop(uint64_t sseq);
  // Every pending entry goes; the floor rises to at least `floor_sseq` (stream purge, R-11.3).
  void clear_pending(uint64_t floor_sseq);
  // A new consumer starts at stream seq `seq`: delivered sits just below it (nats' o.sseq-1); the
  // floor stays at 0 until something is acknowledged, as nats-server 2.9.10 reports it.
  void start_at(uint64_t seq) { delivered_.stream_seq = seq > 0 ? seq - 1 : 0; }
  // The stream position moved past `sseq` without a delivery (filter skip / purge).
  void pass(uint64_t sseq) {
    if (sseq > delivered_.stream_seq) delivered_.stream_seq = sseq;
  }

  Pending* find(uint64_t sseq) {
    auto it = pending_.find(sseq);
    return it == pending_.end() ? nullptr : &it->second;
  }
  const Pending* find(uint64_t sseq) const {
    auto it = pending_.find(sseq);
    return it == pending_.end() ? nullptr : &it->second;
  }
  uint64_t delivery_count(uint64_t sseq) const;

  const SequencePair& delivered() const { return delivered_; }
  const SequencePair& floor() const { return floor_; }
  size_t num_ack_pending() const { return pending_.size(); }
  size_t num_redelivered() const { return rdc_.size(); }
  const std::unordered_map<uint64_t, Pending>& pending() const { return pending_; }

  ConsumerState snapshot() const;
  void restore(const ConsumerState& s);

 private:
  void advance_floor_after(uint64_t sseq);
  void floor_if_empty() {
    if (pending_.empty()) floor_ = delivered_;
  }

  bool track_;
  SequencePair delivered_;
  SequencePair floor_;
  std::unordered_map<uint64_t, Pending> pending_;
  std::unordered_map<uint64_t, uint64_t> rdc_;  // delivery counts > 1 (num_redelivered)
};

// When a message delivered `count` times (>= 1) at `ts_ns` is due again: ack_wait, or the
// backoff step for that count (R-9.4: b[min(count-1, n-1)]).
int64_t ack_deadline_ns(int64_t ts_ns, uint64_t count, int64_t ack_wait_ns, const std::vector<int64_t>& backoff_ns);

class RedeliverySchedule {
 public:
  struct Deadline {
    int64_t at_ns;
    uint64_t sseq;
    uint32_t gen;
  };

  // Deadlines normally arrive in time order (same ack_wait for every delivery): those go to a
  // FIFO; an earlier one (backoff, NAK delay, WPI) goes to a min-heap. Both O(1)/O(log n).
  void push(const Deadline& d);
  // Earliest live deadline; `live(d)` says whether the entry still counts (lazy deletion:
  // stale entries are dropped from the fronts as they are met).
  template <class Live>
  std::optional<int64_t> next(Live&& live);
  // Pops every live deadline <= now, in deadline order, calling due(d).
  template <class Live, class Due>
  void pop_due(int64_t now, Live&& live, Due&& due);
  // Drops stale entries at the fronts (cheap; keeps memory bounded when acks come in order).
  template <class Live>
  void trim(Live&& live);
  size_t size() const { return fifo_.size() + heap_.size(); }
  void clear() {
    fifo_.clear();
    heap_.clear();
  }

 private:
  static bool later(const Deadline& a, const Deadline& b) { return a.at_ns > b.at_ns; }
  void heap_pop();
  std::deque<Deadline> fifo_;
  std::vector<Deadline> heap_;
};

// ---- templates ----

template <class F>
void AckTracker::ack_upto(uint64_t sseq, uint64_t dseq, F&& on_acked) {
  if (!track_ || sseq <= floor_.stream_seq) return;
  uint64_t first = floor_.stream_seq + 1;
  if (pending_.size() < sseq - first + 1) {
    std::vector<uint64_t> seqs;
    for (auto& [s, p] : pending_)
      if (s <= sseq) seqs.push_back(s);
    std::sort(seqs.begin(), seqs.end());
    for (uint64_t s : seqs) {
      pending_.erase(s);
      rdc_.erase(s);
      on_acked(s);
    }
  } else {
    for (uint64_t s = first; s <= sseq; ++s) {
      if (pending_.erase(s)) {
        rdc_.erase(s);
        on_acked(s);
      }
    }
  }
  floor_ = {dseq, sseq};
  if (floor_.consumer_seq > delivered_.consumer_seq) floor_.consumer_seq = delivered_.consumer_seq;
  floor_if_empty();
}

template <class Live>
void RedeliverySchedule::trim(Live&& live) {
  while (!fifo_.empty() && !live(fifo_.front())) fifo_.pop_front();
  while (!heap_.empty() && !live(heap_.front())) heap_pop();
}

template <class Live>
std::optional<int64_t> RedeliverySchedule::next(Live&& live) {
  trim(live);
  if (fifo_.empty() && heap_.empty()) return std::nullopt;
  if (fifo_.empty()) return heap_.front().at_ns;
  if (heap_.empty()) return fifo_.front().at_ns;
  return std::min(fifo_.front().at_ns, heap_.front().at_ns);
}

template <class Live, class Due>
void RedeliverySchedule::pop_due(int64_t now, Live&& live, Due&& due) {
  for (;;) {
    trim(live);
    bool from_fifo;
    if (!fifo_.empty() && (heap_.empty() || fifo_.front().at_ns <= heap_.front().at_ns))
      from_fifo = true;
    else if (!heap_.empty())
      from_fifo = false;
    else
      return;
    Deadline d = from_fifo ? fifo_.front() : heap_.front();
    if (d.at_ns > now) return;
    if (from_fifo)
      fifo_.pop_front();
    else
      heap_pop();
    due(d);
  }
}

}  // namespace tern::server
