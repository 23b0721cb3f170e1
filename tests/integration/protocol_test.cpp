// Client protocol basics over raw sockets (protocol spec sections 1-3): what a client sees on
// the wire for INFO, CONNECT, PUB/HPUB, SUB/UNSUB, PING/PONG and +OK. Every expectation here
// was first checked against nats-server 2.9.10.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/protocol_helpers.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

using namespace std::chrono_literals;
using namespace tern::test;

namespace {

constexpr const char* kQuietHeaders = R"({"verbose":false,"pedantic":false,"headers":true,"protocol":1})";

// The INFO a fresh connection of `c` to `port` receives, parsed; `c` stays connected.
nlohmann::json read_info(RawClient& c, int port) {
  std::string info;
  REQUIRE(c.connect_and_read_info(port, &info));
  return nlohmann::json::parse(info);
}

}  // namespace

TEST_CASE("INFO is sent first, unprompted, with the fields clients rely on", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  REQUIRE(c.connect(s.port()));
  // Nothing is sent: the server must speak first.
  std::string line = next_line(c);
  REQUIRE(line.rfind("INFO {", 0) == 0);
  auto info = nlohmann::json::parse(line.substr(5));

  REQUIRE(info["server_id"].is_string());
  CHECK_FALSE(info["server_id"].get<std::string>().empty());
  REQUIRE(info["server_name"].is_string());
  CHECK_FALSE(info["server_name"].get<std::string>().empty());
  REQUIRE(info["version"].is_string());
  CHECK_FALSE(info["version"].get<std::string>().empty());
  CHECK(info["proto"] == 1);
  CHECK(info["headers"] == true);
  CHECK(info["max_payload"] == 1048576);
  REQUIRE(info["client_id"].is_number_unsigned());
  CHECK(info["client_id"].get<uint64_t>() > 0);
  CHECK(info["port"] == s.port());
  // No auth and no TLS configured: those flags are omitted.
  CHECK_FALSE(info.contains("auth_required"));
  CHECK_FALSE(info.contains("tls_required"));
  // Nothing else follows the INFO until the client says something.
  CHECK(c.drain(150ms).empty());
}

TEST_CASE("each connection gets its own client_id in INFO", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient a, b;
  auto ia = read_info(a, s.port());
  auto ib = read_info(b, s.port());
  CHECK(ia["client_id"] != ib["client_id"]);
  CHECK(ia["server_id"] == ib["server_id"]);
}

TEST_CASE("CONNECT then PING is answered with PONG", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  REQUIRE(c.connect_and_read_info(s.port()));
  REQUIRE(c.send("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n"));
  CHECK(next_line(c) == "PONG");
  // Unknown CONNECT keys are ignored.
  RawClient d;
  REQUIRE(d.connect_and_read_info(s.port()));
  REQUIRE(d.send("CONNECT {\"verbose\":false,\"no_such_key\":[1,2],\"name\":\"x\",\"lang\":\"c\"}\r\nPING\r\n"));
  CHECK(next_line(d) == "PONG");
}

TEST_CASE("verbose:true acks CONNECT, SUB, UNSUB, PUB and HPUB with +OK, but never PING", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  REQUIRE(c.connect_and_read_info(s.port()));
  REQUIRE(c.send("CONNECT {\"verbose\":true,\"headers\":true}\r\n"));
  CHECK(next_line(c) == "+OK");
  REQUIRE(c.send("SUB foo 1\r\n"));
  CHECK(next_line(c) == "+OK");
  REQUIRE(c.send("PUB bar 2\r\nhi\r\n"));
  CHECK(next_line(c) == "+OK");
  REQUIRE(c.send("HPUB bar 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"));
  CHECK(next_line(c) == "+OK");
  REQUIRE(c.send("UNSUB 1\r\n"));
  CHECK(next_line(c) == "+OK");
  REQUIRE(c.send("PING\r\n"));
  CHECK(next_line(c) == "PONG");
  // A PONG from the client gets no answer at all.
  REQUIRE(c.send("PONG\r\n"));
  CHECK(until_pong(c) == Lines{});
}

