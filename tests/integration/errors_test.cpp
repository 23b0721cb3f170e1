// The -ERR catalogue (protocol spec sections 1.1 and 9) as a client sees it: the exact text,
// and whether the server closes the connection afterwards. Closing with and without -ERR are
// different things to nats.go (fatal close versus reconnect), so both are asserted exactly.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/protocol_helpers.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

using namespace std::chrono_literals;
using namespace tern::test;

TEST_CASE("an unknown op gets -ERR 'Unknown Protocol Operation' and the connection closes", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  // Each input goes to a fresh connection that has done CONNECT.
  const std::vector<std::string> inputs = {
      "FOO\r\n",           // unknown op
      "PUBX foo 0\r\n",    // known prefix, bad spelling
      "MSG foo 1 0\r\n",   // a server-only op sent by the client
      "SUBfoo 1\r\n",      // no space after the op
      "UNSUB\r\n",         // no space after the op, no argument
      "PUB\r\n",           //   same for PUB
  };
  for (const auto& in : inputs) {
    INFO("input: " << in);
    CHECK(output_until_close_after_connect(s, in) == "-ERR 'Unknown Protocol Operation'\r\n");
  }
  // Also before any CONNECT.
  CHECK(output_until_close_after_info(s, "HELLO\r\n") == "-ERR 'Unknown Protocol Operation'\r\n");
}

TEST_CASE("a payload not followed by CRLF is 'Unknown Protocol Operation', closes, and is not delivered",
          "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient sub, pub;
  connect(sub, s);
  connect(pub, s);
  REQUIRE(sub.send("SUB foo 1\r\n"));
  REQUIRE(until_pong(sub) == Lines{});
  REQUIRE(pub.send("PUB foo 2\r\nhiXX\r\n"));
  CHECK(output_until_close(pub) == "-ERR 'Unknown Protocol Operation'\r\n");
  CHECK(until_pong(sub) == Lines{});
}

TEST_CASE("a control line over 4096 bytes gets -ERR 'maximum control line exceeded' and closes", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());

  SECTION("a SUB line of 5000 bytes") {
    CHECK(output_until_close_after_connect(s, "SUB " + std::string(5000, 'a') + " 1\r\n") ==
          "-ERR 'maximum control line exceeded'\r\n");
  }
  SECTION("10 KB of a PUB line with no newline at all") {
    CHECK(output_until_close_after_connect(s, "PUB " + std::string(10240, 'a')) ==
          "-ERR 'maximum control line exceeded'\r\n");
  }
  SECTION("a CONNECT line padded past the limit") {
    CHECK(output_until_close_after_info(s, "CONNECT {" + std::string(5000, ' ') + "}\r\n") ==
          "-ERR 'maximum control line exceeded'\r\n");
  }
  SECTION("the limit is on the argument part: 4096 bytes pass, 4097 do not") {
    RawClient ok;
    connect(ok, s);
    REQUIRE(ok.send("SUB " + std::string(4094, 'a') + " 1\r\n"));  // arguments: exactly 4096 bytes
    CHECK(until_pong(ok) == Lines{});
    RawClient over;
    connect(over, s);
    REQUIRE(over.send("SUB " + std::string(4095, 'a') + " 1\r\n"));  // 4097 bytes
    CHECK(output_until_close(over) == "-ERR 'maximum control line exceeded'\r\n");
  }
}

