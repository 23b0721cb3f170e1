#pragma once
// The storage interface for a stream: what both MemStore and FileStore implement, and what the
// stream layer (stream.h, later) builds JetStream semantics on. Modelled on nats-server's
// StreamStore (store.go); the behaviour rules are spec/semantics.md.
//
// Threading: a Store is owned by one thread (the event loop) and is NOT thread-safe; every method
// must be called from the owning thread. FileStore hands fsync work to a Syncer thread through
// SyncBatch values (file_store.h), never by sharing the store itself.
//
// Errors are values: every failure is a tern::Status whose message starts with one of the texts
// in the StoreErrc table below, so callers can tell "discard new" rejections (which map to
// JetStream 10077) from storage failures (which make the stream stop taking writes).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "proto/status.h"

namespace tern::server {

enum class DiscardPolicy { kOld, kNew };
enum class Compression { kNone, kLz4, kZstd };

std::string_view compression_name(Compression c);  // "none" | "lz4" | "zstd"

// Limits applied by the store itself on every store_msg. A value <= 0 means unlimited.
struct StoreLimits {
  int64_t max_msgs = 0;
  int64_t max_bytes = 0;  // counted with the store's size rule (store_msg_size / mem_store_msg_size)
  int64_t max_age_ns = 0;
  int64_t max_msgs_per_subject = 0;
  int64_t max_msg_size = 0;  // len(headers) + len(payload)
  DiscardPolicy discard = DiscardPolicy::kOld;
  bool discard_new_per_subject = false;  // only with discard kNew and max_msgs_per_subject > 0
};

// Why a store operation failed: the Status's code(). Its message is the table text
// (store_errc_text), optionally followed by ": <detail>".
enum class StoreErrc {
  kOk = 0,
  kMaxMsgs,            // "maximum messages exceeded"            discard new
  kMaxBytes,           // "maximum bytes exceeded"               discard new
  kMaxMsgsPerSubject,  // "maximum messages per subject exceeded"
  kMsgTooLarge,        // "message size exceeds maximum allowed"
  kHeadersTooLarge,    // "header size exceeds maximum allowed of 64k"
  kNotFound,           // "no message found"
  kInvalidArgument,    // "invalid argument"
  kStorageFailed,      // "storage failed"  an I/O error happened; the store refuses writes (fail closed)
  kUnknown,            // not produced by a store
};

std::string_view store_errc_text(StoreErrc code);
Status store_error(StoreErrc code, std::string_view detail = {});
// The code of a Status produced by store_error (kOk for an ok Status, kUnknown for a foreign one).
StoreErrc store_errc(const Status& status);
// The discard-new rejections: the publish is refused, nothing was stored, no sequence consumed.
inline bool is_limit_rejection(StoreErrc c) {
  return c == StoreErrc::kMaxMsgs || c == StoreErrc::kMaxBytes || c == StoreErrc::kMaxMsgsPerSubject;
}

// Byte accounting: each store counts a message as nats-server's store of the same kind does, so
// `bytes` in STREAM.INFO and the max_bytes limits match nats exactly.
// FileStore: nats' fileStoreMsgSize (filestore.go): 22 + subject + payload + 8, plus 4 + headers
// when there are headers.
inline uint64_t store_msg_size(size_t subject_len, size_t headers_len, size_t payload_len) {
  return 22 + subject_len + (headers_len ? 4 + headers_len : 0) + payload_len + 8;
}
// MemStore: nats' memStoreMsgSize (memstore.go): subject + headers + payload + 16 (seq and ts).
inline uint64_t mem_store_msg_size(size_t subject_len, size_t headers_len, size_t payload_len) {
  return subject_len + headers_len + payload_len + 16;
}
using MsgSizeFn = uint64_t (*)(size_t subject_len, size_t headers_len, size_t payload_len);

// A message as loaded from a store: an owned copy, valid independently of the store.
struct StoredMsg {
  uint64_t seq = 0;
  int64_t ts = 0;  // ns since the Unix epoch, as given to store_msg
  std::string subject;
  std::string headers;  // raw NATS/1.0 header block, empty when none
  std::string payload;
};

struct StoreState {
  uint64_t msgs = 0;
  uint64_t bytes = 0;
  uint64_t first_seq = 0;    // lowest live seq; last_seq + 1 when empty; 0 for a never-used store
  uint64_t last_seq = 0;     // highest seq ever assigned, never decreases
  int64_t first_ts = 0;      // 0 when empty
  int64_t last_ts = 0;       // timestamp of the message at last_seq, 0 if it is gone or was a skip
  uint64_t num_deleted = 0;  // gaps between first_seq and last_seq
  uint64_t num_subjects = 0;
  std::map<std::string, uint64_t> subjects;  // filled only when asked for (state(true))
};

class Store {
 public:
  virtual ~Store() = default;

  // Stores a message with timestamp ts_ns and returns its sequence (last_seq + 1). Applies the
  // limits: discard-new rejections and size checks return an error and consume no sequence;
  // otherwise max_msgs_per_subject, max_msgs, max_bytes (discard old) and max_age (relative to
  // ts_ns) remove the oldest messages after the store. The views are copied before returning.
  // FileStore: the message is buffered, not yet durable — see FileStore::durable_seq().
  virtual Result<uint64_t> store_msg(std::string_view subject, std::string_view headers, std::string_view payload,
                                     int64_t ts_ns) = 0;
  // Consumes the next sequence without storing a message (interest retention with no interest,
  // Returns the skipped sequence.
  virtual Result<uint64_t> skip_msg() = 0;

  virtual Result<StoredMsg> load(uint64_t seq) = 0;
  // The newest message whose subject matches `filter` (wildcards allowed; empty = any).
  virtual Result<StoredMsg> load_last(std::string_view filter) = 0;
  // The first message with seq >= start whose subject matches `filter` (empty = any).
  virtual Result<StoredMsg> load_next(std::string_view filter, uint64_t start) = 0;

  // Removes one message. Returns false (not an error) when it is not in the store.
  virtual Result<bool> remove(uint64_t seq) = 0;
  // Like remove, and the message's bytes are also gone from the medium before returning.
  virtual Result<bool> erase(uint64_t seq) = 0;

  // Removes every message; first_seq becomes last_seq + 1. Returns the number removed.
  virtual Result<uint64_t> purge() = 0;
  // Purge restricted to messages whose subject matches `filter` (empty = all): with seq > 0
  // removes those with seq < `seq`; with keep > 0 all but the newest `keep`; else all of them.
  // seq and keep together are an invalid argument (as in nats)..
  virtual Result<uint64_t> purge_ex(std::string_view filter, uint64_t seq, uint64_t keep) = 0;
  // Removes every message with seq < `seq`. Returns the number removed.
  virtual Result<uint64_t> compact(uint64_t seq) = 0;

  // Removes messages with ts <= now_ns - max_age_ns. The owner calls this on a timer
  // and after opening a store; returns the number removed.
  virtual Result<uint64_t> expire(int64_t now_ns) = 0;
  // Replaces the limits and enforces them at once, whatever the discard policy.
  virtual Status update_limits(const StoreLimits& limits) = 0;
  virtual const StoreLimits& limits() const = 0;

  virtual StoreState state(bool with_subjects = false) const = 0;
  // Per-subject message counts for subjects matching `filter` (empty = all).
  virtual std::map<std::string, uint64_t> subjects_state(std::string_view filter) const = 0;
  // Number of messages with seq >= start matching `filter` (consumer num_pending, R-8.6).
  virtual uint64_t num_pending(std::string_view filter, uint64_t start) const = 0;
};

}  // namespace tern::server
