#pragma once
// Helpers for the JetStream consumer integration tests (jetstream-api.md §8–§11): a server
// with JetStream on a fresh store dir, an API connection whose requests are answered on
// _INBOX.t.<n>, and a second connection that sends pull requests (reply _INBOX.p.<n>) and
// reads what the consumer delivers to them, status replies included. Raw protocol on purpose:
// the status replies and ack subjects are compared byte for byte.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/protocol_helpers.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

namespace tern::test::js {

using json = nlohmann::json;
using namespace std::chrono_literals;

inline std::string fresh_dir() {
  char tmpl[] = "/tmp/tern-jsc-test-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  REQUIRE(d != nullptr);
  return d;
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

// One message read from the pull connection: a delivery or a status reply.
struct Delivery {
  std::string subject, reply, headers, payload;
  bool has_headers = false;
  // Parsed from a v1 ack subject $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>.
  std::string stream, consumer;
  uint64_t delivered = 0, sseq = 0, cseq = 0, pending = 0;
  int64_t ts = 0;
  bool ack_ok = false;  // false: not a delivery (a status reply, or an unexpected message)
};

inline Delivery to_delivery(const RawClient::Msg& m) {
  Delivery d;
  d.subject = m.subject, d.reply = m.reply, d.headers = m.headers, d.payload = m.payload, d.has_headers = m.has_headers;
  auto t = split(m.reply, '.');
  if (t.size() == 9 && t[0] == "$JS" && t[1] == "ACK") {
    d.stream = t[2], d.consumer = t[3];
    d.delivered = std::stoull(t[4]), d.sseq = std::stoull(t[5]), d.cseq = std::stoull(t[6]);
    d.ts = std::stoll(t[7]), d.pending = std::stoull(t[8]);
    d.ack_ok = true;
  }
  return d;
}

// The exact header block of a status reply with the pending headers.
inline std::string pending_status(const std::string& line, uint64_t msgs, uint64_t bytes) {
  return "NATS/1.0 " + line + "\r\nNats-Pending-Messages: " + std::to_string(msgs) +
         "\r\nNats-Pending-Bytes: " + std::to_string(bytes) + "\r\n\r\n";
}
inline std::string bare_status(const std::string& line) { return "NATS/1.0 " + line + "\r\n\r\n"; }

inline int err_code(const json& reply) {
  return reply.contains("error") ? reply["error"].value("err_code", 0) : 0;
}
inline std::string err_desc(const json& reply) {
  return reply.contains("error") ? reply["error"].value("description", std::string()) : std::string();
}
inline int err_status(const json& reply) { return reply.contains("error") ? reply["error"].value("code", 0) : 0; }

inline int64_t ns(std::chrono::milliseconds ms) { return ms.count() * 1000000LL; }

struct JsServer {
  std::string dir = fresh_dir();
  ServerProcess server;
  RawClient api;    // API requests and acks; sid 1 = _INBOX.t.*
  RawClient pulls;  // pull requests; sid 1 = _INBOX.p.>
  RawClient events; // sid 1 = $JS.EVENT.ADVISORY.CONSUMER.>
  int next_reply = 0;
  int next_pull = 0;
  std::deque<RawClient::Msg> pull_buf;

  JsServer() {
    REQUIRE(server.start({"-js", "-sd", dir}));
    connect_clients();
  }
  ~JsServer() {
    api.close();
    pulls.close();
    events.close();
    server.stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void connect_clients() {
    api.close();
    pulls.close();
    events.close();
    pull_buf.clear();
    REQUIRE(api.handshake(server.port()));
    REQUIRE(api.send("SUB _INBOX.t.* 1\r\n"));
    REQUIRE(pulls.handshake(server.port()));
    REQUIRE(pulls.send("SUB _INBOX.p.> 1\r\n"));
    REQUIRE(events.handshake(server.port()));
    REQUIRE(events.send("SUB $JS.EVENT.ADVISORY.CONSUMER.> 1\r\nPING\r\n"));
    REQUIRE(events.read_line() == std::optional<std::string>("PONG"));
    flush_pulls();
  }
  void restart() {
    api.close();
    pulls.close();
    events.close();
    server.stop();
    REQUIRE(server.start({"-js", "-sd", dir}));
    connect_clients();
  }
  void kill9_restart() {
    api.close();
    pulls.close();
    events.close();
    server.kill9();
    REQUIRE(server.start({"-js", "-sd", dir}));
    connect_clients();
  }

  static std::string pub_op(const std::string& subject, const std::string& reply, const std::string& body,
                            const std::string& headers = "") {
    std::string r = reply.empty() ? "" : reply + " ";
    if (headers.empty()) return "PUB " + subject + " " + r + std::to_string(body.size()) + "\r\n" + body + "\r\n";
    return "HPUB " + subject + " " + r + std::to_string(headers.size()) + " " +
           std::to_string(headers.size() + body.size()) + "\r\n" + headers + body + "\r\n";
  }

  // A request on the API connection; the raw reply, or nullopt when none came in `timeout`.
  std::optional<RawClient::Msg> raw_request(const std::string& subject, const std::string& body = "",
                                            const std::string& headers = "",
                                            std::chrono::milliseconds timeout = 3s) {
    std::string reply = "_INBOX.t." + std::to_string(++next_reply);
    REQUIRE(api.send(pub_op(subject, reply, body, headers)));
    auto m = api.read_msg(timeout);
    if (m) CHECK(m->subject == reply);
    return m;
  }
  json request(const std::string& subject, const std::string& body = "", const std::string& headers = "") {
    auto m = raw_request(subject, body, headers);
    if (!m) return json{{"<no reply>", subject}};
    auto j = json::parse(m->payload, nullptr, false);
    if (j.is_discarded()) return json{{"<not json>", m->payload}};
    return j;
  }
  json publish(const std::string& subject, const std::string& body = "", const std::string& headers = "") {
    return request(subject, body, headers);
  }
  // Publishes and REQUIREs a pub ack; returns its seq.
  uint64_t pub(const std::string& subject, const std::string& body = "", const std::string& headers = "") {
    json a = publish(subject, body, headers);
    INFO(a.dump());
    REQUIRE(a.contains("seq"));
    REQUIRE(!a.contains("error"));
    return a["seq"].get<uint64_t>();
  }
  json create_stream(const json& cfg) {
    json r = request("$JS.API.STREAM.CREATE." + cfg["name"].get<std::string>(), cfg.dump());
    INFO(r.dump());
    REQUIRE(!r.contains("error"));
    return r;
  }
  // CONSUMER.CREATE.<stream>[.<name>] with {"stream_name":..,"config":cfg}.
  json create_consumer(const std::string& stream, const std::string& name, const json& cfg) {
    std::string subj = "$JS.API.CONSUMER.CREATE." + stream + (name.empty() ? "" : "." + name);
    return request(subj, json({{"stream_name", stream}, {"config", cfg}}).dump());
  }
  // A durable pull consumer with explicit acks plus `extra`; REQUIREs success.
  json durable(const std::string& stream, const std::string& name, json extra = json::object()) {
    json cfg = {{"durable_name", name}, {"ack_policy", "explicit"}};
    for (auto& [k, v] : extra.items()) cfg[k] = v;
    json r = create_consumer(stream, name, cfg);
    INFO(r.dump());
    REQUIRE(!r.contains("error"));
    return r;
  }
  json info(const std::string& stream, const std::string& consumer) {
    return request("$JS.API.CONSUMER.INFO." + stream + "." + consumer);
  }
  json stream_info(const std::string& stream) { return request("$JS.API.STREAM.INFO." + stream); }

  // Sends a pull request from the pull connection; returns its reply subject. The PING/PONG
  // after it makes sure the server has read it before the test goes on.
  std::string pull(const std::string& stream, const std::string& consumer, const std::string& body = "",
                   bool flush = true) {
    std::string reply = "_INBOX.p." + std::to_string(++next_pull);
    REQUIRE(pulls.send(pub_op("$JS.API.CONSUMER.MSG.NEXT." + stream + "." + consumer, reply, body)));
    if (flush) flush_pulls();
    return reply;
  }
  std::string pull_json(const std::string& stream, const std::string& consumer, const json& body) {
    return pull(stream, consumer, body.dump());
  }
  // PING, buffering every message that arrives before the PONG.
  void flush_pulls() {
    REQUIRE(pulls.send("PING\r\n"));
    auto deadline = std::chrono::steady_clock::now() + 3s;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      REQUIRE(left.count() > 0);
      auto line = pulls.read_line(left);
      REQUIRE(line);
      if (*line == "PONG") return;
      if (line->rfind("MSG ", 0) == 0 || line->rfind("HMSG ", 0) == 0) pull_buf.push_back(parse_msg(*line));
    }
  }
  RawClient::Msg parse_msg(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    RawClient::Msg m;
    size_t hdr = 0, total = 0;
    if (f[0] == "MSG") {
      m.subject = f[1], m.sid = f[2];
      if (f.size() == 5) m.reply = f[3];
      total = std::stoul(f.back());
    } else {
      m.has_headers = true;
      m.subject = f[1], m.sid = f[2];
      if (f.size() == 6) m.reply = f[3];
      hdr = std::stoul(f[f.size() - 2]);
      total = std::stoul(f.back());
    }
    auto body = pulls.read_bytes(total + 2, 3s);
    REQUIRE(body);
    m.headers = body->substr(0, hdr);
    m.payload = body->substr(hdr, total - hdr);
    return m;
  }
  // The next message on the pull connection (delivery or status), or nullopt.
  std::optional<Delivery> next(std::chrono::milliseconds timeout = 2s) {
    if (!pull_buf.empty()) {
      auto m = pull_buf.front();
      pull_buf.pop_front();
      return to_delivery(m);
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto line = pulls.read_line(left);
      if (!line) return std::nullopt;
      if (line->rfind("MSG ", 0) == 0 || line->rfind("HMSG ", 0) == 0) return to_delivery(parse_msg(*line));
    }
  }
  // The next delivery (REQUIREd to be a message with an ack subject).
  Delivery msg(std::chrono::milliseconds timeout = 2s) {
    auto d = next(timeout);
    REQUIRE(d);
    INFO("subject " << d->subject << " reply " << d->reply << " headers " << d->headers);
    REQUIRE(d->ack_ok);
    return *d;
  }
  // The next message, REQUIREd to be a status reply; returns its header block.
  std::string status(std::chrono::milliseconds timeout = 2s) {
    auto d = next(timeout);
    if (!d) return "<none>";
    if (d->ack_ok) return "<delivery " + d->reply + ">";
    CHECK(d->payload.empty());
    return d->headers;
  }
  // True if nothing arrives on the pull connection within `quiet`.
  bool quiet(std::chrono::milliseconds quiet = 300ms) {
    auto d = next(quiet);
    if (d) UNSCOPED_INFO("unexpected: " << d->subject << " " << d->reply << " " << d->headers);
    return !d;
  }
  // Fetches `n` messages with one request (expires `exp`), REQUIRE-ing all n.
  std::vector<Delivery> fetch(const std::string& stream, const std::string& consumer, int n,
                              std::chrono::milliseconds exp = 2s) {
    pull_json(stream, consumer, {{"batch", n}, {"expires", ns(exp)}});
    std::vector<Delivery> out;
    for (int i = 0; i < n; ++i) out.push_back(msg(exp + 1s));
    return out;
  }
  // Acks with a reply subject and waits for the server's empty ack-reply, the
  // barrier before counters are checked. Returns false when no reply came.
  bool ack(const Delivery& d, const std::string& body = "+ACK") { return ack_subject(d.reply, body); }
  bool ack_subject(const std::string& ack_subject, const std::string& body = "+ACK") {
    auto m = raw_request(ack_subject, body, "", 2s);
    if (!m) return false;
    CHECK(m->payload.empty());
    CHECK(!m->has_headers);
    return true;
  }
  // Fire-and-forget ack (no reply subject).
  void ack_nowait(const Delivery& d, const std::string& body = "+ACK") { REQUIRE(api.send(pub_op(d.reply, "", body))); }

  // The next advisory: {subject, json}.
  std::optional<std::pair<std::string, json>> advisory(std::chrono::milliseconds timeout = 2s) {
    auto m = events.read_msg(timeout);
    if (!m) return std::nullopt;
    return std::make_pair(m->subject, json::parse(m->payload, nullptr, false));
  }
  // The next advisory whose subject starts with `prefix`, skipping others (created/deleted/naked).
  std::optional<json> advisory_on(const std::string& prefix, std::chrono::milliseconds timeout = 2s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto a = advisory(left);
      if (!a) return std::nullopt;
      if (a->first.rfind(prefix, 0) == 0) return a->second;
    }
  }
};

// Polls `pred` every 20 ms until it holds or `timeout` passes.
template <class F>
bool eventually(F pred, std::chrono::milliseconds timeout = 3s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

inline std::string hdrs(std::initializer_list<std::pair<const char*, std::string>> fields) {
  std::string h = "NATS/1.0\r\n";
  for (auto& [k, v] : fields) h += std::string(k) + ": " + v + "\r\n";
  return h + "\r\n";
}

// Standard base64 (STREAM.MSG.GET's "hdrs" and "data").
inline std::string b64decode(const std::string& in) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char ch : in) {
    auto pos = chars.find(ch);
    if (pos == std::string::npos) break;  // '=' padding
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

}  // namespace tern::test::js