TEST_CASE("CONNECT keys that are absent keep the defaults verbose, pedantic and echo = true", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  REQUIRE(c.connect_and_read_info(s.port()));
  // nats-server unmarshals CONNECT over the defaults, so "{}" leaves verbose and pedantic on.
  REQUIRE(c.send("CONNECT {}\r\nSUB foo.* 1\r\nPUB foo.* 0\r\n\r\n"));
  CHECK(until_pong(c) == Lines{"+OK", "+OK", "-ERR 'Invalid Publish Subject'", "+OK", "MSG foo.* 1 0", ""});
}

TEST_CASE("operation names are case-insensitive", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  REQUIRE(c.connect_and_read_info(s.port()));
  REQUIRE(c.send("connect {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n"
                 "sub foo 1\r\nSuB bar 2\r\nPub foo 2\r\nhi\r\npub bar 3\r\nyou\r\n"
                 "hpub foo 12 14\r\nNATS/1.0\r\n\r\nho\r\nunSub 2\r\npUB bar 1\r\nx\r\n"));
  CHECK(until_pong(c) == Lines{"MSG foo 1 2", "hi", "MSG bar 2 3", "you", "HMSG foo 1 12 14", "NATS/1.0", "", "ho"});
  REQUIRE(c.send("ping\r\n"));
  CHECK(next_line(c) == "PONG");
  REQUIRE(c.send("PiNg\r\n"));
  CHECK(next_line(c) == "PONG");
}

TEST_CASE("runs of spaces and tabs separate arguments and trailing whitespace is ignored", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s);
  // nats.go sends "SUB <subj>  <sid>" (two spaces) and "UNSUB <sid> " (trailing space).
  REQUIRE(c.send("SUB foo  1\r\nSUB\tbar \t 2\t\r\nPUB  foo\t 2 \r\nhi\r\nPUB bar   reply.x   3  \r\nabc\r\n"));
  CHECK(until_pong(c) == Lines{"MSG foo 1 2", "hi", "MSG bar 2 reply.x 3", "abc"});
  REQUIRE(c.send("UNSUB 1 \r\nUNSUB\t2\t5 \r\nPUB foo 1\r\nx\r\nPUB bar 1\r\ny\r\n"));
  CHECK(until_pong(c) == Lines{"MSG bar 2 1", "y"});
}

TEST_CASE("a bare LF ends a control line and PING may carry trailing bytes", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s);
  REQUIRE(c.send("SUB foo 1\nPUB foo 2\nhi\r\nPING\n"));
  CHECK(next_line(c) == "MSG foo 1 2");
  CHECK(next_line(c) == "hi");
  CHECK(next_line(c) == "PONG");
  REQUIRE(c.send("PING xyz\r\n"));
  CHECK(next_line(c) == "PONG");
}

TEST_CASE("ops split into single bytes across many writes are parsed", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  REQUIRE(c.connect_and_read_info(s.port()));
  const std::string input =
      "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n"
      "SUB foo.bar 17\r\nPUB foo.bar reply 5\r\nhello\r\n"
      "HPUB foo.bar 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\nPING\r\n";
  for (size_t i = 0; i < input.size(); ++i) {
    REQUIRE(c.send(input.substr(i, 1)));
    if (i % 7 == 0) std::this_thread::sleep_for(2ms);
  }
  CHECK(next_line(c) == "MSG foo.bar 17 reply 5");
  CHECK(next_line(c) == "hello");
  CHECK(next_line(c) == "HMSG foo.bar 17 22 33");
  CHECK(c.read_bytes(35).value_or("<none>") == "NATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n");
  CHECK(next_line(c) == "PONG");
}

TEST_CASE("many ops in one write are all processed, in order", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s);
  std::string batch = "SUB n 1\r\n";
  Lines expected;
  for (int i = 0; i < 200; ++i) {
    std::string body = std::to_string(i);
    batch += "PUB n " + std::to_string(body.size()) + "\r\n" + body + "\r\n";
    expected.push_back("MSG n 1 " + std::to_string(body.size()));
    expected.push_back(body);
  }
  REQUIRE(c.send(batch));
  CHECK(until_pong(c) == expected);
}

TEST_CASE("a zero-length payload is delivered as MSG with 0 bytes", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s);
  REQUIRE(c.send("SUB foo 1\r\nPUB foo 0\r\n\r\nPUB foo r 0\r\n\r\n"));
  CHECK(until_pong(c) == Lines{"MSG foo 1 0", "", "MSG foo 1 r 0", ""});
}

