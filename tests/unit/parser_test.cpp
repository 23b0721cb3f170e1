// Unit tests for proto/parser: every op on both sides, split-read handling, and the
// malformed inputs of protocol spec table 1.1 and section 9 that are the parser's job.
//
// Behaviour of nats-server 2.9.10 quoted in comments below was checked against the real
// server over a socket (e.g. "CONNECT{...}" without a blank is accepted there).

#include <catch2/catch.hpp>

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "proto/parser.h"

using tern::proto::Op;
using tern::proto::ParsedOp;
using tern::proto::ParseError;
using tern::proto::Parser;
using tern::proto::ParseStatus;
using tern::proto::ParseStep;

namespace {

using namespace std::string_literals;

const char* op_name(Op op) {
  switch (op) {
    case Op::Connect: return "CONNECT";
    case Op::Pub: return "PUB";
    case Op::Hpub: return "HPUB";
    case Op::Sub: return "SUB";
    case Op::Unsub: return "UNSUB";
    case Op::Info: return "INFO";
    case Op::Msg: return "MSG";
    case Op::Hmsg: return "HMSG";
    case Op::Ok: return "+OK";
    case Op::Err: return "-ERR";
    case Op::Ping: return "PING";
    case Op::Pong: return "PONG";
  }
  return "?";
}

const char* error_name(ParseError e) {
  switch (e) {
    case ParseError::None: return "None";
    case ParseError::UnknownOp: return "UnknownOp";
    case ParseError::MaxControlLine: return "MaxControlLine";
    case ParseError::MaxPayload: return "MaxPayload";
    case ParseError::AuthorizationViolation: return "AuthorizationViolation";
    case ParseError::BadArguments: return "BadArguments";
    case ParseError::HeadersNotSupported: return "HeadersNotSupported";
  }
  return "?";
}

// An owned copy of a ParsedOp, so it outlives the driver's buffer.
struct Rec {
  Op op = Op::Ping;
  std::string subject, reply, queue, sid, arg, headers, payload;
  int64_t max_msgs = -1;

