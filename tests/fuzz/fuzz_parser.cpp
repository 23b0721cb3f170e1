// Fuzzes the wire parser on both sides: arbitrary bytes, split at points chosen by the
// input itself, must never crash, read outside the buffer or make progress backwards,
// and must parse the same ops however the stream is split.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "proto/parser.h"

using tern::proto::ParsedOp;
using tern::proto::Parser;
using tern::proto::ParseStatus;

namespace {

struct Outcome {
  std::vector<std::string> ops;
  bool error = false;
};

std::string describe(const ParsedOp& op) {
  std::string s;
  s += std::to_string(static_cast<int>(op.op));
  for (auto v : {op.subject, op.reply, op.queue, op.sid, op.arg, op.headers, op.payload}) {
    s += '|';
    s.append(v);
  }
  s += '|' + std::to_string(op.max_msgs);
  return s;
}

// Feeds `data` in chunks whose sizes come from `splits`, as a connection would.
Outcome run(const Parser& p, const uint8_t* data, size_t size, const std::vector<size_t>& splits) {
  Outcome out;
  std::string buf;
  size_t fed = 0, si = 0;
  while (fed < size && !out.error) {
    size_t n = splits.empty() ? size : std::max<size_t>(1, splits[si++ % splits.size()]);
    n = std::min(n, size - fed);
    buf.append(reinterpret_cast<const char*>(data) + fed, n);
    fed += n;
    for (;;) {
      ParsedOp op;
      auto st = p.parse_one(buf, op);
      if (st.status == ParseStatus::Error) {
        out.error = true;
        break;
      }
      if (st.status == ParseStatus::NeedMore) break;
      if (st.consumed == 0 || st.consumed > buf.size()) __builtin_trap();
      out.ops.push_back(describe(op));
      buf.erase(0, st.consumed);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::vector<size_t> splits;
  for (size_t i = 0; i < 4; ++i) splits.push_back(1 + data[i % size] % 17);
  for (auto side : {Parser::Side::Server, Parser::Side::Client}) {
    Parser p(side);
    p.set_max_control_line(256);
    p.set_max_payload(4096);
    p.set_headers_allowed(data[0] & 1);
    Outcome whole = run(p, data, size, {});
    Outcome split = run(p, data, size, splits);
    // Splitting may only change how far an erroneous stream got, never the ops before it.
    size_t n = std::min(whole.ops.size(), split.ops.size());
    for (size_t i = 0; i < n; ++i)
      if (whole.ops[i] != split.ops[i]) __builtin_trap();
    if (!whole.error && !split.error && whole.ops.size() != split.ops.size()) __builtin_trap();
  }
  return 0;
}