TEST_CASE("a PUB larger than max_payload gets -ERR 'Maximum Payload Violation' and closes", "[errors]") {
  SECTION("default max_payload of 1 MiB") {
    ServerProcess s;
    REQUIRE(s.start());
    RawClient ok;
    connect(ok, s);
    REQUIRE(ok.send("SUB big 1\r\nPUB big 1048576\r\n" + std::string(1048576, 'x') + "\r\n"));
    auto m = ok.read_msg(3s);
    REQUIRE(m);
    CHECK(m->payload.size() == 1048576);
    CHECK(until_pong(ok) == Lines{});

    // Rejected on the size alone, before any payload is sent.
    CHECK(output_until_close_after_connect(s, "PUB big 1048577\r\n") == "-ERR 'Maximum Payload Violation'\r\n");
  }
  SECTION("max_payload: 100 from a config file") {
    ServerProcess s;
    REQUIRE(s.start(with_config("max_payload: 100\n")));
    RawClient c;
    std::string info;
    REQUIRE(c.connect_and_read_info(s.port(), &info));
    CHECK(nlohmann::json::parse(info)["max_payload"] == 100);
    REQUIRE(c.send(std::string("CONNECT ") + R"({"verbose":false,"pedantic":false,"headers":true})" + "\r\n"));
    REQUIRE(c.send("SUB m 1\r\nPUB m 100\r\n" + std::string(100, 'y') + "\r\n"));
    auto m = c.read_msg();
    REQUIRE(m);
    CHECK(m->payload == std::string(100, 'y'));
    CHECK(until_pong(c) == Lines{});
    REQUIRE(c.send("PUB m 101\r\n"));
    CHECK(output_until_close(c) == "-ERR 'Maximum Payload Violation'\r\n");

    // For HPUB the limit applies to the total size (headers + payload).
    CHECK(output_until_close_after_connect(s, "HPUB m 12 101\r\n",
                                           R"({"verbose":false,"pedantic":false,"headers":true})") ==
          "-ERR 'Maximum Payload Violation'\r\n");
  }
}

TEST_CASE("wrong argument counts and bad sizes close the connection without -ERR", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  const std::vector<std::string> inputs = {
      "PUB foo\r\n",           // too few
      "PUB a b c d\r\n",       // too many
      "PUB foo x\r\n",         // non-numeric size
      "PUB foo -1\r\n",        // negative size
      "PUB \r\n",              // no arguments
      "SUB foo\r\n",           // no sid
      "SUB a b c d\r\n",       // too many
      "UNSUB 1 2 3\r\n",       // too many
      "CONNECT\r\n",           // no JSON
  };
  for (const auto& in : inputs) {
    INFO("input: " << in);
    CHECK(output_until_close_after_connect(s, in) == "");
  }
}

TEST_CASE("HPUB without headers negotiated closes the connection without -ERR", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  const std::string hpub = "HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n";

  SECTION("after a CONNECT without headers:true") { CHECK(output_until_close_after_connect(s, hpub, kQuiet) == ""); }
  SECTION("after CONNECT with headers:false") {
    CHECK(output_until_close_after_connect(s, hpub, R"({"verbose":false,"headers":false})") == "");
  }
  SECTION("without any CONNECT") { CHECK(output_until_close_after_info(s, hpub) == ""); }
}

TEST_CASE("malformed HPUB sizes close the connection without -ERR", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  for (std::string in : {"HPUB foo 14 12\r\n", "HPUB foo 12\r\n", "HPUB foo x 1 2 3\r\n", "HPUB foo x 12\r\n"}) {
    INFO("input: " << in);
    CHECK(output_until_close_after_connect(s, in, R"({"verbose":false,"headers":true})") == "");
  }
}

TEST_CASE("CONNECT with invalid JSON closes the connection without -ERR", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  for (std::string in : {"CONNECT {bad\r\n", "CONNECT {\"verbose\":false} x\r\n", "CONNECT [1,2\r\n"}) {
    INFO("input: " << in);
    CHECK(output_until_close_after_info(s, in + "PING\r\n") == "");
  }
  // Same for an INFO with invalid JSON sent by a client.
  CHECK(output_until_close_after_connect(s, "INFO {bad\r\nPING\r\n") == "");
}

TEST_CASE("CONNECT with protocol 2 gets -ERR 'invalid client protocol' and closes", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  CHECK(output_until_close_after_info(s, "CONNECT {\"verbose\":false,\"protocol\":2}\r\nPING\r\n") ==
        "-ERR 'invalid client protocol'\r\n");
}

