#include "server/stream/indexed_store.h"

#include <algorithm>
#include <cassert>

#include "proto/subject.h"

namespace tern::server {

namespace {
constexpr size_t kMaxHeaders = 65535;   // header block limit (JetStream 10097)
constexpr size_t kMaxSubject = 0xFFFF;  // u16 subject length in the record format
}  // namespace

void IndexedStore::index_add(uint64_t seq, int64_t ts, std::string_view subject, uint64_t size) {
  auto it = subjects_.find(subject);
  if (it == subjects_.end()) it = subjects_.emplace(std::string(subject), std::set<uint64_t>{}).first;
  it->second.insert(seq);
  msgs_.emplace_hint(msgs_.end(), seq, Entry{ts, size, &it->first});
  bytes_ += size;
}

void IndexedStore::restore_msg(uint64_t seq, int64_t ts, std::string_view subject, uint64_t size) {
  index_add(seq, ts, subject, size);
}

void IndexedStore::restore_last(uint64_t last_seq, int64_t last_ts) {
  last_seq_ = last_seq;
  last_ts_ = last_ts;
}

void IndexedStore::forget_unwritten(const std::vector<uint64_t>& seqs, uint64_t last_seq) {
  std::vector<uint64_t> dropped;
  for (uint64_t seq : seqs) {
    if (is_live(seq)) drop(seq, &dropped);
  }
  if (last_seq < last_seq_) {
    last_seq_ = last_seq;
    auto it = msgs_.find(last_seq);
    last_ts_ = it == msgs_.end() ? 0 : it->second.ts;
  }
}

void IndexedStore::drop(uint64_t seq, std::vector<uint64_t>* removed) {
  auto it = msgs_.find(seq);
  assert(it != msgs_.end());
  auto sit = subjects_.find(*it->second.subject);
  sit->second.erase(seq);
  if (sit->second.empty()) subjects_.erase(sit);
  bytes_ -= it->second.size;
  msgs_.erase(it);
  removed->push_back(seq);
}

Status IndexedStore::persist_dropped(std::vector<uint64_t>& removed, bool erase) {
  if (removed.empty()) return Status::ok();
  std::sort(removed.begin(), removed.end());
  return persist_removals(removed, erase);
}

void IndexedStore::enforce_age(int64_t now_ns, std::vector<uint64_t>* removed) {
  if (limits_.max_age_ns <= 0) return;
  int64_t cutoff = now_ns - limits_.max_age_ns;
  // Oldest first; like nats, stops at the first message not yet expired.
  while (!msgs_.empty() && msgs_.begin()->second.ts <= cutoff) drop(msgs_.begin()->first, removed);
}

void IndexedStore::enforce_limits(const std::string* subject, int64_t now_ns, std::vector<uint64_t>* removed) {
  if (limits_.max_msgs_per_subject > 0) {
    auto limit = static_cast<uint64_t>(limits_.max_msgs_per_subject);
    if (subject) {
      auto it = subjects_.find(*subject);
      while (it != subjects_.end() && it->second.size() > limit) {
        bool last = it->second.size() == 1;
        drop(*it->second.begin(), removed);
        if (last) break;
      }
    } else {
      std::vector<uint64_t> over;
      for (auto& [subj, seqs] : subjects_) {
        if (seqs.size() > limit) over.insert(over.end(), seqs.begin(), std::next(seqs.begin(), seqs.size() - limit));
      }
      for (uint64_t seq : over) drop(seq, removed);
    }
  }
  if (limits_.max_msgs > 0) {
    while (msgs_.size() > static_cast<uint64_t>(limits_.max_msgs)) drop(msgs_.begin()->first, removed);
  }
  if (limits_.max_bytes > 0) {
    while (!msgs_.empty() && bytes_ > static_cast<uint64_t>(limits_.max_bytes)) drop(msgs_.begin()->first, removed);
  }
  if (subject) enforce_age(now_ns, removed);
}

Result<uint64_t> IndexedStore::store_msg(std::string_view subject, std::string_view headers, std::string_view payload,
                                         int64_t ts_ns) {
  if (Status w = writable(); !w) return w;
  if (subject.empty() || subject.size() > kMaxSubject) return store_error(StoreErrc::kInvalidArgument, "subject");
  if (headers.size() > kMaxHeaders) return store_error(StoreErrc::kHeadersTooLarge);
  if (limits_.max_msg_size > 0 && headers.size() + payload.size() > static_cast<uint64_t>(limits_.max_msg_size)) {
    return store_error(StoreErrc::kMsgTooLarge);
  }
  // Discard-new checks, in memstore.go storeRawMsg's order. "asl": the subject is at its limit,
  // so storing replaces that subject's oldest message instead of growing the stream.
  auto sit = subjects_.find(subject);
  bool asl = limits_.max_msgs_per_subject > 0 && sit != subjects_.end() &&
             sit->second.size() >= static_cast<uint64_t>(limits_.max_msgs_per_subject);
  if (limits_.discard == DiscardPolicy::kNew) {
    if (asl && limits_.discard_new_per_subject) return store_error(StoreErrc::kMaxMsgsPerSubject);
    if (limits_.max_msgs > 0 && msgs_.size() >= static_cast<uint64_t>(limits_.max_msgs) && !asl) {
      return store_error(StoreErrc::kMaxMsgs);
    }
    uint64_t incoming = headers.size() + payload.size();
    if (limits_.max_bytes > 0 && bytes_ + incoming >= static_cast<uint64_t>(limits_.max_bytes)) {
      if (!asl || msgs_.at(*sit->second.begin()).size < incoming) return store_error(StoreErrc::kMaxBytes);
    }
  }

  uint64_t seq = last_seq_ + 1;
  if (Status st = persist_msg(seq, ts_ns, subject, headers, payload); !st) return st;
  index_add(seq, ts_ns, subject, msg_size_(subject.size(), headers.size(), payload.size()));
  last_seq_ = seq;
  last_ts_ = ts_ns;

  std::vector<uint64_t> removed;
  enforce_limits(msgs_.rbegin()->second.subject, ts_ns, &removed);
  if (Status st = persist_dropped(removed, false); !st) return st;
  return seq;
}

Result<uint64_t> IndexedStore::skip_msg() {
  if (Status w = writable(); !w) return w;
  uint64_t seq = last_seq_ + 1;
  last_seq_ = seq;
  if (Status st = persist_skip(seq); !st) return st;
  return seq;
}

Result<StoredMsg> IndexedStore::read(uint64_t seq) {
  auto it = msgs_.find(seq);
  if (it == msgs_.end()) return store_error(StoreErrc::kNotFound);
  return read_msg(seq, it->second);
}

Result<StoredMsg> IndexedStore::load(uint64_t seq) { return read(seq); }

template <class Fn>
void IndexedStore::for_each_matching_subject(std::string_view filter, Fn&& fn) const {
  if (proto::is_literal_subject(filter)) {
    auto it = subjects_.find(filter);
    if (it != subjects_.end()) fn(it->first, it->second);
    return;
  }
  for (const auto& [subject, seqs] : subjects_) {
    if (proto::subject_matches(filter, subject)) fn(subject, seqs);
  }
}

// With many subjects a wildcard lookup walks the messages instead of the subjects.
constexpr size_t kSubjectWalkLimit = 64;

Result<StoredMsg> IndexedStore::load_last(std::string_view filter) {
  if (msgs_.empty()) return store_error(StoreErrc::kNotFound);
  if (is_match_all(filter)) return read(msgs_.rbegin()->first);
  uint64_t best = 0;
  if (!proto::is_literal_subject(filter) && subjects_.size() > kSubjectWalkLimit) {
    for (auto it = msgs_.rbegin(); it != msgs_.rend(); ++it) {
      if (proto::subject_matches(filter, *it->second.subject)) return read(it->first);
    }
  } else {
    for_each_matching_subject(
        filter, [&](const std::string&, const std::set<uint64_t>& seqs) { best = std::max(best, *seqs.rbegin()); });
  }
  if (best == 0) return store_error(StoreErrc::kNotFound);
  return read(best);
}

Result<StoredMsg> IndexedStore::load_next(std::string_view filter, uint64_t start) {
  if (is_match_all(filter)) {
    auto it = msgs_.lower_bound(start);
    if (it == msgs_.end()) return store_error(StoreErrc::kNotFound);
    return read(it->first);
  }
  uint64_t best = UINT64_MAX;
  if (!proto::is_literal_subject(filter) && subjects_.size() > kSubjectWalkLimit) {
    for (auto it = msgs_.lower_bound(start); it != msgs_.end(); ++it) {
      if (proto::subject_matches(filter, *it->second.subject)) return read(it->first);
    }
  } else {
    for_each_matching_subject(filter, [&](const std::string&, const std::set<uint64_t>& seqs) {
      auto it = seqs.lower_bound(start);
      if (it != seqs.end()) best = std::min(best, *it);
    });
  }
  if (best == UINT64_MAX) return store_error(StoreErrc::kNotFound);
  return read(best);
}

Result<bool> IndexedStore::remove(uint64_t seq) {
  if (Status w = writable(); !w) return w;
  if (!msgs_.count(seq)) return false;
  std::vector<uint64_t> removed;
  drop(seq, &removed);
  if (Status st = persist_dropped(removed, false); !st) return st;
  return true;
}

Result<bool> IndexedStore::erase(uint64_t seq) {
  if (Status w = writable(); !w) return w;
  if (!msgs_.count(seq)) return false;
  std::vector<uint64_t> removed;
  drop(seq, &removed);
  if (Status st = persist_dropped(removed, true); !st) return st;
  return true;
}

Result<uint64_t> IndexedStore::purge() {
  if (Status w = writable(); !w) return w;
  std::vector<uint64_t> removed;
  removed.reserve(msgs_.size());
  while (!msgs_.empty()) drop(msgs_.begin()->first, &removed);
  if (Status st = persist_dropped(removed, false); !st) return st;
  return static_cast<uint64_t>(removed.size());
}

std::vector<uint64_t> IndexedStore::matching(std::string_view filter) const {
  std::vector<uint64_t> out;
  if (is_match_all(filter)) {
    out.reserve(msgs_.size());
    for (const auto& [seq, e] : msgs_) out.push_back(seq);
    return out;
  }
  for_each_matching_subject(filter, [&](const std::string&, const std::set<uint64_t>& seqs) {
    out.insert(out.end(), seqs.begin(), seqs.end());
  });
  std::sort(out.begin(), out.end());
  return out;
}

Result<uint64_t> IndexedStore::purge_ex(std::string_view filter, uint64_t seq, uint64_t keep) {
  if (Status w = writable(); !w) return w;
  if (seq > 1 && keep > 0) return store_error(StoreErrc::kInvalidArgument, "sequence > 1 && keep > 0 not allowed");
  if (is_match_all(filter) && keep == 0) return seq > 1 ? compact(seq) : purge();
  std::vector<uint64_t> candidates = matching(filter);
  size_t n = 0;
  if (seq > 1) {
    n = static_cast<size_t>(std::lower_bound(candidates.begin(), candidates.end(), seq) - candidates.begin());
  } else if (keep > 0) {
    n = candidates.size() > keep ? candidates.size() - keep : 0;
  } else {
    n = candidates.size();
  }
  std::vector<uint64_t> removed;
  removed.reserve(n);
  for (size_t i = 0; i < n; ++i) drop(candidates[i], &removed);
  if (Status st = persist_dropped(removed, false); !st) return st;
  return static_cast<uint64_t>(n);
}

Result<uint64_t> IndexedStore::compact(uint64_t seq) {
  if (Status w = writable(); !w) return w;
  if (seq == 0) return store_error(StoreErrc::kInvalidArgument, "compact to sequence 0");
  std::vector<uint64_t> removed;
  while (!msgs_.empty() && msgs_.begin()->first < seq) drop(msgs_.begin()->first, &removed);
  if (Status st = persist_dropped(removed, false); !st) return st;
  if (seq > last_seq_ + 1) {
    // As nats: compacting past the end moves the stream to start at `seq`.
    last_seq_ = seq - 1;
    if (Status st = persist_skip(last_seq_); !st) return st;
  }
  return static_cast<uint64_t>(removed.size());
}

Result<uint64_t> IndexedStore::expire(int64_t now_ns) {
  if (Status w = writable(); !w) return w;
  std::vector<uint64_t> removed;
  enforce_age(now_ns, &removed);
  if (Status st = persist_dropped(removed, false); !st) return st;
  return static_cast<uint64_t>(removed.size());
}

Status IndexedStore::update_limits(const StoreLimits& limits) {
  if (Status w = writable(); !w) return w;
  limits_ = limits;
  std::vector<uint64_t> removed;
  enforce_limits(nullptr, 0, &removed);
  return persist_dropped(removed, false);
}

StoreState IndexedStore::state(bool with_subjects) const {
  StoreState s;
  s.msgs = msgs_.size();
  s.bytes = bytes_;
  s.last_seq = last_seq_;
  s.last_ts = last_ts_;
  if (msgs_.empty()) {
    s.first_seq = last_seq_ == 0 ? 0 : last_seq_ + 1;
  } else {
    s.first_seq = msgs_.begin()->first;
    s.first_ts = msgs_.begin()->second.ts;
    s.num_deleted = (last_seq_ - s.first_seq + 1) - s.msgs;
  }
  s.num_subjects = subjects_.size();
  if (with_subjects) {
    for (const auto& [subject, seqs] : subjects_) s.subjects.emplace(subject, seqs.size());
  }
  return s;
}

std::map<std::string, uint64_t> IndexedStore::subjects_state(std::string_view filter) const {
  std::map<std::string, uint64_t> out;
  if (is_match_all(filter)) {
    for (const auto& [subject, seqs] : subjects_) out.emplace(subject, seqs.size());
    return out;
  }
  for_each_matching_subject(
      filter, [&](const std::string& subject, const std::set<uint64_t>& seqs) { out.emplace(subject, seqs.size()); });
  return out;
}

uint64_t IndexedStore::num_pending(std::string_view filter, uint64_t start) const {
  uint64_t n = 0;
  if (is_match_all(filter)) {
    for (auto it = msgs_.lower_bound(start); it != msgs_.end(); ++it) ++n;
    return n;
  }
  for_each_matching_subject(filter, [&](const std::string&, const std::set<uint64_t>& seqs) {
    n += static_cast<uint64_t>(std::distance(seqs.lower_bound(start), seqs.end()));
  });
  return n;
}

}  // namespace tern::server
