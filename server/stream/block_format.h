#pragma once
// The byte layout of FileStore's block files (docs/storage-format.md is the prose version; keep
// the two in step). Pure functions on buffers: no I/O, no state, callable from any thread.
//
// Record (little-endian):
//   0  u32 length of the whole record, header included (>= 32)
//   4  u32 CRC-32C of bytes [0,4) followed by bytes [8,length)
//   8  u8  type (RecordType)
//   9  u8  magic 0xA5 (cheap filter while resynchronising after corruption)
//  10  u16 subject length S
//  12  u32 headers length H
//  16  u64 seq
//  24  i64 timestamp, ns since the Unix epoch
//  32  subject[S], headers[H], payload[length - 32 - S - H]
//
// Frame (compressed blocks hold a sequence of these; each frame holds whole records):
//   0  u32 magic "TFRM"
//   4  u8  codec (1 lz4, 2 zstd), then 3 zero bytes
//   8  u32 raw (decompressed) length
//  12  u32 compressed length C
//  16  u32 CRC-32C of bytes [0,16) followed by the C compressed bytes
//  20  compressed bytes[C]

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "proto/status.h"
#include "server/stream/store.h"

namespace tern::server {

enum class RecordType : uint8_t {
  kMsg = 1,         // a stored message
  kDelete = 2,      // tombstone: message `seq` is removed
  kDeleteUpTo = 3,  // tombstone: every message with seq <= `seq` is removed
  kSeqFloor = 4,    // no message; last_seq is at least `seq` (block start, skip_msg)
};

constexpr size_t kRecordHeaderSize = 32;
constexpr uint8_t kRecordMagic = 0xA5;
constexpr uint32_t kMaxRecordSize = 1u << 30;  // a sanity bound for parsing; real records are far smaller
constexpr size_t kFrameHeaderSize = 20;
constexpr uint32_t kFrameMagic = 0x4D524654;  // "TFRM" little-endian

// Every record's ts field: for a message its timestamp; for the other types the store's last_ts
// when the record was written, so that recovery can restore last_ts.
struct RecordView {
  RecordType type = RecordType::kMsg;
  uint64_t seq = 0;
  int64_t ts = 0;
  std::string_view subject;  // views into the parsed buffer
  std::string_view headers;
  std::string_view payload;
  uint32_t size = 0;  // the whole record
};

inline size_t record_size(size_t subject_len, size_t headers_len, size_t payload_len) {
  return kRecordHeaderSize + subject_len + headers_len + payload_len;
}

// Appends one encoded record to *out. REQUIRES: subject.size() <= 65535, total size <= kMaxRecordSize.
void append_record(std::string* out, RecordType type, uint64_t seq, int64_t ts, std::string_view subject = {},
                   std::string_view headers = {}, std::string_view payload = {});

enum class ParseOutcome { kOk, kTruncated, kCorrupt };
// Decodes the record starting at data[offset]. kTruncated: the header or the declared length runs
// past the end of data (a torn append looks like this); kCorrupt: anything else that is wrong.
ParseOutcome parse_record(std::string_view data, size_t offset, RecordView* out);

struct ScanStats {
  uint64_t records = 0;          // valid records passed to the callback
  uint64_t dropped_records = 0;  // corrupt regions (each counted as one record) skipped
  uint64_t dropped_bytes = 0;    // bytes in those regions, not counting the tail
  uint64_t valid_end = 0;        // offset just after the last valid record
  uint64_t tail_bytes = 0;       // bytes after valid_end: a torn or corrupt last record (0 if all zero)
  bool torn_tail = false;        // the tail looks like an incomplete append rather than a bad record
  uint64_t zero_tail = 0;        // trailing zero bytes (pre-zeroed space); all of the tail when it is clean
};
// Walks every record of a raw block. After a bad record, resynchronises on the next offset where a
// valid record starts (so every intact record after corruption is kept). Zeros from a record
// boundary to the end of data are pre-zeroed space, the clean end of the data (no tail_bytes). fn gets each valid record
// with its offset; the views point into data.
ScanStats scan_records(std::string_view data, const std::function<void(size_t, const RecordView&)>& fn);

// Compresses raw block content (whole records) into frames of about frame_size raw bytes each,
// appended to *out. REQUIRES: codec != kNone. level 0 = the codec's default.
Status encode_frames(std::string_view raw, Compression codec, int level, size_t frame_size, std::string* out);

struct FrameStats {
  uint64_t frames = 0;
  uint64_t dropped_frames = 0;  // bad frames skipped (their records are lost)
  uint64_t dropped_bytes = 0;
};
// Decompresses a frame sequence into *raw, skipping (and counting) bad frames.
FrameStats decode_frames(std::string_view data, std::string* raw);

}  // namespace tern::server
