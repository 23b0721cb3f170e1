#include "server/stream/consumer_state.h"

#include <cstring>

// msgpack-cxx 4.x is header-only; its Boost dependency is only for optional adaptors we do not use.
#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST
#endif
#include <msgpack.hpp>

#include "server/stream/crc32c.h"

namespace tern::server {
namespace {

// File layout: [version:1][msgpack body][crc32c of version+body:4, little endian].
// Body: [delivered.cseq, delivered.sseq, ack_floor.cseq, ack_floor.sseq,
//        [sseq, cseq, ts, sseq, cseq, ts, ...],   // pending, flat, ascending sseq
//        [sseq, count, sseq, count, ...]]          // redelivered, flat, ascending sseq
// Flat arrays keep 100k pending entries to one msgpack object each and no per-entry headers.
constexpr uint8_t kVersion = 1;
constexpr const char* kStateFile = "state";
constexpr const char* kTmpSuffix = ".tmp";

Status corrupt(std::string_view why) { return Status::error("consumer state is damaged: " + std::string(why)); }

void put_u32le(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32le(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

bool as_u64(const msgpack::object& o, uint64_t* out) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) return false;
  *out = o.via.u64;
  return true;
}

bool as_i64(const msgpack::object& o, int64_t* out) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    *out = o.via.i64;
    return true;
  }
  if (o.type == msgpack::type::POSITIVE_INTEGER && o.via.u64 <= static_cast<uint64_t>(INT64_MAX)) {
    *out = static_cast<int64_t>(o.via.u64);
    return true;
  }
  return false;
}

std::string join(const std::string& dir, const char* name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string parent_of(const std::string& dir) {
  size_t end = dir.size();
  while (end > 1 && dir[end - 1] == '/') --end;
  size_t slash = dir.rfind('/', end - 1);
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return dir.substr(0, slash);
}

// mkdir -p through the FileSystem, fsyncing each parent whose entry we may have just added.
Status create_dirs(FileSystem& fs, const std::string& dir) {
  std::vector<std::string> chain;
  for (std::string d = dir; !d.empty() && d != "/" && d != "."; d = parent_of(d)) chain.push_back(d);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if (Status st = fs.create_dir(*it); !st) return st;
    if (Status st = fs.sync_dir(parent_of(*it)); !st) return st;
  }
  return Status::ok();
}

Status write_tmp(File& f, std::string_view bytes) {
  // A temp file left by an earlier crash is overwritten, not appended to.
  if (Status st = f.truncate(0); !st) return st;
  if (Status st = f.append(bytes); !st) return st;
  return f.sync();
}

}  // namespace

std::string encode_consumer_state(const ConsumerState& s) {
  msgpack::sbuffer buf;
  buf.write(reinterpret_cast<const char*>(&kVersion), 1);
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(6);
  pk.pack_uint64(s.delivered.consumer_seq);
  pk.pack_uint64(s.delivered.stream_seq);
  pk.pack_uint64(s.ack_floor.consumer_seq);
  pk.pack_uint64(s.ack_floor.stream_seq);
  pk.pack_array(static_cast<uint32_t>(s.pending.size() * 3));
  for (const auto& [sseq, p] : s.pending) {
    pk.pack_uint64(sseq);
    pk.pack_uint64(p.consumer_seq);
    pk.pack_int64(p.ts_ns);
  }
  pk.pack_array(static_cast<uint32_t>(s.redelivered.size() * 2));
  for (const auto& [sseq, count] : s.redelivered) {
    pk.pack_uint64(sseq);
    pk.pack_uint64(count);
  }
  std::string out(buf.data(), buf.size());
  put_u32le(&out, crc32c(out));
  return out;
}

