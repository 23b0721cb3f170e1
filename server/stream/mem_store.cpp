#include "server/stream/mem_store.h"

namespace tern::server {

Status MemStore::persist_msg(uint64_t seq, int64_t, std::string_view, std::string_view headers,
                             std::string_view payload) {
  bodies_.emplace(seq, Body{std::string(headers), std::string(payload)});
  return Status::ok();
}

Status MemStore::persist_removals(const std::vector<uint64_t>& removed, bool) {
  // Erase and remove are the same here: the bytes are freed either way.
  for (uint64_t seq : removed) bodies_.erase(seq);
  return Status::ok();
}

Result<StoredMsg> MemStore::read_msg(uint64_t seq, const Entry& entry) {
  const Body& body = bodies_.at(seq);
  return StoredMsg{seq, entry.ts, *entry.subject, body.headers, body.payload};
}

}  // namespace tern::server
