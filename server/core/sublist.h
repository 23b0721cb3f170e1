#pragma once
// The subject index: which subscriptions does a published subject reach?
//
// A trie with one level per token; '*' and '>' subscriptions hang off their own branches,
// so a match walks literal, '*' and '>' edges only. Results are cached per subject; a
// change to the index invalidates exactly the cached subjects it affects (a literal
// subscription: one entry; a wildcard one: the entries it matches).
//
// Threading: not thread-safe; the server's loop thread owns it.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proto/status.h"
#include "server/core/subscription.h"

namespace tern::server {

struct SublistResult {
  std::vector<Subscription*> plain;
  // One entry per queue group name; each holds that group's matching members.
  struct Group {
    std::string_view name;  // points into a member's Subscription::queue
    std::vector<Subscription*> members;
  };
  std::vector<Group> queues;
  bool empty() const { return plain.empty() && queues.empty(); }
};

// Transparent hashing lets string_view look up std::string keys without allocating.
// Deliberately not noexcept: libstdc++ then stores each node's hash code, so walking a bucket
// compares codes instead of rehashing every subject in it.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Sublist {
 public:
  static constexpr size_t kMaxCacheEntries = 4096;  // bounded, so a flood of distinct subjects cannot grow it

  Sublist();
  ~Sublist();
  Sublist(const Sublist&) = delete;
  Sublist& operator=(const Sublist&) = delete;

  // Fails (and inserts nothing) when sub->subject is not a valid subscription subject.
  Status insert(Subscription* sub);
  // Returns false when sub was not in the index.
  bool remove(Subscription* sub);

  // Everything `subject` reaches. The result stays valid while the caller holds it, even
  // if the index changes meanwhile; the Subscriptions it points to may then be closed.
  std::shared_ptr<const SublistResult> match(std::string_view subject);

  size_t count() const { return count_; }
  size_t cache_size() const { return cache_.size(); }
  uint64_t cache_hits() const { return cache_hits_; }
  uint64_t matches() const { return matches_; }
  uint64_t inserts() const { return inserts_; }
  uint64_t removes() const { return removes_; }
  // Fan-out over the cached results (plain subscriptions + queue groups each), as nats' /subsz
  // reports it: O(cache entries), for monitoring only.
  struct FanoutStats {
    size_t max = 0;
    double avg = 0;
  };
  FanoutStats cache_fanout() const;
  // Calls fn(const Subscription&) for every subscription in the index (monitoring; O(subs)).
  void for_each(const std::function<void(const Subscription&)>& fn) const;

 private:
  struct Node;
  struct Level;
  void invalidate(const Subscription* sub);
  static void visit(const Level* level, const std::function<void(const Subscription&)>& fn);
  void collect(const Level* level, const std::vector<std::string_view>& tokens, size_t i, SublistResult& out) const;

  std::unique_ptr<Level> root_;
  size_t count_ = 0;
  uint64_t inserts_ = 0;
  uint64_t removes_ = 0;
  std::unordered_map<std::string, std::shared_ptr<const SublistResult>, StringHash, std::equal_to<>> cache_;
  uint64_t cache_hits_ = 0;
  uint64_t matches_ = 0;
};

}  // namespace tern::server
