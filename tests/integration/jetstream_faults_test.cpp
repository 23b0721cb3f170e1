// Disk faults under a real server (the streams issue: "a full disk (ENOSPC) or EIO on write: the
// publisher gets an error, the stream stays consistent"), and the memory store's byte accounting.
//
// The faults come from tern-server's test-only hook (server/stream/fault_injection.h: the
// TERN_TEST_FAULTS variable, compiled in when CMake's TERN_FAULT_INJECTION is on, as in the
// sanitizer test build), so those cases are Tern-only: nats-server has no such hook. They are
// skipped, with a warning, when this build has no hook. The byte-accounting case runs against both.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

using namespace tern::test;
using json = nlohmann::json;

namespace {

std::string fresh_dir() {
  char tmpl[] = "/tmp/tern-faults-test-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  REQUIRE(d != nullptr);
  return d;
}

// True when the server under test can inject disk faults.
bool fault_hook_available() {
  if (!is_tern()) return false;  // nats-server has no fault hook; nothing to compare against
#ifdef TERN_FAULT_INJECTION
  return true;
#else
  WARN("tern-server built without TERN_FAULT_INJECTION: disk-fault case skipped");
  return false;
#endif
}

// A JetStream server on a fresh store dir, started with TERN_TEST_FAULTS=`faults` (empty: none;
// "{dir}" stands for the store dir), and a client subscribed to the reply inbox.
struct Js {
  std::string dir = fresh_dir();
  ServerProcess server;
  RawClient c;
  int next_reply = 0;

  explicit Js(const std::string& faults = "") { start(faults); }
  ~Js() {
    c.close();
    server.stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void start(std::string faults) {
    for (size_t at; (at = faults.find("{dir}")) != std::string::npos;) faults.replace(at, 5, dir);
    server.set_env("TERN_TEST_FAULTS", faults);
    REQUIRE(server.start({"-js", "-sd", dir}));
    c.close();
    REQUIRE(c.handshake(server.port()));
    REQUIRE(c.send("SUB _INBOX.t.* 1\r\n"));
  }
  void restart(const std::string& faults) {
    c.close();
    server.stop();
    start(faults);
  }

  static std::string pub_op(const std::string& subject, const std::string& reply, const std::string& body,
                            const std::string& headers) {
    if (headers.empty())
      return "PUB " + subject + " " + reply + " " + std::to_string(body.size()) + "\r\n" + body + "\r\n";
    return "HPUB " + subject + " " + reply + " " + std::to_string(headers.size()) + " " +
           std::to_string(headers.size() + body.size()) + "\r\n" + headers + body + "\r\n";
  }
  static json parse(const std::string& payload) {
    auto j = json::parse(payload, nullptr, false);
    return j.is_discarded() ? json{{"<not json>", payload}} : j;
  }

  // One request; its reply's JSON, or {"<no reply>": subject} after 3 s.
  json request(const std::string& subject, const std::string& body = "", const std::string& headers = "") {
    std::string reply = "_INBOX.t." + std::to_string(++next_reply);
    REQUIRE(c.send(pub_op(subject, reply, body, headers)));
    auto m = c.read_msg(3s);
    if (!m) return json{{"<no reply>", subject}};
    CHECK(m->subject == reply);
    return parse(m->payload);
  }
  // Several publishes in ONE write, so the server takes them in one loop turn (one group commit);
  // the replies in publish order ({"<no reply>":…} where none came).
  std::vector<json> burst(const std::string& subject, const std::vector<std::string>& bodies) {
    std::string ops;
    std::vector<std::string> replies;
    for (const auto& b : bodies) {
      replies.push_back("_INBOX.t." + std::to_string(++next_reply));
      ops += pub_op(subject, replies.back(), b, "");
    }
    REQUIRE(c.send(ops));
    std::map<std::string, json> got;
    for (size_t i = 0; i < bodies.size(); ++i) {
      auto m = c.read_msg(3s);
      if (!m) break;
      got[m->subject] = parse(m->payload);
    }
    std::vector<json> out;
    for (const auto& r : replies) out.push_back(got.count(r) ? got[r] : json{{"<no reply>", subject}});
    return out;
  }
  json create(const json& cfg) {
    return request("$JS.API.STREAM.CREATE." + cfg["name"].get<std::string>(), cfg.dump());
  }
  json info(const std::string& name) { return request("$JS.API.STREAM.INFO." + name); }
  // The payload stored at seq, or "<error N>".
  std::string get(const std::string& stream, uint64_t seq) {
    json r = request("$JS.API.STREAM.MSG.GET." + stream, json{{"seq", seq}}.dump());
    if (r.contains("error")) return "<error " + std::to_string(r["error"].value("err_code", 0)) + ">";
    std::string data = r["message"].value("data", "");
    return base64_decode(data);
  }
  static std::string base64_decode(const std::string& in) {
    static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (char ch : in) {
      size_t v = kAlphabet.find(ch);
      if (v == std::string::npos) continue;  // '=' padding
      acc = (acc << 6) | static_cast<uint32_t>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push_back(static_cast<char>((acc >> bits) & 0xFF));
      }
    }
    return out;
  }
};

json ack(const std::string& stream, uint64_t seq) { return json{{"stream", stream}, {"seq", seq}}; }
bool is_store_failure(const json& reply, const std::string& stream, const std::string& io_error) {
  return reply.contains("error") && reply["error"].value("code", 0) == 503 &&
         reply["error"].value("err_code", 0) == 10077 &&
         reply["error"].value("description", "").find(io_error) != std::string::npos && reply["stream"] == stream &&
         reply["seq"] == 0;
}
// A 100-byte payload that names its publish.
std::string body(int i) {
  std::string b = "msg-" + std::to_string(i) + "-";
  b.resize(100, 'x');
  return b;
}

// The rest of the server is unaffected: core pub/sub, a memory stream and a file stream whose
// files are outside the faulted path all keep working.
void check_rest_of_server_works(Js& js) {
  REQUIRE(js.c.send("SUB core.x 7\r\nPUB core.x 2\r\nok\r\n"));
  auto m = js.c.read_msg(3s);
  REQUIRE(m);
  CHECK(m->subject == "core.x");
  CHECK(m->payload == "ok");
  CHECK(js.request("mem.x", "m") == ack("MEM", 1));
  CHECK(js.request("other.x", "o") == ack("OTHER", 1));
}

void create_streams(Js& js) {
  REQUIRE(!js.create({{"name", "DISK"}, {"subjects", {"disk.>"}}}).contains("error"));
  REQUIRE(!js.create({{"name", "OTHER"}, {"subjects", {"other.>"}}}).contains("error"));
  REQUIRE(!js.create({{"name", "MEM"}, {"subjects", {"mem.>"}}, {"storage", "memory"}}).contains("error"));
}

}  // namespace

