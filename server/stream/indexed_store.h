#pragma once
// IndexedStore: the policy half of a Store, shared by MemStore and FileStore so the two cannot
// disagree. It keeps an in-memory index of the live messages (seq -> timestamp, size, subject and
// subject -> seqs), applies the limits and the purge/filter rules, and calls the persistence hooks
// below; the subclass only decides where the bytes live.
//
// Threading: as Store — one owner thread.

#include <map>
#include <set>
#include <vector>

#include "server/stream/store.h"

namespace tern::server {

class IndexedStore : public Store {
 public:
  Result<uint64_t> store_msg(std::string_view subject, std::string_view headers, std::string_view payload,
                             int64_t ts_ns) override;
  Result<uint64_t> skip_msg() override;
  Result<StoredMsg> load(uint64_t seq) override;
  Result<StoredMsg> load_last(std::string_view filter) override;
  Result<StoredMsg> load_next(std::string_view filter, uint64_t start) override;
  Result<bool> remove(uint64_t seq) override;
  Result<bool> erase(uint64_t seq) override;
  Result<uint64_t> purge() override;
  Result<uint64_t> purge_ex(std::string_view filter, uint64_t seq, uint64_t keep) override;
  Result<uint64_t> compact(uint64_t seq) override;
  Result<uint64_t> expire(int64_t now_ns) override;
  Status update_limits(const StoreLimits& limits) override;
  const StoreLimits& limits() const override { return limits_; }
  StoreState state(bool with_subjects = false) const override;
  std::map<std::string, uint64_t> subjects_state(std::string_view filter) const override;
  uint64_t num_pending(std::string_view filter, uint64_t start) const override;

 protected:
  // msg_size: the byte rule for `bytes` and max_bytes (store.h); FileStore keeps the default.
  explicit IndexedStore(const StoreLimits& limits, MsgSizeFn msg_size = store_msg_size)
      : limits_(limits), msg_size_(msg_size) {}

  struct Entry {
    int64_t ts = 0;
    uint64_t size = 0;                     // msg_size_()
    const std::string* subject = nullptr;  // the key in subjects_, alive while the entry is
  };

  // --- Persistence hooks. Each is called once per operation, from the owner thread. ---
  // ok, or why the store takes no writes (checked before any mutation).
  virtual Status writable() const { return Status::ok(); }
  // Called before the index changes; on error nothing changed and no sequence was consumed.
  virtual Status persist_msg(uint64_t seq, int64_t ts, std::string_view subject, std::string_view headers,
                             std::string_view payload) = 0;
  // last_seq is already `seq`; records that no message has it.
  virtual Status persist_skip(uint64_t seq) = 0;
  // `removed` (ascending, non-empty) are already out of the index. erase: the bytes must be
  // gone from the medium when this returns.
  virtual Status persist_removals(const std::vector<uint64_t>& removed, bool erase) = 0;
  virtual Result<StoredMsg> read_msg(uint64_t seq, const Entry& entry) = 0;

  // --- For subclasses rebuilding their state (FileStore recovery). ---
  void restore_msg(uint64_t seq, int64_t ts, std::string_view subject, uint64_t size);
  void restore_last(uint64_t last_seq, int64_t last_ts);
  bool is_live(uint64_t seq) const { return msgs_.count(seq) != 0; }
  // Forgets `seqs` (those still live) without persisting anything and moves last_seq back to
  // `last_seq`: for records a failed write never put on the medium, so that the index shows
  // what a restart will find rather than messages that will vanish (and whose sequences the
  // restart would hand out again).
  void forget_unwritten(const std::vector<uint64_t>& seqs, uint64_t last_seq);
  uint64_t last_seq() const { return last_seq_; }
  int64_t last_ts() const { return last_ts_; }
  // Lowest live seq, or last_seq + 1 when empty.
  uint64_t first_live_seq() const { return msgs_.empty() ? last_seq_ + 1 : msgs_.begin()->first; }

 private:
  using SubjectMap = std::map<std::string, std::set<uint64_t>, std::less<>>;

  void index_add(uint64_t seq, int64_t ts, std::string_view subject, uint64_t size);
  void drop(uint64_t seq, std::vector<uint64_t>* removed);  // REQUIRES: seq is live
  Status persist_dropped(std::vector<uint64_t>& removed, bool erase);
  void enforce_limits(const std::string* subject, int64_t now_ns, std::vector<uint64_t>* removed);
  void enforce_age(int64_t now_ns, std::vector<uint64_t>* removed);
  std::vector<uint64_t> matching(std::string_view filter) const;  // ascending
  template <class Fn>
  void for_each_matching_subject(std::string_view filter, Fn&& fn) const;
  Result<StoredMsg> read(uint64_t seq);

  StoreLimits limits_;
  MsgSizeFn msg_size_;
  std::map<uint64_t, Entry> msgs_;
  SubjectMap subjects_;
  uint64_t bytes_ = 0;
  uint64_t last_seq_ = 0;
  int64_t last_ts_ = 0;
};

// True for filters that match every subject ("" and ">").
inline bool is_match_all(std::string_view filter) { return filter.empty() || filter == ">"; }

}  // namespace tern::server
