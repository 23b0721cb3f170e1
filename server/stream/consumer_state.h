#pragma once
// ConsumerState: what a durable consumer must find again after a restart or a kill -9
// (semantics R-12): where delivery stands, the ack floor, every pending (delivered, unacked)
// message with its consumer sequence and delivery time, and the delivery counts of the
// messages delivered more than once. It is a snapshot the Consumer takes and saves; the live
// structures (pending index, redelivery timers) are rebuilt from it.
//
// On disk (<stream dir>/obs/<consumer>/state): msgpack, a format version, and a CRC32C of the
// whole, written to a temp file, fsynced, renamed over the old one, directory fsynced — so a
// crash leaves either the old or the new snapshot, never a torn one. A snapshot that fails its
// checksum is reported (an error from load), not trusted: the consumer then starts over from its
// deliver policy, redelivering rather than skipping.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "proto/status.h"
#include "server/stream/file_system.h"

namespace tern::server {

struct SequencePair {
  uint64_t consumer_seq = 0;
  uint64_t stream_seq = 0;
  bool operator==(const SequencePair&) const = default;
};

struct PendingEntry {
  uint64_t consumer_seq = 0;  // of the latest delivery
  int64_t ts_ns = 0;          // when it was delivered (the ack timer restarts from here)
  bool operator==(const PendingEntry&) const = default;
};

struct ConsumerState {
  SequencePair delivered;                        // last assigned (info "delivered")
  SequencePair ack_floor;                        // info "ack_floor"
  std::map<uint64_t, PendingEntry> pending;      // stream seq -> entry
  std::map<uint64_t, uint64_t> redelivered;      // stream seq -> delivery count, only counts > 1
  bool operator==(const ConsumerState&) const = default;
};

std::string encode_consumer_state(const ConsumerState& state);
Result<ConsumerState> decode_consumer_state(std::string_view bytes);

// Atomic replace as described above; `dir` is created if missing.
Status save_consumer_state(FileSystem& fs, const std::string& dir, const ConsumerState& state);
// nullopt when there is no state file yet; an error when it exists but is damaged.
Result<std::optional<ConsumerState>> load_consumer_state(FileSystem& fs, const std::string& dir);

}  // namespace tern::server
