// Unit tests for proto/headers: the NATS/1.0 header block (protocol spec section 4).

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "proto/headers.h"

using tern::proto::encode_headers;
using tern::proto::find_header;
using tern::proto::Headers;
using tern::proto::parse_headers;

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

Headers parse_ok(std::string_view block) {
  auto r = parse_headers(block);
  INFO("block: " << std::string(block));
  if (!r.is_ok()) FAIL("parse failed: " << r.status().message());
  return r.value();
}

}  // namespace

TEST_CASE("headers: the minimal and status-only blocks", "[headers]") {
  Headers h = parse_ok("NATS/1.0\r\n\r\n");
  CHECK(h.status == 0);
  CHECK(h.description.empty());
  CHECK(h.fields.empty());

  h = parse_ok("NATS/1.0 503\r\n\r\n");
  CHECK(h.status == 503);
  CHECK(h.description.empty());
  CHECK(h.fields.empty());

  CHECK(tern::proto::kNoRespondersHeader == "NATS/1.0 503\r\n\r\n");
  CHECK(tern::proto::kNoRespondersHeader.size() == 16);
  CHECK(tern::proto::kHeaderVersion == "NATS/1.0");
}

TEST_CASE("headers: status with description and extra headers", "[headers]") {
  Headers h = parse_ok("NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 5\r\nNats-Last-Stream: 7\r\n\r\n");
  CHECK(h.status == 100);
  CHECK(h.description == "Idle Heartbeat");
  CHECK(h.fields == Fields{{"Nats-Last-Consumer", "5"}, {"Nats-Last-Stream", "7"}});

  h = parse_ok("NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\nNats-Pending-Bytes: 0\r\n\r\n");
  CHECK(h.status == 408);
  CHECK(h.description == "Request Timeout");
  REQUIRE(h.get("Nats-Pending-Bytes") != nullptr);
  CHECK(*h.get("Nats-Pending-Bytes") == "0");

  h = parse_ok("NATS/1.0 409 Consumer Deleted\r\n\r\n");
  CHECK(h.status == 409);
  CHECK(h.description == "Consumer Deleted");

  h = parse_ok("NATS/1.0 100 FlowControl Request\r\n\r\n");
  CHECK(h.status == 100);
  CHECK(h.description == "FlowControl Request");

  // nats.go trims the text after NATS/1.0, then the description.
  h = parse_ok("NATS/1.0   404   No Messages  \r\n\r\n");
  CHECK(h.status == 404);
  CHECK(h.description == "No Messages");
  h = parse_ok("NATS/1.0 400 Bad Request - bad json\r\n\r\n");
  CHECK(h.status == 400);
  CHECK(h.description == "Bad Request - bad json");
}

TEST_CASE("headers: multi-value keys keep their order, lookups are exact", "[headers]") {
  Headers h = parse_ok("NATS/1.0\r\nA: 1\r\nB: x\r\nA: 2\r\nA: 3\r\n\r\n");
  CHECK(h.fields == Fields{{"A", "1"}, {"B", "x"}, {"A", "2"}, {"A", "3"}});
  REQUIRE(h.get("A") != nullptr);
  CHECK(*h.get("A") == "1");
  CHECK(h.get("a") == nullptr);
  CHECK(h.get("C") == nullptr);
  CHECK(h.get("") == nullptr);
}

TEST_CASE("headers: key case is preserved", "[headers]") {
  Headers h = parse_ok("NATS/1.0\r\nX-Custom-KEY: v\r\nnats-msg-id: lower\r\nNats-Msg-Id: canon\r\n\r\n");
  CHECK(h.fields == Fields{{"X-Custom-KEY", "v"}, {"nats-msg-id", "lower"}, {"Nats-Msg-Id", "canon"}});
  CHECK(h.get("x-custom-key") == nullptr);
  REQUIRE(h.get("Nats-Msg-Id") != nullptr);
  CHECK(*h.get("Nats-Msg-Id") == "canon");
  REQUIRE(h.get("nats-msg-id") != nullptr);
  CHECK(*h.get("nats-msg-id") == "lower");
}

