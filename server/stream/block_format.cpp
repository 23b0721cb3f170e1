#include "server/stream/block_format.h"

#include <lz4.h>
#include <zstd.h>

#include <cassert>
#include <cstring>

#include "server/stream/crc32c.h"

namespace tern::server {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the on-disk format is little-endian; add byte swaps");

template <class T>
void put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
T get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint32_t record_crc(const char* rec, size_t len) {
  uint32_t crc = crc32c_extend(0, rec, 4);
  return crc32c_extend(crc, rec + 8, len - 8);
}

uint32_t frame_crc(const char* frame, size_t comp_len) {
  uint32_t crc = crc32c_extend(0, frame, 16);
  return crc32c_extend(crc, frame + kFrameHeaderSize, comp_len);
}

// Parses the frame at data[off]; on success appends the decompressed bytes and returns its size.
size_t parse_frame(std::string_view data, size_t off, std::string* raw) {
  if (data.size() - off < kFrameHeaderSize) return 0;
  const char* p = data.data() + off;
  if (get<uint32_t>(p) != kFrameMagic) return 0;
  uint8_t codec = static_cast<uint8_t>(p[4]);
  uint32_t raw_len = get<uint32_t>(p + 8);
  uint32_t comp_len = get<uint32_t>(p + 12);
  if (comp_len > data.size() - off - kFrameHeaderSize || raw_len > kMaxRecordSize) return 0;
  if (get<uint32_t>(p + 16) != frame_crc(p, comp_len)) return 0;
  size_t base = raw->size();
  raw->resize(base + raw_len);
  const char* src = p + kFrameHeaderSize;
  bool ok = false;
  if (codec == 1) {
    int n = LZ4_decompress_safe(src, raw->data() + base, static_cast<int>(comp_len), static_cast<int>(raw_len));
    ok = n >= 0 && static_cast<uint32_t>(n) == raw_len;
  } else if (codec == 2) {
    size_t n = ZSTD_decompress(raw->data() + base, raw_len, src, comp_len);
    ok = !ZSTD_isError(n) && n == raw_len;
  }
  if (!ok) {
    raw->resize(base);
    return 0;
  }
  return kFrameHeaderSize + comp_len;
}

}  // namespace

void append_record(std::string* out, RecordType type, uint64_t seq, int64_t ts, std::string_view subject,
                   std::string_view headers, std::string_view payload) {
  assert(subject.size() <= 0xFFFF);
  size_t len = record_size(subject.size(), headers.size(), payload.size());
  assert(len <= kMaxRecordSize);
  size_t start = out->size();
  out->reserve(start + len);
  put<uint32_t>(out, static_cast<uint32_t>(len));
  put<uint32_t>(out, 0);  // CRC, filled below
  put<uint8_t>(out, static_cast<uint8_t>(type));
  put<uint8_t>(out, kRecordMagic);
  put<uint16_t>(out, static_cast<uint16_t>(subject.size()));
  put<uint32_t>(out, static_cast<uint32_t>(headers.size()));
  put<uint64_t>(out, seq);
  put<int64_t>(out, ts);
  out->append(subject);
  out->append(headers);
  out->append(payload);
  uint32_t crc = record_crc(out->data() + start, len);
  std::memcpy(out->data() + start + 4, &crc, 4);
}

ParseOutcome parse_record(std::string_view data, size_t offset, RecordView* out) {
  size_t avail = data.size() - offset;
  if (avail < kRecordHeaderSize) return ParseOutcome::kTruncated;
  const char* p = data.data() + offset;
  uint32_t len = get<uint32_t>(p);
  uint8_t type = static_cast<uint8_t>(p[8]);
  uint16_t subject_len = get<uint16_t>(p + 10);
  uint32_t headers_len = get<uint32_t>(p + 12);
  if (static_cast<uint8_t>(p[9]) != kRecordMagic || type < 1 || type > 4 || len < kRecordHeaderSize ||
      len > kMaxRecordSize || uint64_t{subject_len} + headers_len > len - kRecordHeaderSize) {
    return ParseOutcome::kCorrupt;
  }
  if (len > avail) return ParseOutcome::kTruncated;
  if (get<uint32_t>(p + 4) != record_crc(p, len)) return ParseOutcome::kCorrupt;
  out->type = static_cast<RecordType>(type);
  out->seq = get<uint64_t>(p + 16);
  out->ts = get<int64_t>(p + 24);
  const char* body = p + kRecordHeaderSize;
  out->subject = std::string_view(body, subject_len);
  out->headers = std::string_view(body + subject_len, headers_len);
  out->payload =
      std::string_view(body + subject_len + headers_len, len - kRecordHeaderSize - subject_len - headers_len);
  out->size = len;
  return ParseOutcome::kOk;
}