TEST_CASE("no_responders without headers gets -ERR 'no responders requires headers support' and closes",
          "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  CHECK(output_until_close_after_info(s, "CONNECT {\"verbose\":false,\"no_responders\":true}\r\nPING\r\n") ==
        "-ERR 'no responders requires headers support'\r\n");
}

TEST_CASE("CONNECT with an account field gets -ERR 'Authorization Violation' and closes", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  CHECK(output_until_close_after_info(s, "CONNECT {\"verbose\":false,\"account\":\"A\"}\r\nPING\r\n") ==
        "-ERR 'Authorization Violation'\r\n");
}

TEST_CASE("SUB to an invalid subject gets -ERR 'Invalid Subject', the connection stays and a later SUB works",
          "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s);
  for (std::string subj : {"foo..bar", ".foo", "foo.", "foo.>.bar", ">.a", "."}) {
    INFO("subject: " << subj);
    REQUIRE(c.send("SUB " + subj + " 1\r\n"));
    CHECK(until_pong(c) == Lines{"-ERR 'Invalid Subject'"});
  }
  // sid 1 was never created, so it can be used now.
  REQUIRE(c.send("SUB foo.bar 1\r\nPUB foo.bar 2\r\nok\r\n"));
  CHECK(until_pong(c) == Lines{"MSG foo.bar 1 2", "ok"});

  SECTION("in verbose mode the bad SUB gets only the -ERR, no +OK") {
    RawClient v;
    connect(v, s, R"({"verbose":true})");
    REQUIRE(v.send("SUB a..b 1\r\nSUB a.b 2\r\n"));
    CHECK(until_pong(v) == Lines{"-ERR 'Invalid Subject'", "+OK"});
  }
}

TEST_CASE("tokens that merely contain wildcard characters are valid literal subjects", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s);
  REQUIRE(c.send("SUB a*.b 1\r\nSUB foo.b>r 2\r\nPUB a*.b 1\r\n1\r\nPUB foo.b>r 1\r\n2\r\nPUB ab.b 1\r\n3\r\n"));
  CHECK(until_pong(c) == Lines{"MSG a*.b 1 1", "1", "MSG foo.b>r 2 1", "2"});
}

TEST_CASE("pedantic PUB to a wildcard subject gets -ERR 'Invalid Publish Subject' but is still delivered",
          "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s, R"({"verbose":false,"pedantic":true})");
  REQUIRE(c.send("SUB foo.* 1\r\nPUB foo.* 2\r\nhi\r\n"));
  CHECK(until_pong(c) == Lines{"-ERR 'Invalid Publish Subject'", "MSG foo.* 1 2", "hi"});
  // A subject with an empty token is also flagged, and reaches no one.
  REQUIRE(c.send("SUB > 2\r\nPUB foo..bar 1\r\nx\r\n"));
  CHECK(until_pong(c) == Lines{"-ERR 'Invalid Publish Subject'"});

  SECTION("without pedantic there is no -ERR") {
    RawClient q;
    connect(q, s, R"({"verbose":false,"pedantic":false})");
    REQUIRE(q.send("SUB foo.* 1\r\nPUB foo.* 2\r\nhi\r\nPUB foo..bar 1\r\nx\r\n"));
    CHECK(until_pong(q) == Lines{"MSG foo.* 1 2", "hi"});
  }
}

