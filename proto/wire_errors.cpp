#include "proto/wire_errors.h"

#include <cstdio>

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

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through as Go prints valid runes
        }
    }
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