TEST_CASE("jetstream faults: a full disk fails the publish with 10077, fails closed, recovers on restart",
          "[jetstream][faults]") {
  if (!fault_hook_available()) return;
  // Only DISK's block files see the fault; 3000 bytes hold about 21 records of ~138 bytes.
  Js js("enospc_after_bytes=3000,path=/streams/DISK/");
  create_streams(js);
  CHECK(js.server.log().find("TEST FAULT INJECTION armed") != std::string::npos);

  // One publish at a time, each acked only once fsynced, until the disk is full.
  int acked = 0;
  json failed;
  for (int i = 1; i <= 60 && failed.is_null(); ++i) {
    json r = js.request("disk.x", body(i));
    if (r.contains("error") || r.contains("<no reply>")) {
      failed = r;
    } else {
      REQUIRE(r == ack("DISK", static_cast<uint64_t>(i)));
      acked = i;
    }
  }
  INFO("acked " << acked << ", then " << failed.dump());
  REQUIRE(!failed.is_null());
  CHECK(acked >= 10);
  // The publish that hit ENOSPC gets an answer, and it says why.
  CHECK(is_store_failure(failed, "DISK", "No space left on device"));
  // Fail closed: later publishes are refused too, never silently taken.
  for (int i = 0; i < 3; ++i) CHECK(is_store_failure(js.request("disk.x", "late"), "DISK", "No space left on device"));

  // STREAM.INFO answers during the fault; every acknowledged message is readable, and only
  // those: the refused ones never reached the file, so they are not counted either.
  json info = js.info("DISK");
  REQUIRE(info.contains("state"));
  json st = info["state"];
  CHECK(st["messages"].get<int>() == acked);
  for (int i = 1; i <= acked; ++i) CHECK(js.get("DISK", static_cast<uint64_t>(i)) == body(i));
  check_rest_of_server_works(js);

  // A restart without the fault: exactly the acknowledged messages, and writes are taken again.
  js.restart("");
  st = js.info("DISK")["state"];
  CHECK(st["messages"] == acked);
  CHECK(st["last_seq"] == acked);
  for (int i = 1; i <= acked; ++i) CHECK(js.get("DISK", static_cast<uint64_t>(i)) == body(i));
  CHECK(js.request("disk.x", "after") == ack("DISK", static_cast<uint64_t>(acked + 1)));
  CHECK(js.get("DISK", static_cast<uint64_t>(acked + 1)) == "after");
}