TEST_CASE("headers: values are trimmed of blanks on both sides, inner text kept", "[headers]") {
  Headers h = parse_ok(
      "NATS/1.0\r\nA:   v  \r\nB:\tw\t\r\nC:x\r\nD:\r\nE: a b  c\r\nF: a:b: c\r\nG: \r\nH: \"quoted\"\r\n\r\n");
  CHECK(h.fields == Fields{{"A", "v"},
                           {"B", "w"},
                           {"C", "x"},
                           {"D", ""},
                           {"E", "a b  c"},
                           {"F", "a:b: c"},
                           {"G", ""},
                           {"H", "\"quoted\""}});
}

TEST_CASE("headers: malformed blocks are rejected", "[headers]") {
  for (std::string_view bad : {
           "",
           "NATS/1.0",                        // no line end
           "NATS/1.0\r\n",                    // no terminating empty line
           "NATS/1.0\r\nK: v\r\n",            // no terminating empty line
           "NATS/1.0\r\nK: v",                // header line without CRLF
           "NATS/2.0\r\n\r\n",                // wrong version
           "nats/1.0\r\n\r\n",                // version is case-sensitive
           "HTTP/1.1 200 OK\r\n\r\n",         // not NATS
           "NATS/1\r\n\r\n",                  // truncated version
           " NATS/1.0\r\n\r\n",               // leading blank
           "NATS/1.0\r\nNoColon\r\n\r\n",     // header line without ':'
           "NATS/1.0\r\n: v\r\n\r\n",         // empty key
           "NATS/1.0 abc\r\n\r\n",            // non-numeric status
           "NATS/1.0 5x3\r\n\r\n",            // non-numeric status
       }) {
    INFO("block: '" << std::string(bad) << "'");
    auto r = parse_headers(bad);
    CHECK_FALSE(r.is_ok());
    if (!r.is_ok()) CHECK_FALSE(r.status().message().empty());
  }
}

TEST_CASE("headers: encode writes the canonical block", "[headers]") {
  Headers h;
  CHECK(encode_headers(h) == "NATS/1.0\r\n\r\n");
  CHECK(encode_headers(h).size() == 12);

  h.status = 503;
  CHECK(encode_headers(h) == tern::proto::kNoRespondersHeader);

  h = Headers{};
  h.status = 100;
  h.description = "Idle Heartbeat";
  h.add("Nats-Last-Consumer", "5");
  h.add("Nats-Last-Stream", "7");
  CHECK(encode_headers(h) == "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 5\r\nNats-Last-Stream: 7\r\n\r\n");

  h = Headers{};
  h.add("Bar", "Baz");
  CHECK(encode_headers(h) == "NATS/1.0\r\nBar: Baz\r\n\r\n");  // the 22-byte block of the HPUB doc example
  CHECK(encode_headers(h).size() == 22);

  h = Headers{};
  h.add("A", "1");
  h.add("A", "2");
  h.add("Empty", "");
  CHECK(encode_headers(h) == "NATS/1.0\r\nA: 1\r\nA: 2\r\nEmpty: \r\n\r\n");
}