TEST_CASE("PUB with a reply subject carries it in MSG, and a binary payload is passed through", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient sub, pub;
  connect(sub, s);
  connect(pub, s);
  REQUIRE(sub.send("SUB foo 9\r\n"));
  REQUIRE(until_pong(sub) == Lines{});
  const std::string payload("a\r\nb\0c", 6);
  REQUIRE(pub.send("PUB foo my.reply 6\r\n" + payload + "\r\n"));
  REQUIRE(until_pong(pub) == Lines{});
  auto m = sub.read_msg();
  REQUIRE(m);
  CHECK(m->subject == "foo");
  CHECK(m->sid == "9");
  CHECK(m->reply == "my.reply");
  CHECK(m->payload == payload);
  CHECK_FALSE(m->has_headers);
}

TEST_CASE("HPUB is delivered as HMSG with exact header and total byte counts", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient sub, pub;
  connect(sub, s, kQuietHeaders);
  connect(pub, s, kQuietHeaders);
  REQUIRE(sub.send("SUB foo 1\r\n"));
  REQUIRE(until_pong(sub) == Lines{});
  // The docs' example: 22 header bytes (including the blank line), 33 in total.
  REQUIRE(pub.send("HPUB foo 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n"));
  REQUIRE(pub.send("HPUB foo rep.1 12 12\r\nNATS/1.0\r\n\r\n\r\n"));
  REQUIRE(pub.send("HPUB foo 36 38\r\nNATS/1.0\r\nA: 1\r\nA: 2\r\nbig-Key: v\r\n\r\nhi\r\n"));
  REQUIRE(until_pong(pub) == Lines{});
  CHECK(next_line(sub) == "HMSG foo 1 22 33");
  CHECK(sub.read_bytes(35).value_or("<none>") == "NATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n");
  CHECK(next_line(sub) == "HMSG foo 1 rep.1 12 12");
  CHECK(sub.read_bytes(14).value_or("<none>") == "NATS/1.0\r\n\r\n\r\n");
  CHECK(next_line(sub) == "HMSG foo 1 36 38");
  CHECK(sub.read_bytes(40).value_or("<none>") == "NATS/1.0\r\nA: 1\r\nA: 2\r\nbig-Key: v\r\n\r\nhi\r\n");
  CHECK(until_pong(sub) == Lines{});
}

TEST_CASE("HPUB reaches a client that did not negotiate headers as MSG with the headers stripped", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient sub, pub;
  connect(sub, s, kQuiet);  // no "headers":true
  connect(pub, s, kQuietHeaders);
  REQUIRE(sub.send("SUB foo 1\r\n"));
  REQUIRE(until_pong(sub) == Lines{});
  REQUIRE(pub.send("HPUB foo rep 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n"));
  REQUIRE(pub.send("HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n"));
  REQUIRE(until_pong(pub) == Lines{});
  CHECK(until_pong(sub) == Lines{"MSG foo 1 rep 11", "Hello NATS!", "MSG foo 1 0", ""});
}

TEST_CASE("PUB reaches a headers-enabled subscriber as plain MSG", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s, kQuietHeaders);
  REQUIRE(c.send("SUB foo 1\r\nPUB foo 2\r\nhi\r\n"));
  CHECK(until_pong(c) == Lines{"MSG foo 1 2", "hi"});
}

TEST_CASE("SUB with a sid already in use is ignored and the first subscription stays", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s);
  REQUIRE(c.send("SUB foo 1\r\nSUB bar 1\r\nPUB bar 1\r\nb\r\nPUB foo 1\r\nf\r\n"));
  CHECK(until_pong(c) == Lines{"MSG foo 1 1", "f"});

  SECTION("and it is still acked with +OK in verbose mode") {
    RawClient v;
    connect(v, s, R"({"verbose":true})");
    REQUIRE(v.send("SUB foo 1\r\nSUB foo 1\r\n"));
    CHECK(until_pong(v) == Lines{"+OK", "+OK"});
  }
}

