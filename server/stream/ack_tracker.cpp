#include "server/stream/ack_tracker.h"

#include <algorithm>

namespace tern::server {

uint64_t AckTracker::deliver_new(uint64_t sseq, int64_t now) {
  uint64_t dseq = ++delivered_.consumer_seq;
  if (sseq > delivered_.stream_seq) delivered_.stream_seq = sseq;
  if (!track_) {
    floor_ = delivered_;  // ack none: acknowledged on delivery
    return dseq;
  }
  pending_[sseq] = Pending{dseq, now, 0};
  return dseq;
}

uint64_t AckTracker::bump_count(uint64_t sseq) {
  auto it = rdc_.find(sseq);
  if (it == rdc_.end()) return rdc_[sseq] = 2;
  return ++it->second;
}

uint64_t AckTracker::redeliver(uint64_t sseq, int64_t now, uint64_t* count) {
  uint64_t dseq = ++delivered_.consumer_seq;
  *count = bump_count(sseq);
  auto it = pending_.find(sseq);
  if (it != pending_.end()) {
    it->second.ts_ns = now;
    ++it->second.gen;
  } else {
    pending_[sseq] = Pending{dseq, now, 0};
  }
  return dseq;
}

uint64_t AckTracker::delivery_count(uint64_t sseq) const {
  auto it = rdc_.find(sseq);
  return it == rdc_.end() ? 1 : it->second;
}

bool AckTracker::ack(uint64_t sseq) {
  if (!track_) return false;
  auto it = pending_.find(sseq);
  if (it == pending_.end()) return false;
  uint64_t dseq = it->second.first_dseq;
  pending_.erase(it);
  rdc_.erase(sseq);
  if (pending_.empty()) {
    floor_ = delivered_;
  } else if (dseq == floor_.consumer_seq + 1) {
    // It was the oldest unacked delivery: the floor moves up to the next pending one.
    floor_ = {dseq, sseq};
    advance_floor_after(sseq);
  }
  return true;
}

void AckTracker::advance_floor_after(uint64_t sseq) {
  // nats' processAckMsg: walk forward to the next pending seq (amortised: the floor only rises).
  for (uint64_t s = sseq + 1; s <= delivered_.stream_seq; ++s) {
    auto it = pending_.find(s);
    if (it != pending_.end()) {
      if (it->second.first_dseq > 0) floor_ = {it->second.first_dseq - 1, s - 1};
      return;
    }
  }
}

bool AckTracker::drop(uint64_t sseq) {
  if (!pending_.erase(sseq)) return false;
  floor_if_empty();
  return true;
}

void AckTracker::clear_pending(uint64_t floor_sseq) {
  pending_.clear();
  rdc_.clear();
  if (floor_sseq > delivered_.stream_seq) delivered_.stream_seq = floor_sseq;
  floor_ = delivered_;
}

ConsumerState AckTracker::snapshot() const {
  ConsumerState s;
  s.delivered = delivered_;
  s.ack_floor = floor_;
  for (const auto& [seq, p] : pending_) s.pending.emplace(seq, PendingEntry{p.first_dseq, p.ts_ns});
  for (const auto& [seq, n] : rdc_) s.redelivered.emplace(seq, n);
  return s;
}

void AckTracker::restore(const ConsumerState& s) {
  delivered_ = s.delivered;
  floor_ = s.ack_floor;
  pending_.clear();
  rdc_.clear();
  if (!track_) {
    floor_ = delivered_;
    return;
  }
  pending_.reserve(s.pending.size());
  for (const auto& [seq, e] : s.pending) pending_[seq] = Pending{e.consumer_seq, e.ts_ns, 0};
  for (const auto& [seq, n] : s.redelivered)
    if (n > 1) rdc_[seq] = n;
  floor_if_empty();
}

int64_t ack_deadline_ns(int64_t ts_ns, uint64_t count, int64_t ack_wait_ns, const std::vector<int64_t>& backoff_ns) {
  if (backoff_ns.empty()) return ts_ns + ack_wait_ns;
  size_t i = count == 0 ? 0 : std::min<size_t>(count - 1, backoff_ns.size() - 1);
  return ts_ns + backoff_ns[i];
}

void RedeliverySchedule::push(const Deadline& d) {
  if (fifo_.empty() || d.at_ns >= fifo_.back().at_ns) {
    fifo_.push_back(d);
    return;
  }
  heap_.push_back(d);
  std::push_heap(heap_.begin(), heap_.end(), later);
}

void RedeliverySchedule::heap_pop() {
  std::pop_heap(heap_.begin(), heap_.end(), later);
  heap_.pop_back();
}

}  // namespace tern::server