TEST_CASE("headers: encode then parse round-trips", "[headers]") {
  auto round_trip = [](const Headers& h) {
    Headers back = parse_ok(encode_headers(h));
    CHECK(back.status == h.status);
    CHECK(back.description == h.description);
    CHECK(back.fields == h.fields);
    // And the re-encoding is byte-identical.
    CHECK(encode_headers(back) == encode_headers(h));
  };
  Headers h;
  round_trip(h);
  h.status = 408;
  h.description = "Request Timeout";
  h.add("Nats-Pending-Messages", "12");
  h.add("Nats-Pending-Bytes", "3456");
  round_trip(h);

  std::mt19937 rng(42);
  const std::string key_chars = "ABCabcXYZ-_019";
  const std::string val_chars = "abcXYZ 019:-/.\"";
  auto rand_str = [&](const std::string& alpha, size_t min, size_t max) {
    size_t n = std::uniform_int_distribution<size_t>(min, max)(rng);
    std::string s;
    for (size_t i = 0; i < n; ++i) s += alpha[std::uniform_int_distribution<size_t>(0, alpha.size() - 1)(rng)];
    return s;
  };
  for (int i = 0; i < 500; ++i) {
    Headers r;
    if (rng() % 2) {
      r.status = std::uniform_int_distribution<int>(100, 599)(rng);
      if (rng() % 2) {
        r.description = rand_str("abcXYZ -", 1, 20);
        while (!r.description.empty() && r.description.front() == ' ') r.description.erase(0, 1);
        while (!r.description.empty() && r.description.back() == ' ') r.description.pop_back();
      }
    }
    int n = std::uniform_int_distribution<int>(0, 6)(rng);
    for (int k = 0; k < n; ++k) {
      std::string v = rand_str(val_chars, 0, 12);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      while (!v.empty() && v.back() == ' ') v.pop_back();
      r.add(rand_str(key_chars, 1, 10), v);
    }
    INFO("iteration " << i << " block: " << encode_headers(r));
    round_trip(r);
  }
}

TEST_CASE("headers: find_header matches exact keys at the start of a line", "[headers]") {
  const std::string block =
      "NATS/1.0\r\nNats-Msg-Id: abc\r\nX-Other: Nats-Expected-Stream: no\r\nNats-Expected-Last-Sequence: 5\r\n\r\n";
  CHECK(find_header(block, "Nats-Msg-Id") == "abc");
  CHECK(find_header(block, "Nats-Expected-Last-Sequence") == "5");
  CHECK(find_header(block, "X-Other") == "Nats-Expected-Stream: no");
  // Case-sensitive.
  CHECK(find_header(block, "nats-msg-id").empty());
  CHECK(find_header(block, "NATS-MSG-ID").empty());
  // Not at the start of a line.
  CHECK(find_header(block, "Msg-Id").empty());
  CHECK(find_header(block, "Nats-Expected-Stream").empty());  // only inside another header's value
  // A prefix of a key is not the key.
  CHECK(find_header(block, "Nats-Msg").empty());
  CHECK(find_header(block, "Nats-Expected-Last").empty());
  // Absent.
  CHECK(find_header(block, "Nats-Rollup").empty());
  CHECK(find_header("", "Nats-Msg-Id").empty());
  CHECK(find_header("NATS/1.0\r\n\r\n", "Nats-Msg-Id").empty());
  // The returned view points into the block and stops before the CRLF.
  std::string_view v = find_header(block, "Nats-Msg-Id");
  CHECK(v.data() == block.data() + block.find("abc"));
  CHECK(v.size() == 3);
}

TEST_CASE("headers: find_header skips leading spaces, returns the first of repeated keys", "[headers]") {
  CHECK(find_header("NATS/1.0\r\nK:    v\r\n\r\n", "K") == "v");
  CHECK(find_header("NATS/1.0\r\nK:v\r\n\r\n", "K") == "v");
  CHECK(find_header("NATS/1.0\r\nK: a b\r\n\r\n", "K") == "a b");
  CHECK(find_header("NATS/1.0\r\nK: first\r\nK: second\r\n\r\n", "K") == "first");
  CHECK(find_header("NATS/1.0\r\nKey: x\r\nK: y\r\n\r\n", "K") == "y");
  CHECK(find_header("NATS/1.0 503\r\nK: y\r\n\r\n", "K") == "y");
  // The key must be followed by ':' directly.
  CHECK(find_header("NATS/1.0\r\nK : v\r\n\r\n", "K").empty());
  // The version line is not a header line.
  CHECK(find_header("K: v\r\n\r\n", "K").empty());
}
