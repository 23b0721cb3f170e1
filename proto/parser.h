#pragma once
// The NATS wire protocol parser, for both directions (protocol spec sections 1 and 3).
//
// The parser is stateless between calls: parse_one() looks at the bytes at the front of
// the caller's buffer and either returns one complete op, says how much more it needs,
// or names the protocol error. So any split of the byte stream is handled the same way:
// the caller keeps the unconsumed tail, appends the next read, and calls again.
//
// Contract on input ownership: every string_view in ParsedOp points into the buffer given
// to parse_one(). The caller may drop those bytes (compact or reuse the buffer) only after
// it has finished with the op. Nothing is copied and nothing is allocated.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tern::proto {

enum class Op : uint8_t {
  Connect, Pub, Hpub, Sub, Unsub,  // client -> server
  Info, Msg, Hmsg, Ok, Err,        // server -> client
  Ping, Pong,                      // both
};

struct ParsedOp {
  Op op = Op::Ping;
  std::string_view subject;  // PUB HPUB SUB MSG HMSG
  std::string_view reply;    // PUB HPUB MSG HMSG; empty when absent
  std::string_view queue;    // SUB; empty when absent
  std::string_view sid;      // SUB UNSUB MSG HMSG
  std::string_view arg;      // CONNECT/INFO: the JSON; -ERR: the text (quotes kept)
  std::string_view headers;  // HPUB HMSG: the whole header block, including its final CRLFCRLF
  std::string_view payload;  // PUB HPUB MSG HMSG: the bytes after the headers
  int64_t max_msgs = -1;     // UNSUB: -1 when absent
};

enum class ParseError : uint8_t {
  None,
  UnknownOp,            // -ERR 'Unknown Protocol Operation', close
  MaxControlLine,       // -ERR 'maximum control line exceeded', close
  MaxPayload,           // -ERR 'Maximum Payload Violation', close
  AuthorizationViolation,  // first op is not CONNECT while auth is required: -ERR, close
  BadArguments,         // wrong argument count or size: close without -ERR, as nats-server does
  HeadersNotSupported,  // HPUB without headers negotiated: close without -ERR
};

enum class ParseStatus : uint8_t { Complete, NeedMore, Error };

struct ParseStep {
  ParseStatus status = ParseStatus::NeedMore;
  size_t consumed = 0;  // Complete: bytes the op took from the front of the buffer
  size_t needed = 0;    // NeedMore: total bytes the op will take, when the control line is known (else 0)
  ParseError error = ParseError::None;
};

class Parser {
 public:
  // Which side of the connection this parser sits on: a server reads client ops.
  enum class Side : uint8_t { Server, Client };

  explicit Parser(Side side) : side_(side) {}

  // Longest argument part of a control line; longer lines are a protocol error, also
  // while still incomplete, so a client cannot make the server buffer an endless line.
  void set_max_control_line(size_t n) { max_control_line_ = n; }
  // Largest PUB/HPUB total size (server side only).
  void set_max_payload(int64_t n) { max_payload_ = n; }
  // HPUB is accepted only after CONNECT negotiated headers.
  void set_headers_allowed(bool on) { headers_allowed_ = on; }
  // While authentication is pending, the first op must be CONNECT.
  void set_require_connect(bool on) { require_connect_ = on; }

  ParseStep parse_one(std::string_view buf, ParsedOp& out) const;

 private:
  Side side_;
  size_t max_control_line_ = 4096;
  int64_t max_payload_ = 1 << 20;
  bool headers_allowed_ = false;
  bool require_connect_ = false;
};

// Parses a non-negative decimal as nats-server does: digits only, at most 9 of them; else -1.
int64_t parse_size(std::string_view digits);

}  // namespace tern::proto
