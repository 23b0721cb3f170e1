#include "proto/parser.h"

#include <array>
#include <cstring>

namespace tern::proto {
namespace {

struct OpName {
  std::string_view name;
  Op op;
  bool has_args;
  bool needs_blank;  // a space or tab must follow the name (CONNECT and INFO don't need one in nats-server)
};

// Ops each side accepts, in the order nats-server's state machine tries them.
constexpr std::array<OpName, 10> kServerOps{{
    {"PUB", Op::Pub, true, true},
    {"PING", Op::Ping, false, false},
    {"PONG", Op::Pong, false, false},
    {"HPUB", Op::Hpub, true, true},
    {"SUB", Op::Sub, true, true},
    {"UNSUB", Op::Unsub, true, true},
    {"CONNECT", Op::Connect, true, false},
    {"INFO", Op::Info, true, false},
    {"+OK", Op::Ok, false, false},
    {"-ERR", Op::Err, true, true},
}};
constexpr std::array<OpName, 7> kClientOps{{
    {"MSG", Op::Msg, true, true},
    {"HMSG", Op::Hmsg, true, true},
    {"PING", Op::Ping, false, false},
    {"PONG", Op::Pong, false, false},
    {"INFO", Op::Info, true, false},
    {"+OK", Op::Ok, false, false},
    {"-ERR", Op::Err, true, true},
}};

constexpr size_t kMaxArgs = 6;  // HMSG has the most: subject sid reply hdr total

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }
bool is_blank(char c) { return c == ' ' || c == '\t'; }

ParseStep need_more(size_t needed = 0) { return ParseStep{ParseStatus::NeedMore, 0, needed, ParseError::None}; }
ParseStep fail(ParseError e) { return ParseStep{ParseStatus::Error, 0, 0, e}; }

// Splits on runs of blanks; returns the count (kMaxArgs + 1 means "too many").
size_t split_args(std::string_view line, std::array<std::string_view, kMaxArgs>& out) {
  size_t n = 0, i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i == line.size()) break;
    size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (n == kMaxArgs) return kMaxArgs + 1;
    out[n++] = line.substr(start, i - start);
  }
  return n;
}

}  // namespace

