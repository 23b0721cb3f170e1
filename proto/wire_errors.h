#pragma once
// The -ERR texts Tern sends, exactly as nats-server 2.9.10 sends them (protocol spec section 9).
// Clients match on these strings, so they live here and nowhere else.

#include <string>
#include <string_view>

namespace tern::proto {

enum class WireError {
  UnknownOp,                     // closes
  AuthorizationViolation,        // closes
  AuthenticationTimeout,         // closes
  InvalidClientProtocol,         // closes
  NoRespondersRequiresHeaders,   // closes
  MaxControlLine,                // closes
  MaxPayload,                    // closes
  StaleConnection,               // closes
  MaxConnections,                // closes
  InvalidSubject,                // stays open
  InvalidPublishSubject,         // stays open
  MaxSubscriptions,              // stays open
};

std::string_view wire_error_text(WireError e);
bool wire_error_closes(WireError e);

// "-ERR '<text>'\r\n"
std::string err_line(WireError e);
std::string err_line(std::string_view text);

// Permission violations carry a Go-quoted (%q) subject, as nats-server writes them.
std::string publish_violation_text(std::string_view subject);
std::string reply_violation_text(std::string_view reply);
std::string subscribe_violation_text(std::string_view subject, std::string_view queue);

// Go's %q for a string: double quotes, with escapes for quotes, backslashes and non-printables.
std::string go_quote(std::string_view s);

}  // namespace tern::proto
