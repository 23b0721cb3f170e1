#pragma once
// libtern's error codes.
//
// libtern reports every failure as a value: a tern::Status, or a tern::Result<T> holding
// one (see <tern/status.h>). No exception ever escapes a libtern function; memory
// exhaustion (std::bad_alloc) is the one exception libtern does not catch.
//
// Every Status that libtern produces carries one ErrorCode below as its code(), so a program
// branches on the kind of failure with error_code(status); its message reads
// "<to_string(code)>: <detail>", e.g.
//   "no_responders: no responders for request on 'svc.echo'"
// so it prints as one readable line. The detail text is for humans and may change; the code does not.

#include <string>
#include <string_view>

#include "tern/status.h"

namespace tern {

enum class ErrorCode {
  Ok,                   // not an error
  InvalidArgument,      // a bad subject, queue name, URL, option value...
  Unsupported,          // a feature libtern does not offer yet (tls:// URLs, a TLS-only server)
  ConnectionFailed,     // could not reach any server (refused, DNS, connect timeout, no INFO)
  AuthFailed,           // the server refused the credentials ('Authorization Violation')
  Timeout,              // a request, flush, next() or drain did not finish in time
  NoResponders,         // a request reached no subscriber (the server's 503 status reply)
  Closed,               // the connection or subscription is closed
  Disconnected,         // the operation needs a live connection and there is none right now
  BufferFull,           // the reconnect buffer is full: the publish was not accepted
  MaxPayload,           // the message is larger than the server's max_payload
  SlowConsumer,         // (async error) a subscription dropped messages: its pending limit was hit
  PermissionViolation,  // (async error) the server refused a publish or subscribe
  ServerError,          // (async error, or why the connection closed) any other -ERR
  ProtocolError,        // the server sent something libtern could not parse
  JetStreamApi,         // a JetStream API error answer: see api_error() in <tern/jetstream.h>
  Unknown,              // a Status that did not come from libtern
};

// The stable name of a code, e.g. "no_responders". Thread-safe, never blocks.
std::string_view to_string(ErrorCode code);

// The code a libtern Status carries (Ok for an ok Status, Unknown for a foreign one).
// Thread-safe, never blocks.
ErrorCode error_code(const Status& status);

// Builds a Status in libtern's format: "<to_string(code)>: <detail>".
Status make_error(ErrorCode code, std::string_view detail);

}  // namespace tern