TEST_CASE("a reserved reply prefix gets -ERR 'Permissions Violation for Publish with Reply of ...'", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s, R"({"verbose":false,"pedantic":false,"headers":true})");
  REQUIRE(c.send("SUB foo 1\r\n"));
  REQUIRE(c.send("PUB foo _R_.abc 1\r\na\r\n"));
  REQUIRE(c.send("PUB foo $JS.ACK.s.c.1 1\r\nb\r\n"));
  REQUIRE(c.send("PUB foo _GR_.x 1\r\nc\r\n"));
  REQUIRE(c.send("HPUB foo _R_.h 12 12\r\nNATS/1.0\r\n\r\n\r\n"));
  // The messages are dropped and the connection stays open.
  CHECK(until_pong(c) == Lines{"-ERR 'Permissions Violation for Publish with Reply of \"_R_.abc\"'",
                               "-ERR 'Permissions Violation for Publish with Reply of \"$JS.ACK.s.c.1\"'",
                               "-ERR 'Permissions Violation for Publish with Reply of \"_GR_.x\"'",
                               "-ERR 'Permissions Violation for Publish with Reply of \"_R_.h\"'"});
  // Only the prefix with its dot is reserved.
  REQUIRE(c.send("PUB foo _R_ 1\r\nd\r\nPUB foo _R_x.y 1\r\ne\r\n"));
  CHECK(until_pong(c) == Lines{"MSG foo 1 _R_ 1", "d", "MSG foo 1 _R_x.y 1", "e"});
}

TEST_CASE("a publish subject under _GR_. gets -ERR 'Permissions Violation for Publish to ...'", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  connect(c, s);
  REQUIRE(c.send("SUB > 1\r\nPUB _GR_.x 1\r\na\r\nPUB _R_.x 1\r\nb\r\n"));
  CHECK(until_pong(c) == Lines{"-ERR 'Permissions Violation for Publish to \"_GR_.x\"'", "MSG _R_.x 1 1", "b"});
}

TEST_CASE("max_subscriptions: 2 rejects the third SUB with -ERR 'maximum subscriptions exceeded'", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start(with_config("max_subscriptions: 2\n")));
  RawClient c;
  connect(c, s);
  REQUIRE(c.send("SUB a 1\r\nSUB b 2\r\n"));
  CHECK(until_pong(c) == Lines{});
  REQUIRE(c.send("SUB c 3\r\n"));
  CHECK(until_pong(c) == Lines{"-ERR 'maximum subscriptions exceeded'"});
  // The connection stays, the first two subscriptions work, the third was not created.
  REQUIRE(c.send("PUB a 1\r\n1\r\nPUB b 1\r\n2\r\nPUB c 1\r\n3\r\n"));
  CHECK(until_pong(c) == Lines{"MSG a 1 1", "1", "MSG b 2 1", "2"});
  // After an UNSUB there is room again.
  REQUIRE(c.send("UNSUB 1\r\nSUB c 3\r\nPUB c 1\r\n3\r\n"));
  CHECK(until_pong(c) == Lines{"MSG c 3 1", "3"});
  // The limit is per connection.
  RawClient d;
  connect(d, s);
  REQUIRE(d.send("SUB a 1\r\nSUB b 2\r\n"));
  CHECK(until_pong(d) == Lines{});
}

TEST_CASE("max_connections: 2 sends INFO then -ERR 'maximum connections exceeded' to the third client", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start(with_config("max_connections: 2\n")));
  RawClient a, b;
  connect(a, s);
  connect(b, s);
  RawClient c;
  REQUIRE(c.connect(s.port()));
  auto info = next_line(c);
  CHECK(info.rfind("INFO {", 0) == 0);
  CHECK(output_until_close(c) == "-ERR 'maximum connections exceeded'\r\n");
  // The two admitted clients are unaffected.
  CHECK(until_pong(a) == Lines{});
  CHECK(until_pong(b) == Lines{});
  // Once one leaves, a new client is admitted.
  a.close();
  bool admitted = false;
  for (int i = 0; i < 50 && !admitted; ++i) {
    RawClient d;
    if (d.handshake(s.port(), kQuiet)) admitted = true;
  }
  CHECK(admitted);
}

TEST_CASE("a client that sends -ERR has its connection closed without a reply", "[errors]") {
  ServerProcess s;
  REQUIRE(s.start());
  CHECK(output_until_close_after_connect(s, "-ERR 'something'\r\nPING\r\n") == "");
}