TEST_CASE("jetstream faults: EIO on write fails closed like a full disk", "[jetstream][faults]") {
  if (!fault_hook_available()) return;
  Js js("eio_on_write_after_bytes=1500,path=/streams/DISK/");
  create_streams(js);
  int acked = 0;
  json failed;
  for (int i = 1; i <= 60 && failed.is_null(); ++i) {
    json r = js.request("disk.x", body(i));
    if (r.contains("error") || r.contains("<no reply>")) {
      failed = r;
    } else {
      REQUIRE(r == ack("DISK", static_cast<uint64_t>(i)));
      acked = i;
    }
  }
  INFO("acked " << acked << ", then " << failed.dump());
  REQUIRE(!failed.is_null());
  CHECK(acked >= 5);
  CHECK(is_store_failure(failed, "DISK", "Input/output error"));
  CHECK(is_store_failure(js.request("disk.x", "late"), "DISK", "Input/output error"));
  check_rest_of_server_works(js);
  js.restart("");
  CHECK(js.info("DISK")["state"]["messages"] == acked);
  CHECK(js.request("disk.x", "after") == ack("DISK", static_cast<uint64_t>(acked + 1)));
}

TEST_CASE("jetstream faults: EIO on fdatasync errors the whole group commit", "[jetstream][faults]") {
  if (!fault_hook_available()) return;
  // Every fsync of DISK's files fails once {dir}/arm exists.
  Js js("eio_on_sync_after=0,path=/streams/DISK/,arm_file={dir}/arm");
  create_streams(js);
  for (int i = 1; i <= 3; ++i) REQUIRE(js.request("disk.x", body(i)) == ack("DISK", static_cast<uint64_t>(i)));
  std::ofstream(js.dir + "/arm") << "1";

  // Five publishes in one write share one group commit; its fsync fails, so none is acked.
  std::vector<std::string> bodies;
  for (int i = 4; i <= 8; ++i) bodies.push_back(body(i));
  auto replies = js.burst("disk.x", bodies);
  for (const json& r : replies) CHECK(is_store_failure(r, "DISK", "Input/output error"));
  // Fail closed.
  CHECK(is_store_failure(js.request("disk.x", "late"), "DISK", "Input/output error"));
  json during = js.info("DISK");
  REQUIRE(during.contains("state"));
  for (int i = 1; i <= 3; ++i) CHECK(js.get("DISK", static_cast<uint64_t>(i)) == body(i));
  check_rest_of_server_works(js);

  // What a user sees afterwards: an error reply means "not known to be durable", not "not
  // stored". The burst's records reached the file before the fsync failed (as with a real EIO,
  // where the page cache still holds them), so a restart finds them: seqs 4..8 with exactly the
  // bytes their publishers sent, nothing else, nothing torn; the refused "late" publish consumed
  // no sequence. The acknowledged ones are there whatever happened.
  js.restart("");
  json st = js.info("DISK")["state"];
  CHECK(st["messages"] == 8);
  CHECK(st["last_seq"] == 8);
  CHECK(during["state"]["messages"] == 8);  // the same during the fault as after the restart
  CHECK(during["state"]["last_seq"] == 8);
  for (int i = 1; i <= 8; ++i) CHECK(js.get("DISK", static_cast<uint64_t>(i)) == body(i));
  CHECK(js.request("disk.x", "after") == ack("DISK", 9));
}