ScanStats scan_records(std::string_view data, const std::function<void(size_t, const RecordView&)>& fn) {
  ScanStats stats;
  size_t off = 0;
  RecordView rec;
  while (off < data.size()) {
    ParseOutcome first = parse_record(data, off, &rec);
    if (first == ParseOutcome::kOk) {
      fn(off, rec);
      stats.records++;
      off += rec.size;
      stats.valid_end = off;
      continue;
    }
    // Pre-zeroed space after the last record (an all-zero header, zeros to the end): the clean
    // end of the data. A record never starts with zeros (its length is >= 32), so this cannot
    // hide a record; zeros followed by anything else are resynchronised over as damage below.
    size_t nz_end = data.size();  // just after the last non-zero byte
    while (nz_end > off && data[nz_end - 1] == '\0') --nz_end;
    if (nz_end == off) {
      stats.zero_tail = data.size() - off;
      break;
    }
    // A bad region starts at off: look for the next offset where a valid record starts.
    size_t next = off + 1;
    while (next < data.size() && parse_record(data, next, &rec) != ParseOutcome::kOk) ++next;
    if (next >= data.size()) {
      stats.tail_bytes = data.size() - off;
      stats.zero_tail = data.size() - nz_end;
      // An append torn inside pre-zeroed space is a record prefix followed by zeros: judge it on
      // the non-zero part.
      stats.torn_tail = first == ParseOutcome::kTruncated ||
                        (nz_end < data.size() && parse_record(data.substr(0, nz_end), off, &rec) ==
                                                     ParseOutcome::kTruncated);
      if (!stats.torn_tail) stats.dropped_records++;
      break;
    }
    stats.dropped_records++;
    stats.dropped_bytes += next - off;
    off = next;
  }
  return stats;
}

Status encode_frames(std::string_view raw, Compression codec, int level, size_t frame_size, std::string* out) {
  assert(codec != Compression::kNone);
  size_t off = 0;
  while (off < raw.size()) {
    // Whole records up to frame_size raw bytes (at least one record per frame).
    size_t end = off;
    RecordView rec;
    while (end < raw.size() && (end == off || end - off < frame_size)) {
      if (parse_record(raw, end, &rec) != ParseOutcome::kOk) return Status::error("encode_frames: invalid record");
      if (end != off && end - off + rec.size > frame_size) break;
      end += rec.size;
    }
    std::string_view chunk = raw.substr(off, end - off);
    size_t header_at = out->size();
    put<uint32_t>(out, kFrameMagic);
    put<uint8_t>(out, codec == Compression::kLz4 ? 1 : 2);
    out->append(3, '\0');
    put<uint32_t>(out, static_cast<uint32_t>(chunk.size()));
    put<uint32_t>(out, 0);  // compressed length, below
    put<uint32_t>(out, 0);  // CRC, below
    size_t comp_len = 0;
    if (codec == Compression::kLz4) {
      int bound = LZ4_compressBound(static_cast<int>(chunk.size()));
      out->resize(header_at + kFrameHeaderSize + static_cast<size_t>(bound));
      int n = LZ4_compress_default(chunk.data(), out->data() + header_at + kFrameHeaderSize,
                                   static_cast<int>(chunk.size()), bound);
      if (n <= 0) return Status::error("lz4 compression failed");
      comp_len = static_cast<size_t>(n);
    } else {
      size_t bound = ZSTD_compressBound(chunk.size());
      out->resize(header_at + kFrameHeaderSize + bound);
      size_t n = ZSTD_compress(out->data() + header_at + kFrameHeaderSize, bound, chunk.data(), chunk.size(),
                               level ? level : 3);  // 3: zstd's default, ~fast as lz4 on small JSON
      if (ZSTD_isError(n)) return Status::error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
      comp_len = n;
    }
    out->resize(header_at + kFrameHeaderSize + comp_len);
    uint32_t comp32 = static_cast<uint32_t>(comp_len);
    std::memcpy(out->data() + header_at + 12, &comp32, 4);
    uint32_t crc = frame_crc(out->data() + header_at, comp_len);
    std::memcpy(out->data() + header_at + 16, &crc, 4);
    off = end;
  }
  return Status::ok();
}

FrameStats decode_frames(std::string_view data, std::string* raw) {
  FrameStats stats;
  size_t off = 0;
  while (off < data.size()) {
    size_t n = parse_frame(data, off, raw);
    if (n) {
      stats.frames++;
      off += n;
      continue;
    }
    size_t next = off + 1;
    size_t found = 0;  // size of the valid frame at next (already decoded into *raw)
    for (; next < data.size(); ++next) {
      if (data.size() - next >= 4 && get<uint32_t>(data.data() + next) == kFrameMagic &&
          (found = parse_frame(data, next, raw)) != 0) {
        stats.frames++;
        break;
      }
    }
    stats.dropped_frames++;
    stats.dropped_bytes += next - off;
    off = next + found;
  }
  return stats;
}

}  // namespace tern::server
