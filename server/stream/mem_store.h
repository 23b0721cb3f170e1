#pragma once
// MemStore: a Store that keeps everything in memory (`storage: memory`, R-12.8: nothing survives
// a restart). Never fails after construction except by the limit rules.
//
// Threading: as Store — one owner thread.

#include <unordered_map>

#include "server/stream/indexed_store.h"

namespace tern::server {

class MemStore final : public IndexedStore {
 public:
  // Bytes are counted as nats' memory store does (mem_store_msg_size). Tests comparing it with a
  // FileStore pass store_msg_size so both count alike.
  explicit MemStore(const StoreLimits& limits = {}, MsgSizeFn msg_size = mem_store_msg_size)
      : IndexedStore(limits, msg_size) {}

 protected:
  Status persist_msg(uint64_t seq, int64_t ts, std::string_view subject, std::string_view headers,
                     std::string_view payload) override;
  Status persist_skip(uint64_t) override { return Status::ok(); }
  Status persist_removals(const std::vector<uint64_t>& removed, bool erase) override;
  Result<StoredMsg> read_msg(uint64_t seq, const Entry& entry) override;

 private:
  struct Body {
    std::string headers;
    std::string payload;
  };
  std::unordered_map<uint64_t, Body> bodies_;
};

}  // namespace tern::server