Result<ConsumerState> decode_consumer_state(std::string_view bytes) {
  if (bytes.size() < 1 + 1 + 4) return corrupt("too short");
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  if (crc32c(body) != get_u32le(bytes.data() + body.size())) return corrupt("checksum mismatch");
  if (static_cast<uint8_t>(body[0]) != kVersion)
    return corrupt("unknown format version " + std::to_string(static_cast<uint8_t>(body[0])));
  body.remove_prefix(1);

  // Every msgpack element takes at least one byte, so no honest count exceeds the body size;
  // limiting counts to it bounds what the unpacker allocates for a hostile header.
  const size_t n = body.size();
  msgpack::unpack_limit limit(n, n, n, n, n, 4);
  msgpack::object_handle oh;
  try {
    size_t off = 0;
    oh = msgpack::unpack(body.data(), body.size(), off, nullptr, nullptr, limit);
    if (off != body.size()) return corrupt("trailing bytes");
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
  const msgpack::object& root = oh.get();
  if (root.type != msgpack::type::ARRAY || root.via.array.size != 6) return corrupt("bad layout");
  const msgpack::object* f = root.via.array.ptr;
  ConsumerState s;
  if (!as_u64(f[0], &s.delivered.consumer_seq) || !as_u64(f[1], &s.delivered.stream_seq) ||
      !as_u64(f[2], &s.ack_floor.consumer_seq) || !as_u64(f[3], &s.ack_floor.stream_seq))
    return corrupt("bad sequence");
  if (f[4].type != msgpack::type::ARRAY || f[4].via.array.size % 3 != 0) return corrupt("bad pending list");
  const msgpack::object* p = f[4].via.array.ptr;
  for (uint32_t i = 0; i < f[4].via.array.size; i += 3) {
    uint64_t sseq = 0;
    PendingEntry e;
    if (!as_u64(p[i], &sseq) || !as_u64(p[i + 1], &e.consumer_seq) || !as_i64(p[i + 2], &e.ts_ns))
      return corrupt("bad pending entry");
    s.pending.emplace_hint(s.pending.end(), sseq, e);
    if (s.pending.size() != i / 3 + 1) return corrupt("duplicate pending entry");
  }
  if (f[5].type != msgpack::type::ARRAY || f[5].via.array.size % 2 != 0) return corrupt("bad redelivered list");
  const msgpack::object* r = f[5].via.array.ptr;
  for (uint32_t i = 0; i < f[5].via.array.size; i += 2) {
    uint64_t sseq = 0, count = 0;
    if (!as_u64(r[i], &sseq) || !as_u64(r[i + 1], &count)) return corrupt("bad redelivered entry");
    s.redelivered.emplace_hint(s.redelivered.end(), sseq, count);
    if (s.redelivered.size() != i / 2 + 1) return corrupt("duplicate redelivered entry");
  }
  return s;
}

Status save_consumer_state(FileSystem& fs, const std::string& dir, const ConsumerState& state) {
  const std::string path = join(dir, kStateFile);
  const std::string tmp = path + kTmpSuffix;
  const std::string bytes = encode_consumer_state(state);
  {
    // The directory usually exists; create it only when opening the temp file says otherwise.
    auto f = fs.open(tmp, true);
    if (!f) {
      if (Status mk = create_dirs(fs, dir); !mk) return mk;
      f = fs.open(tmp, true);
      if (!f) return f.status();
    }
    // No retry after a failed write or fsync: the caller learns the snapshot was not saved.
    if (Status st = write_tmp(**f, bytes); !st) return st;
  }
  if (Status st = fs.rename(tmp, path); !st) return st;
  return fs.sync_dir(dir);
}

Result<std::optional<ConsumerState>> load_consumer_state(FileSystem& fs, const std::string& dir) {
  // A missing directory or file means the consumer never saved (or was just created).
  auto names = fs.list_dir(dir);
  if (!names) return std::optional<ConsumerState>{};
  bool found = false;
  for (const std::string& name : *names) found = found || name == kStateFile;
  if (!found) return std::optional<ConsumerState>{};
  auto bytes = fs.read_all(join(dir, kStateFile));
  if (!bytes) return bytes.status();
  auto st = decode_consumer_state(*bytes);
  if (!st) return Status::error(join(dir, kStateFile) + ": " + st.status().message());
  return std::optional<ConsumerState>(std::move(*st));
}

}  // namespace tern::server