TEST_CASE("jetstream faults: a fault cleared at runtime leaves the stream failed until a restart",
          "[jetstream][faults]") {
  if (!fault_hook_available()) return;
  // path matches DISK and DISK2.
  Js js("eio_on_sync_after=0,path=/streams/DISK,arm_file={dir}/arm,clear_file={dir}/clear");
  create_streams(js);
  REQUIRE(js.request("disk.x", body(1)) == ack("DISK", 1));
  std::ofstream(js.dir + "/arm") << "1";
  CHECK(is_store_failure(js.request("disk.x", body(2)), "DISK", "Input/output error"));
  // The disk is healthy again, but a store that saw an I/O error stays closed for writes: it
  // cannot know what reached the disk. Reads still work.
  std::ofstream(js.dir + "/clear") << "1";
  CHECK(is_store_failure(js.request("disk.x", "late"), "DISK", "Input/output error"));
  CHECK(js.get("DISK", 1) == body(1));
  // A stream created now on the same (faultable) path works: the fault is gone.
  REQUIRE(!js.create({{"name", "DISK2"}, {"subjects", {"disk2.>"}}}).contains("error"));
  CHECK(js.request("disk2.x", "ok") == ack("DISK2", 1));
  CHECK(js.server.log().find("TEST FAULT INJECTION cleared") != std::string::npos);
  // As after a failed group commit: the record reached the file, so the restart finds it.
  js.restart("");
  CHECK(js.info("DISK")["state"]["messages"] == 2);
  CHECK(js.get("DISK", 2) == body(2));
  CHECK(js.request("disk.x", "after") == ack("DISK", 3));
}

// A publish whose record could not be written (ENOSPC) gets 10077 and is not visible as stored:
// the index shows what a restart will find, so no sequence ever names two different messages.
TEST_CASE("jetstream faults: a publish refused for ENOSPC is never visible as stored",
          "[jetstream][faults]") {
  if (!fault_hook_available()) return;
  Js js("enospc_after_bytes=0,path=/streams/DISK/,arm_file={dir}/arm");
  create_streams(js);
  REQUIRE(js.request("disk.x", body(1)) == ack("DISK", 1));
  REQUIRE(js.request("disk.x", body(2)) == ack("DISK", 2));
  std::ofstream(js.dir + "/arm") << "1";
  REQUIRE(is_store_failure(js.request("disk.x", body(3)), "DISK", "No space left on device"));
  json st = js.info("DISK")["state"];
  CHECK(st["messages"] == 2);
  CHECK(st["last_seq"] == 2);
  CHECK(js.get("DISK", 3) == "<error 10037>");
  js.restart("");
  CHECK(js.info("DISK")["state"]["last_seq"] == 2);
}

// Both servers: a memory stream counts a message as nats' memStoreMsgSize does (subject + headers +
// payload + 16), a file stream as fileStoreMsgSize (22 + subject + [4 + headers] + payload + 8).
TEST_CASE("jetstream: memory and file streams report bytes as nats-server does", "[jetstream]") {
  Js js;
  REQUIRE(!js.create({{"name", "M"}, {"subjects", {"m.>"}}, {"storage", "memory"}}).contains("error"));
  REQUIRE(!js.create({{"name", "F"}, {"subjects", {"f.>"}}}).contains("error"));
  const std::string hdrs = "NATS/1.0\r\nA: b\r\n\r\n";  // 18 bytes
  for (const char* prefix : {"m", "f"}) {
    std::string s = std::string(prefix) + ".abc";  // 5 bytes
    REQUIRE(!js.request(s, "hello").contains("error"));
    REQUIRE(!js.request(s, "").contains("error"));
    REQUIRE(!js.request(s, "payload!", hdrs).contains("error"));
  }
  json m = js.info("M")["state"];
  CHECK(m["messages"] == 3);
  CHECK(m["bytes"] == (5 + 5 + 16) + (5 + 0 + 16) + (5 + 18 + 8 + 16));
  json f = js.info("F")["state"];
  CHECK(f["messages"] == 3);
  CHECK(f["bytes"] == (22 + 5 + 5 + 8) + (22 + 5 + 0 + 8) + (22 + 5 + 4 + 18 + 8 + 8));
  // max_bytes counts the same way: 3 messages of 5 + 10 + 16 = 31 bytes fit in 93, a 4th evicts.
  REQUIRE(!js.create({{"name", "L"}, {"subjects", {"l.>"}}, {"storage", "memory"}, {"max_bytes", 93}})
               .contains("error"));
  for (int i = 0; i < 4; ++i) REQUIRE(!js.request("l.abc", "0123456789").contains("error"));
  json l = js.info("L")["state"];
  CHECK(l["messages"] == 3);
  CHECK(l["bytes"] == 93);
  CHECK(l["first_seq"] == 2);
}