int64_t parse_size(std::string_view d) {
  if (d.empty() || d.size() > 9) return -1;
  int64_t n = 0;
  for (char c : d) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

ParseStep Parser::parse_one(std::string_view buf, ParsedOp& out) const {
  if (buf.empty()) return need_more();

  if (require_connect_ && side_ == Side::Server && buf[0] != 'C' && buf[0] != 'c')
    return fail(ParseError::AuthorizationViolation);

  // 1. The op name, matched byte by byte like nats-server so that a wrong byte fails at once.
  const OpName* match = nullptr;
  bool prefix_only = false;
  auto try_names = [&](const auto& names) {
    for (const OpName& n : names) {
      size_t k = std::min(n.name.size(), buf.size());
      bool same = true;
      for (size_t i = 0; i < k && same; ++i) same = upper(buf[i]) == n.name[i];
      if (!same) continue;
      if (k < n.name.size()) {
        prefix_only = true;
        continue;
      }
      // A full name; a longer name with this prefix cannot exist in either table.
      match = &n;
      return;
    }
  };
  if (side_ == Side::Server)
    try_names(kServerOps);
  else
    try_names(kClientOps);
  if (!match) return prefix_only ? need_more() : fail(ParseError::UnknownOp);

  size_t pos = match->name.size();
  if (match->needs_blank) {
    if (pos == buf.size()) return need_more();
    if (!is_blank(buf[pos])) return fail(ParseError::UnknownOp);
  }
  // HPUB is refused as soon as it is recognised, before its payload arrives.
  if (match->op == Op::Hpub && !headers_allowed_) return fail(ParseError::HeadersNotSupported);

  // 2. The control line.
  // The limit counts the arguments, as nats-server does (blanks after the name are not
  // buffered there); the raw line is capped too, since here every byte is buffered.
  const size_t raw_cap = 2 * max_control_line_ + 64;
  const char* nl = static_cast<const char*>(std::memchr(buf.data() + pos, '\n', buf.size() - pos));
  if (!nl) {
    size_t args = pos;
    while (args < buf.size() && is_blank(buf[args])) ++args;
    // Ops without arguments (PING ...) have no argument limit, only the raw cap, so a split
    // read decides exactly as a whole one does.
    bool over_args = match->has_args && buf.size() - args > max_control_line_ + 1;
    if (over_args || buf.size() - pos > raw_cap) return fail(ParseError::MaxControlLine);
    return need_more();
  }
  size_t line_end = static_cast<size_t>(nl - buf.data());  // index of '\n'
  if (line_end - pos > raw_cap) return fail(ParseError::MaxControlLine);
  std::string_view line = buf.substr(pos, line_end - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // Trim the blanks that separate the name from the arguments.
  while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
  if (match->has_args && line.size() > max_control_line_) return fail(ParseError::MaxControlLine);

  out = ParsedOp{};
  out.op = match->op;
  size_t after_line = line_end + 1;

  switch (match->op) {
    case Op::Ping:
    case Op::Pong:
    case Op::Ok:
      return ParseStep{ParseStatus::Complete, after_line, 0, ParseError::None};
    case Op::Connect:
    case Op::Info:
    case Op::Err:
      out.arg = line;
      return ParseStep{ParseStatus::Complete, after_line, 0, ParseError::None};
    default:
      break;
  }

  std::array<std::string_view, kMaxArgs> a;
  size_t n = split_args(line, a);
  int64_t hdr = -1, total = -1;

  switch (match->op) {
    case Op::Sub:
      if (n == 2) {
        out.subject = a[0], out.sid = a[1];
      } else if (n == 3) {
        out.subject = a[0], out.queue = a[1], out.sid = a[2];
      } else {
        return fail(ParseError::BadArguments);
      }
      return ParseStep{ParseStatus::Complete, after_line, 0, ParseError::None};
    case Op::Unsub:
      if (n == 1) {
        out.sid = a[0];
      } else if (n == 2) {
        // An unparseable max reads as -1 (no max: unsubscribe now), as in nats-server.
        out.sid = a[0];
        out.max_msgs = parse_size(a[1]);
      } else {
        return fail(ParseError::BadArguments);
      }
      return ParseStep{ParseStatus::Complete, after_line, 0, ParseError::None};
    case Op::Pub:
      if (n == 2) {
        out.subject = a[0], total = parse_size(a[1]);
      } else if (n == 3) {
        out.subject = a[0], out.reply = a[1], total = parse_size(a[2]);
      } else {
        return fail(ParseError::BadArguments);
      }
      hdr = 0;
      break;
    case Op::Hpub:
      if (n == 3) {
        out.subject = a[0], hdr = parse_size(a[1]), total = parse_size(a[2]);
      } else if (n == 4) {
        out.subject = a[0], out.reply = a[1], hdr = parse_size(a[2]), total = parse_size(a[3]);
      } else {
        return fail(ParseError::BadArguments);
      }
      if (hdr < 0 || total < 0 || hdr > total) return fail(ParseError::BadArguments);
      break;
    case Op::Msg:
      if (n == 3) {
        out.subject = a[0], out.sid = a[1], total = parse_size(a[2]);
      } else if (n == 4) {
        out.subject = a[0], out.sid = a[1], out.reply = a[2], total = parse_size(a[3]);
      } else {
        return fail(ParseError::BadArguments);
      }
      hdr = 0;
      break;
    case Op::Hmsg:
      if (n == 4) {
        out.subject = a[0], out.sid = a[1], hdr = parse_size(a[2]), total = parse_size(a[3]);
      } else if (n == 5) {
        out.subject = a[0], out.sid = a[1], out.reply = a[2], hdr = parse_size(a[3]), total = parse_size(a[4]);
      } else {
        return fail(ParseError::BadArguments);
      }
      if (hdr < 0 || hdr > total) return fail(ParseError::BadArguments);
      break;
    default:
      return fail(ParseError::UnknownOp);
  }
  if (total < 0) return fail(ParseError::BadArguments);
  if (side_ == Side::Server && total > max_payload_) return fail(ParseError::MaxPayload);

  // 3. The payload and its CRLF terminator.
  size_t need = after_line + static_cast<size_t>(total) + 2;
  if (buf.size() < need) return need_more(need);
  if (buf[need - 2] != '\r' || buf[need - 1] != '\n') return fail(ParseError::UnknownOp);
  std::string_view body = buf.substr(after_line, static_cast<size_t>(total));
  out.headers = body.substr(0, static_cast<size_t>(hdr));
  out.payload = body.substr(static_cast<size_t>(hdr));
  return ParseStep{ParseStatus::Complete, need, 0, ParseError::None};
}

}  // namespace tern::proto