  static Rec of(const ParsedOp& p) {
    return Rec{p.op,
               std::string(p.subject),
               std::string(p.reply),
               std::string(p.queue),
               std::string(p.sid),
               std::string(p.arg),
               std::string(p.headers),
               std::string(p.payload),
               p.max_msgs};
  }
  bool operator==(const Rec&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Rec& r) {
  os << "{" << op_name(r.op) << " subject='" << r.subject << "' reply='" << r.reply << "' queue='" << r.queue
     << "' sid='" << r.sid << "' arg='" << r.arg << "' hdr=" << r.headers.size() << "B payload=" << r.payload.size()
     << "B max_msgs=" << r.max_msgs << "}";
  return os;
}

Rec op(Op o) { return Rec{o, {}, {}, {}, {}, {}, {}, {}, -1}; }
Rec with_arg(Op o, std::string arg) {
  Rec r = op(o);
  r.arg = std::move(arg);
  return r;
}
Rec pub(std::string subject, std::string reply, std::string payload) {
  Rec r = op(Op::Pub);
  r.subject = std::move(subject), r.reply = std::move(reply), r.payload = std::move(payload);
  return r;
}
Rec hpub(std::string subject, std::string reply, std::string headers, std::string payload) {
  Rec r = op(Op::Hpub);
  r.subject = std::move(subject), r.reply = std::move(reply), r.headers = std::move(headers),
  r.payload = std::move(payload);
  return r;
}
Rec sub(std::string subject, std::string queue, std::string sid) {
  Rec r = op(Op::Sub);
  r.subject = std::move(subject), r.queue = std::move(queue), r.sid = std::move(sid);
  return r;
}
Rec unsub(std::string sid, int64_t max) {
  Rec r = op(Op::Unsub);
  r.sid = std::move(sid), r.max_msgs = max;
  return r;
}
Rec msg(std::string subject, std::string sid, std::string reply, std::string payload) {
  Rec r = op(Op::Msg);
  r.subject = std::move(subject), r.sid = std::move(sid), r.reply = std::move(reply), r.payload = std::move(payload);
  return r;
}
Rec hmsg(std::string subject, std::string sid, std::string reply, std::string headers, std::string payload) {
  Rec r = op(Op::Hmsg);
  r.subject = std::move(subject), r.sid = std::move(sid), r.reply = std::move(reply),
  r.headers = std::move(headers), r.payload = std::move(payload);
  return r;
}

// Parses exactly one op from `input` and returns the step, the parsed op in `out`.
ParseStep parse(const Parser& p, std::string_view input, ParsedOp& out) { return p.parse_one(input, out); }
ParseStep parse(const Parser& p, std::string_view input) {
  ParsedOp out;
  return p.parse_one(input, out);
}

// Expects `input` to be exactly one complete op and returns it.
Rec parse_whole(const Parser& p, std::string_view input) {
  ParsedOp out;
  ParseStep s = p.parse_one(input, out);
  INFO("input: " << std::string(input));
  REQUIRE(s.status == ParseStatus::Complete);
  REQUIRE(s.error == ParseError::None);
  REQUIRE(s.consumed == input.size());
  return Rec::of(out);
}

struct FeedResult {
  std::vector<Rec> ops;
  ParseError error = ParseError::None;
  size_t left = 0;  // bytes still buffered at the end
};

// Mimics the server's read loop: append a chunk, parse ops while complete, erase what was
// consumed, keep the tail for the next read. Stops at the first error. Also checks the
// contract of `needed`: when NeedMore names a total, the op completes with exactly that.
FeedResult feed(const Parser& p, std::string_view stream, const std::vector<size_t>& chunks) {
  FeedResult r;
  std::string buf;
  size_t off = 0, promised = 0;
  for (size_t c : chunks) {
    buf.append(stream.substr(off, c));
    off += c;
    for (;;) {
      ParsedOp out;
      ParseStep s = p.parse_one(buf, out);
      if (s.status == ParseStatus::Complete) {
        CHECK(s.error == ParseError::None);
        CHECK(s.consumed > 0);
        CHECK(s.consumed <= buf.size());
        if (promised) CHECK(s.consumed == promised);
        promised = 0;
        r.ops.push_back(Rec::of(out));
        buf.erase(0, s.consumed);
        continue;
      }
      if (s.status == ParseStatus::Error) {
        CHECK(s.error != ParseError::None);
        r.error = s.error;
        r.left = buf.size();
        return r;
      }
      CHECK(s.error == ParseError::None);
      CHECK(s.consumed == 0);
      if (s.needed) {
        CHECK(s.needed > buf.size());
        if (promised) CHECK(s.needed == promised);
        promised = s.needed;
      }
      break;
    }
  }
  REQUIRE(off == stream.size());
  r.left = buf.size();
  return r;
}

FeedResult feed_whole(const Parser& p, std::string_view s) { return feed(p, s, {s.size()}); }
FeedResult feed_bytes(const Parser& p, std::string_view s) { return feed(p, s, std::vector<size_t>(s.size(), 1)); }
FeedResult feed_random(const Parser& p, std::string_view s, std::mt19937& rng) {
  std::vector<size_t> chunks;
  // Mix tiny and large reads: most splits land inside op names, lines and terminators.
  std::uniform_int_distribution<int> kind(0, 3);
  size_t left = s.size();
  while (left) {
    size_t hi = kind(rng) == 0 ? 4096 : 9;
    size_t c = std::uniform_int_distribution<size_t>(1, hi)(rng);
    c = std::min(c, left);
    chunks.push_back(c);
    left -= c;
  }
  return feed(p, s, chunks);
}

struct Wire {
  std::string bytes;
  Rec expect;
};

std::string join(const std::vector<Wire>& ws) {
  std::string s;
  for (const Wire& w : ws) s += w.bytes;
  return s;
}
std::vector<Rec> expected(const std::vector<Wire>& ws) {
  std::vector<Rec> v;
  for (const Wire& w : ws) v.push_back(w.expect);
  return v;
}

std::string pattern_payload(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = "PUB x 1\r\nMSG\0\n-ERR+OK"[i % 22];
  return s;
}

Parser server_parser(bool headers = true) {
  Parser p(Parser::Side::Server);
  p.set_headers_allowed(headers);
  return p;
}

// Client-to-server traffic covering every op the server side accepts.
std::vector<Wire> server_stream() {
  const std::string big = pattern_payload(70000);
  const std::string mid = pattern_payload(300);
  return {
      {"CONNECT {\"verbose\":false,\"headers\":true}\r\n", with_arg(Op::Connect, "{\"verbose\":false,\"headers\":true}")},
      {"PING\r\n", op(Op::Ping)},
      {"SUB foo.bar 1\r\n", sub("foo.bar", "", "1")},
      {"SUB foo.* workers 22\r\n", sub("foo.*", "workers", "22")},
      {"sub\tlower\t\t3\n", sub("lower", "", "3")},
      {"SUB _INBOX.x.*  4\r\n", sub("_INBOX.x.*", "", "4")},  // nats.go: two blanks, no queue
      {"UNSUB 4 \r\n", unsub("4", -1)},                         // nats.go: trailing blank, no max
      {"UNSUB 3 10\r\n", unsub("3", 10)},
      {"unsub\t3\t0\n", unsub("3", 0)},
      {"PUB foo.bar 5\r\nhello\r\n", pub("foo.bar", "", "hello")},
      {"PUB foo.bar _INBOX.r.1 0\r\n\r\n", pub("foo.bar", "_INBOX.r.1", "")},
      {"pub  foo\t\treply  11 \r\nPUB x 1\r\nab\r\n", pub("foo", "reply", "PUB x 1\r\nab")},
      {"Pub nocr 2\nhi\r\n", pub("nocr", "", "hi")},
      {"HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n", hpub("foo", "", "NATS/1.0\r\n\r\n", "")},
      {"HPUB FOO 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n",
       hpub("FOO", "", "NATS/1.0\r\nBar: Baz\r\n\r\n", "Hello NATS!")},
      {"hpub\tfoo  rep\t16 18\nNATS/1.0 503\r\n\r\n\0\n\r\n"s, hpub("foo", "rep", "NATS/1.0 503\r\n\r\n", "\0\n"s)},
      {"PONG\r\n", op(Op::Pong)},
      {"+OK\r\n", op(Op::Ok)},
      {"-ERR 'Stale Connection'\r\n", with_arg(Op::Err, "'Stale Connection'")},
      {"INFO {\"server_id\":\"x\"}\r\n", with_arg(Op::Info, "{\"server_id\":\"x\"}")},
      {"PiNg\n", op(Op::Ping)},
      {"PUB mid 300\r\n" + mid + "\r\n", pub("mid", "", mid)},
      {"PUB big r 70000\r\n" + big + "\r\n", pub("big", "r", big)},
      {"CoNnEcT\t{}\r\n", with_arg(Op::Connect, "{}")},
      {"HPUB e.f _INBOX.a 12 12\r\nNATS/1.0\r\n\r\n\r\n", hpub("e.f", "_INBOX.a", "NATS/1.0\r\n\r\n", "")},
      {"pong\r\n", op(Op::Pong)},
  };
}

// Server-to-client traffic covering every op the client side accepts.
std::vector<Wire> client_stream() {
  const std::string big = pattern_payload(100000);
  return {
      {"INFO {\"server_id\":\"NDJ\",\"headers\":true,\"max_payload\":1048576}\r\n",
       with_arg(Op::Info, "{\"server_id\":\"NDJ\",\"headers\":true,\"max_payload\":1048576}")},
      {"+OK\r\n", op(Op::Ok)},
      {"PONG\r\n", op(Op::Pong)},
      {"MSG foo.bar 1 5\r\nhello\r\n", msg("foo.bar", "1", "", "hello")},
      {"MSG foo.bar 1 _INBOX.a.b 0\r\n\r\n", msg("foo.bar", "1", "_INBOX.a.b", "")},
      {"msg\tx\t99\t\t3\nabc\r\n", msg("x", "99", "", "abc")},
      {"HMSG foo 2 16 16\r\nNATS/1.0 503\r\n\r\n\r\n", hmsg("foo", "2", "", "NATS/1.0 503\r\n\r\n", "")},
      {"HMSG _INBOX.x.y 7 reply 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
       hmsg("_INBOX.x.y", "7", "reply", "NATS/1.0\r\n\r\n", "hi")},
      {"PING\r\n", op(Op::Ping)},
      {"-ERR 'Maximum Payload Violation'\r\n", with_arg(Op::Err, "'Maximum Payload Violation'")},
      {"hmsg a 1 12 12\r\nNATS/1.0\r\n\r\n\r\n", hmsg("a", "1", "", "NATS/1.0\r\n\r\n", "")},
      {"MSG big 3 100000\r\n" + big + "\r\n", msg("big", "3", "", big)},
      {"Msg m 4 4\r\n\r\n\r\n\r\n", msg("m", "4", "", "\r\n\r\n")},
      {"info {}\n", with_arg(Op::Info, "{}")},
  };
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Every op, parsed whole, with exact fields.

TEST_CASE("parser: server side parses each client op whole with exact fields", "[parser]") {
  Parser p = server_parser();
  for (const Wire& w : server_stream()) {
    INFO("wire: " << w.bytes.substr(0, 60));
    CHECK(parse_whole(p, w.bytes) == w.expect);
  }
}

TEST_CASE("parser: client side parses each server op whole with exact fields", "[parser]") {
  Parser p(Parser::Side::Client);
  for (const Wire& w : client_stream()) {
    INFO("wire: " << w.bytes.substr(0, 60));
    CHECK(parse_whole(p, w.bytes) == w.expect);
  }
}

TEST_CASE("parser: op names are case-insensitive on both sides", "[parser]") {
  Parser s = server_parser();
  CHECK(parse_whole(s, "connect {\"a\":1}\r\n") == with_arg(Op::Connect, "{\"a\":1}"));
  CHECK(parse_whole(s, "cOnNeCt {}\r\n") == with_arg(Op::Connect, "{}"));
  CHECK(parse_whole(s, "pUb a 1\r\nx\r\n") == pub("a", "", "x"));
  CHECK(parse_whole(s, "HpUb a 12 12\r\nNATS/1.0\r\n\r\n\r\n") == hpub("a", "", "NATS/1.0\r\n\r\n", ""));
  CHECK(parse_whole(s, "Sub a 1\r\n") == sub("a", "", "1"));
  CHECK(parse_whole(s, "uNsUb 1 2\r\n") == unsub("1", 2));
  CHECK(parse_whole(s, "ping\r\n") == op(Op::Ping));
  CHECK(parse_whole(s, "PoNg\r\n") == op(Op::Pong));
  CHECK(parse_whole(s, "+ok\r\n") == op(Op::Ok));
  CHECK(parse_whole(s, "-err 'x'\r\n") == with_arg(Op::Err, "'x'"));
  CHECK(parse_whole(s, "iNfO {}\r\n") == with_arg(Op::Info, "{}"));
  Parser c(Parser::Side::Client);
  CHECK(parse_whole(c, "msg a 1 1\r\nx\r\n") == msg("a", "1", "", "x"));
  CHECK(parse_whole(c, "HmSg a 1 12 12\r\nNATS/1.0\r\n\r\n\r\n") == hmsg("a", "1", "", "NATS/1.0\r\n\r\n", ""));
  CHECK(parse_whole(c, "Info {}\r\n") == with_arg(Op::Info, "{}"));
  CHECK(parse_whole(c, "pInG\r\n") == op(Op::Ping));
}

TEST_CASE("parser: subjects, sids and queues keep their case and bytes", "[parser]") {
  Parser s = server_parser();
  CHECK(parse_whole(s, "SUB Foo.BAR Q.Name 9223372036854775807\r\n") == sub("Foo.BAR", "Q.Name", "9223372036854775807"));
  CHECK(parse_whole(s, "SUB $JS.API.> abc-sid\r\n") == sub("$JS.API.>", "", "abc-sid"));
  CHECK(parse_whole(s, "UNSUB some-sid 123456789\r\n") == unsub("some-sid", 123456789));
  // The parser does not validate subjects; that is the server's job (pedantic / Invalid Subject).
  CHECK(parse_whole(s, "SUB foo..bar 1\r\n") == sub("foo..bar", "", "1"));
  CHECK(parse_whole(s, "PUB a.*.> 0\r\n\r\n") == pub("a.*.>", "", ""));
}

TEST_CASE("parser: blanks: tabs, runs of blanks, trailing blanks, LF without CR", "[parser]") {
  Parser s = server_parser();
  CHECK(parse_whole(s, "SUB\t\tfoo \t q \t 7 \t \r\n") == sub("foo", "q", "7"));
  CHECK(parse_whole(s, "SUB foo  1\r\n") == sub("foo", "", "1"));
  CHECK(parse_whole(s, "UNSUB 1 \r\n") == unsub("1", -1));
  CHECK(parse_whole(s, "UNSUB 1\n") == unsub("1", -1));
  CHECK(parse_whole(s, "UNSUB   1   5   \n") == unsub("1", 5));
  CHECK(parse_whole(s, "PUB foo 3 \r\nabc\r\n") == pub("foo", "", "abc"));
  CHECK(parse_whole(s, "PUB\tfoo\tbar\t3\nabc\r\n") == pub("foo", "bar", "abc"));
  CHECK(parse_whole(s, "HPUB foo   12   12  \nNATS/1.0\r\n\r\n\r\n") == hpub("foo", "", "NATS/1.0\r\n\r\n", ""));
  CHECK(parse_whole(s, "PING\n") == op(Op::Ping));
  CHECK(parse_whole(s, "PONG\n") == op(Op::Pong));
  // The JSON argument starts after the blanks; the CR before LF is not part of it.
  CHECK(parse_whole(s, "CONNECT \t  {\"verbose\":true}\r\n") == with_arg(Op::Connect, "{\"verbose\":true}"));
  CHECK(parse_whole(s, "CONNECT {\"a\":\"b c\"}\n") == with_arg(Op::Connect, "{\"a\":\"b c\"}"));
  Parser c(Parser::Side::Client);
  CHECK(parse_whole(c, "MSG\tfoo\t1\treply\t2\nhi\r\n") == msg("foo", "1", "reply", "hi"));
  CHECK(parse_whole(c, "HMSG  foo  1  12  12  \nNATS/1.0\r\n\r\n\r\n") == hmsg("foo", "1", "", "NATS/1.0\r\n\r\n", ""));
}

TEST_CASE("parser: PING, PONG and +OK take any bytes up to the newline, as nats-server does", "[parser]") {
  Parser s = server_parser();
  CHECK(parse_whole(s, "PING junk here\r\n") == op(Op::Ping));
  CHECK(parse_whole(s, "PONGx\r\n") == op(Op::Pong));
  CHECK(parse_whole(s, "+OKjunk\r\n") == op(Op::Ok));
  // Only one op is consumed even when more follow.
  ParsedOp out;
  ParseStep st = parse(s, "PING\r\nPONG\r\n", out);
  CHECK(st.status == ParseStatus::Complete);
  CHECK(st.consumed == 6);
  CHECK(out.op == Op::Ping);
}

TEST_CASE("parser: UNSUB with an unparseable max means no max, as nats-server reads it", "[parser]") {
  // nats-server 2.9.10 answers "UNSUB 1 abc" and "UNSUB 1 -1" with +OK and unsubscribes at
  // once (parseSize gives -1), where spec table 1.1 says it closes; the server wins.
  Parser s = server_parser();
  CHECK(parse_whole(s, "UNSUB 1 abc\r\n") == unsub("1", -1));
  CHECK(parse_whole(s, "UNSUB 1 -1\r\n") == unsub("1", -1));
}

TEST_CASE("parser: PING with a long tail is a PING whatever the split", "[parser]") {
  // Spec 3.7: the server's parser accepts any bytes between PING and \n; nats-server
  // answers "PING" + 6000 bytes + "\r\n" with PONG (checked). A split read must not
  // turn the same bytes into a max_control_line error.
  Parser s = server_parser();
  const std::string in = "PING" + std::string(5000, 'x') + "\r\n";
  CHECK(parse_whole(s, in) == op(Op::Ping));
  FeedResult bytes = feed_bytes(s, in);
  CHECK(error_name(bytes.error) == std::string("None"));
  CHECK(bytes.ops == std::vector<Rec>{op(Op::Ping)});
}

TEST_CASE("parser: zero-length payloads", "[parser]") {
  Parser s = server_parser();
  CHECK(parse_whole(s, "PUB foo 0\r\n\r\n") == pub("foo", "", ""));
  CHECK(parse_whole(s, "PUB foo r 0\r\n\r\n") == pub("foo", "r", ""));
  CHECK(parse_whole(s, "HPUB foo 0 0\r\n\r\n") == hpub("foo", "", "", ""));
  Parser c(Parser::Side::Client);
  CHECK(parse_whole(c, "MSG foo 1 0\r\n\r\n") == msg("foo", "1", "", ""));
  // Without its CRLF terminator a zero-length payload is still incomplete.
  ParseStep st = parse(s, "PUB foo 0\r\n");
  CHECK(st.status == ParseStatus::NeedMore);
  CHECK(st.needed == 13);
  st = parse(s, "PUB foo 0\r\n\r");
  CHECK(st.status == ParseStatus::NeedMore);
  CHECK(st.needed == 13);
}

TEST_CASE("parser: views point into the caller's buffer", "[parser]") {
  Parser s = server_parser();
  std::string buf = "PUB foo bar 3\r\nabc\r\n";
  ParsedOp out;
  ParseStep st = s.parse_one(buf, out);
  REQUIRE(st.status == ParseStatus::Complete);
  CHECK(out.subject.data() == buf.data() + 4);
  CHECK(out.reply.data() == buf.data() + 8);
  CHECK(out.payload.data() == buf.data() + 15);
}

// ---------------------------------------------------------------------------------------
// Streaming: the same op sequence whatever the split.

TEST_CASE("parser: a server-side stream parses identically whole, byte by byte and in random splits", "[parser]") {
  Parser p = server_parser();
  const std::vector<Wire> wires = server_stream();
  const std::string stream = join(wires);
  const std::vector<Rec> want = expected(wires);

  FeedResult whole = feed_whole(p, stream);
  CHECK(whole.error == ParseError::None);
  CHECK(whole.left == 0);
  REQUIRE(whole.ops.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("op " << i);
    CHECK(whole.ops[i] == want[i]);
  }

  FeedResult bytes = feed_bytes(p, stream);
  CHECK(bytes.error == ParseError::None);
  CHECK(bytes.left == 0);
  CHECK(bytes.ops == want);

  std::mt19937 rng(20240611);
  for (int iter = 0; iter < 150; ++iter) {
    FeedResult r = feed_random(p, stream, rng);
    INFO("iteration " << iter);
    REQUIRE(r.error == ParseError::None);
    REQUIRE(r.left == 0);
    REQUIRE(r.ops == want);
  }
}

TEST_CASE("parser: a client-side stream parses identically whole, byte by byte and in random splits", "[parser]") {
  Parser p(Parser::Side::Client);
  const std::vector<Wire> wires = client_stream();
  const std::string stream = join(wires);
  const std::vector<Rec> want = expected(wires);

  FeedResult whole = feed_whole(p, stream);
  CHECK(whole.error == ParseError::None);
  CHECK(whole.left == 0);
  CHECK(whole.ops == want);

  FeedResult bytes = feed_bytes(p, stream);
  CHECK(bytes.error == ParseError::None);
  CHECK(bytes.ops == want);

  std::mt19937 rng(7);
  for (int iter = 0; iter < 150; ++iter) {
    FeedResult r = feed_random(p, stream, rng);
    INFO("iteration " << iter);
    REQUIRE(r.error == ParseError::None);
    REQUIRE(r.left == 0);
    REQUIRE(r.ops == want);
  }
}

TEST_CASE("parser: random op streams survive random splits", "[parser]") {
  // Generated streams, so op boundaries fall everywhere relative to the splits.
  Parser p = server_parser();
  std::mt19937 rng(99);
  const std::vector<Wire> menu = server_stream();
  for (int iter = 0; iter < 60; ++iter) {
    std::vector<Wire> ws;
    int n = std::uniform_int_distribution<int>(1, 40)(rng);
    for (int i = 0; i < n; ++i) {
      size_t k = std::uniform_int_distribution<size_t>(0, menu.size() - 1)(rng);
      if (menu[k].bytes.size() > 1000) k = 9;  // keep the big ones rare: use a small PUB
      ws.push_back(menu[k]);
    }
    const std::string stream = join(ws);
    const std::vector<Rec> want = expected(ws);
    INFO("iteration " << iter);
    FeedResult r = feed_random(p, stream, rng);
    REQUIRE(r.error == ParseError::None);
    REQUIRE(r.left == 0);
    REQUIRE(r.ops == want);
  }
}

TEST_CASE("parser: an error mid-stream is found at the same op whatever the split", "[parser]") {
  Parser p = server_parser();
  const std::vector<Wire> wires = server_stream();
  // Valid ops, then a PUB whose payload is one byte longer than announced.
  const std::string stream = join(wires) + "PUB foo 2\r\nabc\r\nPING\r\n";
  const std::vector<Rec> want = expected(wires);
  FeedResult whole = feed_whole(p, stream);
  CHECK(whole.ops == want);
  CHECK(whole.error == ParseError::UnknownOp);
  FeedResult bytes = feed_bytes(p, stream);
  CHECK(bytes.ops == want);
  CHECK(bytes.error == ParseError::UnknownOp);
  std::mt19937 rng(3);
  for (int iter = 0; iter < 50; ++iter) {
    FeedResult r = feed_random(p, stream, rng);
    INFO("iteration " << iter);
    REQUIRE(r.ops == want);
    REQUIRE(r.error == ParseError::UnknownOp);
  }
}

TEST_CASE("parser: incomplete input asks for more instead of failing", "[parser]") {
  Parser s = server_parser();
  for (std::string_view prefix : {"", "P", "PI", "PIN", "PING", "PING\r", "PO", "PU", "PUB", "PUB ", "PUB foo",
                                  "PUB foo 5", "PUB foo 5\r", "H", "HPU", "HPUB", "S", "SU", "SUB", "SUB foo 1",
                                  "U", "UNSU", "UNSUB", "UNSUB 1", "C", "CONNEC", "CONNECT", "CONNECT {", "I",
                                  "INFO", "+", "+O", "+OK", "-", "-ER", "-ERR", "-ERR 'x'", "p", "conn"}) {
    INFO("prefix: '" << std::string(prefix) << "'");
    ParseStep st = parse(s, prefix);
    CHECK(st.status == ParseStatus::NeedMore);
    CHECK(st.error == ParseError::None);
    CHECK(st.consumed == 0);
    CHECK(st.needed == 0);  // the control line is not known yet
  }
  Parser c(Parser::Side::Client);
  for (std::string_view prefix : {"M", "MS", "MSG", "MSG foo 1 5", "HM", "HMS", "HMSG", "HMSG a 1 12 12", "P",
                                  "PI", "PO", "I", "INF", "+O", "-E"}) {
    INFO("prefix: '" << std::string(prefix) << "'");
    ParseStep st = parse(c, prefix);
    CHECK(st.status == ParseStatus::NeedMore);
    CHECK(st.needed == 0);
  }
}

TEST_CASE("parser: NeedMore for a payload reports the total bytes the op needs", "[parser]") {
  Parser s = server_parser();
  const std::string line = "PUB foo 100000\r\n";  // 16 bytes
  const size_t total = line.size() + 100000 + 2;
  ParseStep st = parse(s, line);
  CHECK(st.status == ParseStatus::NeedMore);
  CHECK(st.needed == total);
  std::string buf = line + std::string(99999, 'x');
  st = parse(s, buf);
  CHECK(st.status == ParseStatus::NeedMore);
  CHECK(st.needed == total);
  buf += "x";
  st = parse(s, buf);
  CHECK(st.status == ParseStatus::NeedMore);  // payload done, terminator missing
  CHECK(st.needed == total);
  buf += "\r";
  CHECK(parse(s, buf).needed == total);
  buf += "\n";
  st = parse(s, buf);
  CHECK(st.status == ParseStatus::Complete);
  CHECK(st.consumed == total);

  // HPUB: header bytes are part of the total.
  const std::string hline = "HPUB foo rep 12 5000\r\n";  // 22 bytes
  st = parse(s, hline + "NATS/1.0");
  CHECK(st.status == ParseStatus::NeedMore);
  CHECK(st.needed == 22 + 5000 + 2);

  // The largest size nats-server accepts: 9 digits, when max_payload allows it.
  Parser big(Parser::Side::Server);
  big.set_max_payload(int64_t{2} << 30);
  st = parse(big, "PUB foo 999999999\r\n");
  CHECK(st.status == ParseStatus::NeedMore);
  CHECK(st.needed == 19 + 999999999u + 2);

  // Client side: MSG and HMSG.
  Parser c(Parser::Side::Client);
  st = parse(c, "MSG foo 1 _INBOX.x 3000000\r\n");  // 28 bytes; no max_payload on the client side
  CHECK(st.status == ParseStatus::NeedMore);
  CHECK(st.needed == 28 + 3000000 + 2);
  st = parse(c, "HMSG foo 1 16 40\r\nNATS/1.0 503\r\n\r\n");  // 18 bytes
  CHECK(st.status == ParseStatus::NeedMore);
  CHECK(st.needed == 18 + 40 + 2);
}

// ---------------------------------------------------------------------------------------
// Malformed input (spec table 1.1 and section 9).

namespace {

struct BadCase {
  const char* what;
  std::string input;
  ParseError error;
};

void check_errors(const Parser& p, const std::vector<BadCase>& cases) {
  for (const BadCase& c : cases) {
    INFO(c.what << " -- input: " << c.input.substr(0, 80));
    ParseStep st = parse(p, c.input);
    CHECK(st.status == ParseStatus::Error);
    CHECK(error_name(st.error) == std::string(error_name(c.error)));
    CHECK(st.consumed == 0);
    // The same error whatever the split, and no op is produced before it.
    FeedResult bytes = feed_bytes(p, c.input);
    CHECK(bytes.ops.empty());
    CHECK(error_name(bytes.error) == std::string(error_name(c.error)));
  }
}

}  // namespace

TEST_CASE("parser: unknown and misspelled ops are UnknownOp", "[parser]") {
  Parser s = server_parser();
  check_errors(s, {
                      {"unknown first byte", "X\r\n", ParseError::UnknownOp},
                      {"unknown first byte, lower", "q foo\r\n", ParseError::UnknownOp},
                      {"blank first byte", " PING\r\n", ParseError::UnknownOp},
                      {"CR first", "\r\n", ParseError::UnknownOp},
                      {"misspelled PUX", "PUX foo 1\r\nx\r\n", ParseError::UnknownOp},
                      {"misspelled PIGN", "PIGN\r\n", ParseError::UnknownOp},
                      {"misspelled SUX", "SUX foo 1\r\n", ParseError::UnknownOp},
                      {"misspelled CONECT", "CONECT {}\r\n", ParseError::UnknownOp},
                      {"misspelled UNSIB", "UNSIB 1\r\n", ParseError::UnknownOp},
                      {"misspelled +OX", "+OX\r\n", ParseError::UnknownOp},
                      {"PUBX foo 1", "PUBX foo 1\r\nx\r\n", ParseError::UnknownOp},
                      {"SUBX", "SUBX foo 1\r\n", ParseError::UnknownOp},
                      {"HPUBX", "HPUBX foo 12 12\r\n", ParseError::UnknownOp},
                      {"UNSUBX", "UNSUBX 1\r\n", ParseError::UnknownOp},
                      {"-ERRx (nats-server: Unknown Protocol Operation)", "-ERRx\r\n", ParseError::UnknownOp},
                      {"no space after PUB", "PUB\r\n", ParseError::UnknownOp},
                      {"no space after SUB", "SUB\r\n", ParseError::UnknownOp},
                      {"no space after UNSUB (nats-server: Unknown Protocol Operation)", "UNSUB\r\n",
                       ParseError::UnknownOp},
                      {"no space after HPUB", "HPUB\r\n", ParseError::UnknownOp},
                      {"MSG is unknown on the server side", "MSG foo 1 0\r\n\r\n", ParseError::UnknownOp},
                      {"HMSG is unknown on the server side", "HMSG foo 1 12 12\r\n", ParseError::UnknownOp},
                      {"M alone is unknown on the server side", "M", ParseError::UnknownOp},
                  });
  Parser c(Parser::Side::Client);
  check_errors(c, {
                      {"PUB is unknown on the client side", "PUB foo 0\r\n\r\n", ParseError::UnknownOp},
                      {"HPUB is unknown on the client side", "HPUB foo 12 12\r\n", ParseError::UnknownOp},
                      {"SUB is unknown on the client side", "SUB foo 1\r\n", ParseError::UnknownOp},
                      {"UNSUB is unknown on the client side", "UNSUB 1\r\n", ParseError::UnknownOp},
                      {"CONNECT is unknown on the client side", "CONNECT {}\r\n", ParseError::UnknownOp},
                      {"misspelled MSX", "MSX foo 1 0\r\n", ParseError::UnknownOp},
                      {"MSGX", "MSGX foo 1 0\r\n", ParseError::UnknownOp},
                      {"no space after MSG", "MSG\r\n", ParseError::UnknownOp},
                      {"no space after HMSG", "HMSG\r\n", ParseError::UnknownOp},
                  });
}

TEST_CASE("parser: bad payload terminator is UnknownOp", "[parser]") {
  Parser s = server_parser();
  check_errors(s, {
                      {"payload longer than announced", "PUB foo 2\r\nabc\r\n", ParseError::UnknownOp},
                      {"LF only after payload", "PUB foo 2\r\nab\nX", ParseError::UnknownOp},
                      {"CR then junk", "PUB foo 2\r\nab\rX", ParseError::UnknownOp},
                      {"payload shorter than announced", "PUB foo 5\r\nab\r\nPING\r\n", ParseError::UnknownOp},
                      {"zero payload with junk", "PUB foo 0\r\nx\r\n", ParseError::UnknownOp},
                      {"HPUB total too small", "HPUB foo 12 12\r\nNATS/1.0\r\n\r\nhi\r\n", ParseError::UnknownOp},
                  });
  Parser c(Parser::Side::Client);
  check_errors(c, {
                      {"MSG bad terminator", "MSG foo 1 2\r\nabcd", ParseError::UnknownOp},
                      {"HMSG bad terminator", "HMSG foo 1 12 12\r\nNATS/1.0\r\n\r\nXY", ParseError::UnknownOp},
                  });
}

TEST_CASE("parser: wrong argument counts and bad sizes are BadArguments", "[parser]") {
  Parser s = server_parser();
  check_errors(s, {
                      {"PUB 1 arg", "PUB foo\r\n", ParseError::BadArguments},
                      {"PUB 0 args", "PUB \r\n", ParseError::BadArguments},
                      {"PUB 4 args", "PUB foo bar baz 1\r\nx\r\n", ParseError::BadArguments},
                      {"PUB size non-numeric", "PUB foo 1x\r\nx\r\n", ParseError::BadArguments},
                      {"PUB size is the reply slot's word", "PUB foo bar\r\n", ParseError::BadArguments},
                      {"PUB size negative", "PUB foo -1\r\n\r\n", ParseError::BadArguments},
                      {"PUB size with plus", "PUB foo +1\r\nx\r\n", ParseError::BadArguments},
                      {"PUB size 10 digits", "PUB foo 1234567890\r\n", ParseError::BadArguments},
                      {"PUB size 10 digits, leading zero", "PUB foo 0000000001\r\nx\r\n", ParseError::BadArguments},
                      {"HPUB 2 args", "HPUB foo 12\r\n", ParseError::BadArguments},
                      {"HPUB 1 arg", "HPUB foo\r\n", ParseError::BadArguments},
                      {"HPUB 5 args", "HPUB foo a b 12 12\r\n", ParseError::BadArguments},
                      {"HPUB hdr > total", "HPUB foo 13 12\r\n", ParseError::BadArguments},
                      {"HPUB hdr > total with reply", "HPUB foo r 20 19\r\n", ParseError::BadArguments},
                      {"HPUB hdr negative", "HPUB foo -1 12\r\n", ParseError::BadArguments},
                      {"HPUB total negative", "HPUB foo 12 -12\r\n", ParseError::BadArguments},
                      {"HPUB hdr non-numeric", "HPUB foo x 12\r\n", ParseError::BadArguments},
                      {"HPUB total 10 digits", "HPUB foo 12 1000000000\r\n", ParseError::BadArguments},
                      {"SUB 1 arg", "SUB foo\r\n", ParseError::BadArguments},
                      {"SUB 0 args", "SUB \r\n", ParseError::BadArguments},
                      {"SUB 4 args", "SUB foo q 1 2\r\n", ParseError::BadArguments},
                      {"SUB 7 args", "SUB a b c d e f g\r\n", ParseError::BadArguments},
                      {"UNSUB 0 args", "UNSUB \r\n", ParseError::BadArguments},
                      {"UNSUB 3 args", "UNSUB 1 2 3\r\n", ParseError::BadArguments},
                      // Spec table 1.1: a non-numeric size in UNSUB closes. (nats-server 2.9.10 itself
                      // treats it as "no max" and unsubscribes at once; see the report.)
                  });
  Parser c(Parser::Side::Client);
  check_errors(c, {
                      {"MSG 2 args", "MSG foo 1\r\n", ParseError::BadArguments},
                      {"MSG 5 args", "MSG foo 1 r x 2\r\nab\r\n", ParseError::BadArguments},
                      {"MSG size non-numeric", "MSG foo 1 r\r\n", ParseError::BadArguments},
                      {"MSG size negative", "MSG foo 1 -2\r\n", ParseError::BadArguments},
                      {"MSG size 10 digits", "MSG foo 1 1000000000\r\n", ParseError::BadArguments},
                      {"HMSG 3 args", "HMSG foo 1 12\r\n", ParseError::BadArguments},
                      {"HMSG 6 args", "HMSG foo 1 r x 12 12\r\n", ParseError::BadArguments},
                      {"HMSG hdr > total (nats.go requires hdr <= total)", "HMSG foo 1 13 12\r\n",
                       ParseError::BadArguments},
                      {"HMSG hdr non-numeric", "HMSG foo 1 x 12\r\n", ParseError::BadArguments},
                      {"HMSG total non-numeric", "HMSG foo 1 12 x\r\n", ParseError::BadArguments},
                  });
}

TEST_CASE("parser: parse_size follows nats-server: digits only, at most 9", "[parser]") {
  using tern::proto::parse_size;
  CHECK(parse_size("0") == 0);
  CHECK(parse_size("7") == 7);
  CHECK(parse_size("000") == 0);
  CHECK(parse_size("1048576") == 1048576);
  CHECK(parse_size("999999999") == 999999999);
  CHECK(parse_size("000000001") == 1);
  CHECK(parse_size("") == -1);
  CHECK(parse_size("1000000000") == -1);
  CHECK(parse_size("0000000000") == -1);
  CHECK(parse_size("-1") == -1);
  CHECK(parse_size("+1") == -1);
  CHECK(parse_size("1a") == -1);
  CHECK(parse_size("a1") == -1);
  CHECK(parse_size(" 1") == -1);
  CHECK(parse_size("1.0") == -1);
}

TEST_CASE("parser: HPUB without negotiated headers fails before its payload arrives", "[parser]") {
  Parser s = server_parser(false);
  check_errors(s, {
                      {"HPUB complete", "HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n", ParseError::HeadersNotSupported},
                      {"HPUB line only", "HPUB foo 12 12\r\n", ParseError::HeadersNotSupported},
                      {"HPUB name and blank only", "HPUB ", ParseError::HeadersNotSupported},
                      {"hpub lower case", "hpub foo 12 12\r\n", ParseError::HeadersNotSupported},
                  });
  // PUB is still fine, and HPUB works once headers are allowed.
  CHECK(parse_whole(s, "PUB foo 1\r\nx\r\n") == pub("foo", "", "x"));
  s.set_headers_allowed(true);
  CHECK(parse_whole(s, "HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n") == hpub("foo", "", "NATS/1.0\r\n\r\n", ""));
}

TEST_CASE("parser: payload over max_payload is refused before the payload arrives", "[parser]") {
  Parser s = server_parser();
  s.set_max_payload(1024);
  check_errors(s, {
                      {"PUB one over", "PUB foo 1025\r\n", ParseError::MaxPayload},
                      {"PUB with reply", "PUB foo r 5000\r\n", ParseError::MaxPayload},
                      {"HPUB total over", "HPUB foo 12 1025\r\n", ParseError::MaxPayload},
                      {"PUB 9 digits", "PUB foo 999999999\r\n", ParseError::MaxPayload},
                  });
  // Exactly max_payload is allowed.
  ParseStep st = parse(s, "PUB foo 1024\r\n");
  CHECK(st.status == ParseStatus::NeedMore);
  CHECK(st.needed == 14 + 1024 + 2);
  CHECK(parse_whole(s, "PUB foo 1024\r\n" + std::string(1024, 'z') + "\r\n") == pub("foo", "", std::string(1024, 'z')));
  st = parse(s, "HPUB foo 1000 1024\r\n");
  CHECK(st.status == ParseStatus::NeedMore);

  // The default is 1 MiB.
  Parser d = server_parser();
  CHECK(parse(d, "PUB foo 1048576\r\n").status == ParseStatus::NeedMore);
  ParseStep over = parse(d, "PUB foo 1048577\r\n");
  CHECK(over.status == ParseStatus::Error);
  CHECK(over.error == ParseError::MaxPayload);

  // The client side does not enforce max_payload on what the server sends.
  Parser c(Parser::Side::Client);
  c.set_max_payload(10);
  st = parse(c, "MSG foo 1 11\r\n");
  CHECK(st.status == ParseStatus::NeedMore);
  CHECK(st.needed == 14 + 11 + 2);
}

TEST_CASE("parser: control line over max_control_line, complete or still incomplete", "[parser]") {
  Parser s = server_parser();  // default 4096
  const std::string subj4094(4094, 's');
  // Argument part exactly 4096 bytes: accepted.
  {
    const std::string in = "PUB " + subj4094 + " 0\r\n\r\n";
    CHECK(parse_whole(s, in) == pub(subj4094, "", ""));
  }
  // 4097 bytes, complete line: refused.
  check_errors(s, {
                      {"PUB arg 4097, complete", "PUB " + subj4094 + " 10\r\n", ParseError::MaxControlLine},
                      {"SUB arg 4097, complete", "SUB " + subj4094 + " 12\r\n", ParseError::MaxControlLine},
                      {"CONNECT json 5000", "CONNECT {\"name\":\"" + std::string(5000, 'n') + "\"}\r\n",
                       ParseError::MaxControlLine},
                  });
  // No newline yet: must fail without waiting for the rest of the line.
  {
    const std::string in = "PUB " + std::string(5000, 'a');
    ParseStep st = parse(s, in);
    CHECK(st.status == ParseStatus::Error);
    CHECK(st.error == ParseError::MaxControlLine);
  }
  {
    const std::string in = "SUB " + std::string(100000, 'a');
    ParseStep st = parse(s, in);
    CHECK(st.status == ParseStatus::Error);
    CHECK(st.error == ParseError::MaxControlLine);
  }
  {
    const std::string in = "CONNECT {\"a\":\"" + std::string(4200, 'a');
    ParseStep st = parse(s, in);
    CHECK(st.status == ParseStatus::Error);
    CHECK(st.error == ParseError::MaxControlLine);
  }
  // Fed a byte at a time, the flood is refused within a few bytes of the limit, not at the end.
  {
    const std::string flood = "PUB " + std::string(20000, 'a');
    std::string buf;
    size_t failed_at = 0;
    for (size_t i = 0; i < flood.size(); ++i) {
      buf += flood[i];
      ParseStep st = parse(s, buf);
      if (st.status == ParseStatus::Error) {
        CHECK(st.error == ParseError::MaxControlLine);
        failed_at = buf.size();
        break;
      }
      REQUIRE(st.status == ParseStatus::NeedMore);
    }
    CHECK(failed_at > 4 + 4096);
    CHECK(failed_at <= 4 + 4096 + 3);
  }
  // An allowed line whose CR has arrived but not its LF must not be refused early.
  {
    const std::string in = "PUB " + subj4094 + " 0\r";
    ParseStep st = parse(s, in);
    CHECK(st.status == ParseStatus::NeedMore);
  }
  // A smaller configured limit.
  Parser small = server_parser();
  small.set_max_control_line(16);
  CHECK(parse_whole(small, "SUB abcdefghijklm 1\r\n") == sub("abcdefghijklm", "", "1"));  // 15
  CHECK(parse_whole(small, "SUB abcdefghijklmn 1\r\n") == sub("abcdefghijklmn", "", "1"));  // 16
  check_errors(small, {
                          {"17 bytes", "SUB abcdefghijklmno 1\r\n", ParseError::MaxControlLine},
                          {"incomplete 40 bytes", "SUB " + std::string(40, 'x'), ParseError::MaxControlLine},
                      });
}

TEST_CASE("parser: blanks after the op name do not count against max_control_line, split or not",
          "[parser]") {
  // nats-server measures the argument from its first non-blank byte, in whole and split
  // reads alike (checked: "PUB  <4094 bytes> 0" with two blanks is accepted). The stateless
  // parser must give the same answer however the line is split.
  Parser s = server_parser();
  const std::string subj4094(4094, 's');
  const std::string in = "PUB  " + subj4094 + " 0\r\n\r\n";  // two blanks, argument exactly 4096
  CHECK(parse_whole(s, in) == pub(subj4094, "", ""));
  FeedResult bytes = feed_bytes(s, in);
  CHECK(error_name(bytes.error) == std::string("None"));
  REQUIRE(bytes.ops.size() == 1);
  CHECK(bytes.ops[0] == pub(subj4094, "", ""));
  // The line with its CR but not yet its LF, as a split read leaves it.
  ParseStep st = parse(s, "PUB  " + subj4094 + " 0\r");
  CHECK(st.status == ParseStatus::NeedMore);
  st = parse(s, "PUB \t  " + subj4094 + " 0");
  CHECK(st.status == ParseStatus::NeedMore);
}

TEST_CASE("parser: require_connect refuses any other first op at once", "[parser]") {
  Parser s = server_parser();
  s.set_require_connect(true);
  check_errors(s, {
                      {"PING first", "PING\r\n", ParseError::AuthorizationViolation},
                      {"SUB first", "SUB foo 1\r\n", ParseError::AuthorizationViolation},
                      {"PUB first", "PUB foo 0\r\n\r\n", ParseError::AuthorizationViolation},
                      {"first byte alone", "P", ParseError::AuthorizationViolation},
                      {"INFO first", "INFO {}\r\n", ParseError::AuthorizationViolation},
                      {"+OK first", "+OK\r\n", ParseError::AuthorizationViolation},
                      {"unknown first", "X\r\n", ParseError::AuthorizationViolation},
                  });
  CHECK(parse_whole(s, "CONNECT {\"user\":\"a\"}\r\n") == with_arg(Op::Connect, "{\"user\":\"a\"}"));
  CHECK(parse_whole(s, "connect {}\r\n") == with_arg(Op::Connect, "{}"));
  CHECK(parse(s, "CONN").status == ParseStatus::NeedMore);
  // A C that does not spell CONNECT is still an unknown op.
  ParseStep st = parse(s, "CX\r\n");
  CHECK(st.status == ParseStatus::Error);
  CHECK(st.error == ParseError::UnknownOp);
  // Once the server clears the flag, other ops parse normally.
  s.set_require_connect(false);
  CHECK(parse_whole(s, "PING\r\n") == op(Op::Ping));
  // The client side never requires CONNECT.
  Parser c(Parser::Side::Client);
  c.set_require_connect(true);
  CHECK(parse_whole(c, "PING\r\n") == op(Op::Ping));
}

TEST_CASE("parser: CONNECT and INFO need no blank before the JSON, as in nats-server", "[parser]") {
  // nats-server 2.9.10 (checked over a socket): "CONNECT{\"verbose\":true}\r\nPING\r\n" gets
  // "+OK\r\nPONG\r\n"; after CONNECT/INFO it skips blanks and takes whatever follows as the
  // argument. "CONNECT\r\n" closes the connection WITHOUT -ERR (empty JSON is invalid), so
  // the parser must hand the server an empty argument rather than report UnknownOp, which
  // would send the fatal -ERR 'Unknown Protocol Operation'.
  Parser s = server_parser();
  CHECK(parse_whole(s, "CONNECT{\"verbose\":true}\r\n") == with_arg(Op::Connect, "{\"verbose\":true}"));
  CHECK(parse_whole(s, "INFO{}\r\n") == with_arg(Op::Info, "{}"));
  CHECK(parse_whole(s, "CONNECT\r\n") == with_arg(Op::Connect, ""));
}