TEST_CASE("UNSUB with max_msgs unsubscribes after that many messages", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s);

  SECTION("max greater than delivered: auto-unsubscribe after N") {
    REQUIRE(c.send("SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n"));
    CHECK(until_pong(c) == Lines{"MSG foo 1 1", "a", "MSG foo 1 1", "b"});
    REQUIRE(c.send("PUB foo 1\r\nd\r\n"));
    CHECK(until_pong(c) == Lines{});
  }
  SECTION("max already reached: removed at once") {
    REQUIRE(c.send("SUB foo 1\r\nPUB foo 1\r\na\r\nUNSUB 1 1\r\nPUB foo 1\r\nb\r\n"));
    CHECK(until_pong(c) == Lines{"MSG foo 1 1", "a"});
  }
  SECTION("auto-unsubscribe counts per sid, across publishers") {
    RawClient pub;
    connect(pub, s);
    REQUIRE(c.send("SUB foo 1\r\nSUB foo 2\r\nUNSUB 1 1\r\n"));
    REQUIRE(until_pong(c) == Lines{});
    REQUIRE(pub.send("PUB foo 1\r\na\r\nPUB foo 1\r\nb\r\n"));
    REQUIRE(until_pong(pub) == Lines{});
    auto got = until_pong(c);
    std::sort(got.begin(), got.end());
    CHECK(got == Lines{"MSG foo 1 1", "MSG foo 2 1", "MSG foo 2 1", "a", "a", "b"});
  }
}

TEST_CASE("UNSUB of an unknown sid is ignored, with +OK in verbose mode", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s, R"({"verbose":true})");
  REQUIRE(c.send("UNSUB 99\r\nUNSUB nope 3\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\n"));
  CHECK(until_pong(c) == Lines{"+OK", "+OK", "+OK", "+OK", "MSG foo 1 1", "x"});
}

TEST_CASE("PONG comes after every MSG caused by earlier PUBs", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());

  SECTION("on the publishing connection itself") {
    RawClient c;
    connect(c, s);
    std::string batch = "SUB p 1\r\n";
    for (int i = 0; i < 100; ++i) batch += "PUB p 3\r\nabc\r\n";
    REQUIRE(c.send(batch + "PING\r\n"));
    for (int i = 0; i < 100; ++i) {
      REQUIRE(next_line(c) == "MSG p 1 3");
      REQUIRE(next_line(c) == "abc");
    }
    CHECK(next_line(c) == "PONG");
  }
  SECTION("on a subscriber, after the publisher's PONG") {
    RawClient sub, pub;
    connect(sub, s);
    connect(pub, s);
    REQUIRE(sub.send("SUB p 1\r\n"));
    REQUIRE(until_pong(sub) == Lines{});
    std::string batch;
    for (int i = 0; i < 100; ++i) batch += "PUB p 3\r\nabc\r\n";
    REQUIRE(pub.send(batch));
    REQUIRE(until_pong(pub) == Lines{});
    auto got = until_pong(sub);
    REQUIRE(got.size() == 200);
    CHECK(got.front() == "MSG p 1 3");
    CHECK(got.back() == "abc");
  }
}

TEST_CASE("a telnet-style client may SUB and PUB without CONNECT and gets +OK (verbose default)", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  REQUIRE(c.connect_and_read_info(s.port()));
  REQUIRE(c.send("SUB foo 1\r\n"));
  CHECK(next_line(c) == "+OK");
  REQUIRE(c.send("PUB foo 5\r\nhello\r\n"));
  // +OK for the PUB comes before its delivery.
  CHECK(next_line(c) == "+OK");
  CHECK(next_line(c) == "MSG foo 1 5");
  CHECK(next_line(c) == "hello");
  REQUIRE(c.send("PING\r\n"));
  CHECK(next_line(c) == "PONG");
  // Pedantic is also on before CONNECT: a wildcard publish subject is flagged but still delivered.
  REQUIRE(c.send("SUB x.* 2\r\nPUB x.* 0\r\n\r\n"));
  CHECK(until_pong(c) == Lines{"+OK", "-ERR 'Invalid Publish Subject'", "+OK", "MSG x.* 2 0", ""});
}

TEST_CASE("client PONG, +OK and a valid INFO are accepted silently", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s);
  REQUIRE(c.send("PONG\r\n+OK\r\nINFO {\"x\":1}\r\nSUB foo 1\r\nPUB foo 1\r\nz\r\n"));
  CHECK(until_pong(c) == Lines{"MSG foo 1 1", "z"});
}

TEST_CASE("a second CONNECT updates only the keys it carries", "[protocol]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s, R"({"verbose":false,"pedantic":false,"echo":false})");
  REQUIRE(c.send("CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nPUB foo 0\r\n\r\n"));
  // echo:false from the first CONNECT still holds.
  CHECK(until_pong(c) == Lines{});
}
