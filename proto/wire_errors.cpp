#include "proto/wire_errors.h"

#include <cstdint>

namespace tern::proto {

std::string_view wire_error_text(WireError e) {
  switch (e) {
    case WireError::UnknownOp: return "Unknown Protocol Operation";
    case WireError::AuthorizationViolation: return "Authorization Violation";
    case WireError::AuthenticationTimeout: return "Authentication Timeout";
    case WireError::InvalidClientProtocol: return "invalid client protocol";
    case WireError::NoRespondersRequiresHeaders: return "no responders requires headers support";
    case WireError::MaxControlLine: return "maximum control line exceeded";
    case WireError::MaxPayload: return "Maximum Payload Violation";
    case WireError::StaleConnection: return "Stale Connection";
    case WireError::MaxConnections: return "maximum connections exceeded";
    case WireError::InvalidSubject: return "Invalid Subject";
    case WireError::InvalidPublishSubject: return "Invalid Publish Subject";
    case WireError::MaxSubscriptions: return "maximum subscriptions exceeded";
  }
  return "Unknown Protocol Operation";
}

bool wire_error_closes(WireError e) {
  switch (e) {
    case WireError::InvalidSubject:
    case WireError::InvalidPublishSubject:
    case WireError::MaxSubscriptions:
      return false;
    default:
      return true;
  }
}

std::string err_line(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 10);
  out.append("-ERR '").append(text).append("'\r\n");
  return out;
}

std::string err_line(WireError e) { return err_line(wire_error_text(e)); }

namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if it is not valid UTF-8.
size_t decode_utf8(std::string_view s, size_t i, uint32_t& cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;  // overlong, out of range, surrogate
  return n;
}

// Go's strconv.IsPrint for the runes a subject realistically holds: controls, the
// non-ASCII spaces, line/paragraph separators, format characters and private use are not
// printable. (Unassigned code points, which Go also escapes, are printed as they are.)
bool go_is_print(uint32_t cp) {
  if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0xa0) || cp == 0xad) return false;
  if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
      (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000 || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb))
    return false;
  if ((cp >= 0x600 && cp <= 0x605) || cp == 0x61c || cp == 0x6dd || cp == 0x70f || cp == 0x180e) return false;
  if ((cp >= 0xe000 && cp <= 0xf8ff) || cp >= 0xf0000 || (cp & 0xfffe) == 0xfffe) return false;
  return true;
}

}  // namespace

std::string go_quote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t n = decode_utf8(s, i, cp);
    if (n == 0) {  // an invalid byte: \xNN
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
      ++i;
      continue;
    }
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      default:
        if (go_is_print(cp)) {
          out.append(s.substr(i, n));
        } else if (cp < 0x80) {
          out += "\\x";
          out += kHex[cp >> 4];
          out += kHex[cp & 0xf];
        } else {
          bool big = cp > 0xffff;
          out += big ? "\\U" : "\\u";
          for (int shift = big ? 28 : 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xf];
        }
    }
    i += n;
  }
  out += '"';
  return out;
}

std::string publish_violation_text(std::string_view subject) {
  return "Permissions Violation for Publish to " + go_quote(subject);
}

std::string reply_violation_text(std::string_view reply) {
  return "Permissions Violation for Publish with Reply of " + go_quote(reply);
}

std::string subscribe_violation_text(std::string_view subject, std::string_view queue) {
  std::string t = "Permissions Violation for Subscription to " + go_quote(subject);
  if (!queue.empty()) t += " using queue " + go_quote(queue);
  return t;
}

}  // namespace tern::proto
