// Server-wide JetStream storage limits (jetstream { max_memory_store, max_file_store }) and the
// sync_interval mode, over the wire. nats-server 2.9.10 is the reference for every case but the
// sync_interval one (Tern only):
//   - a stream create (or a max_bytes increase) must fit in what the other streams' positive
//     max_bytes leave of the limit; max_bytes -1 counts as 1 byte. Refused with 10047
//     "insufficient storage resources available" (file) or 10028 "insufficient memory resources
//     available" (memory), both code 500;
//   - a publish is refused with 10023 "insufficient resources" (503) once the bytes stored in
//     streams of that storage type are already over the limit: the message that crosses the
//     limit is still taken, the next one is not, and nothing of it is stored;
//   - $JS.API.INFO reports usage (memory, storage) but the account's limits, which nats-server
//     leaves at -1 for the global account even when the server has limits.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/protocol_helpers.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

using namespace tern::test;
using json = nlohmann::json;

namespace {

std::string fresh_dir() {
  char tmpl[] = "/tmp/tern-jslimits-test-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  REQUIRE(d != nullptr);
  return d;
}

// A server started from `config` (plus -sd <fresh dir>), and a client subscribed to the inbox.
struct Js {
  std::string dir = fresh_dir();
  std::string config;
  ServerProcess server;
  RawClient c;
  int next_reply = 0;

  explicit Js(std::string conf) : config(std::move(conf)) { start(); }
  ~Js() {
    c.close();
    server.stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void start() {
    std::vector<std::string> args = with_config(config);
    args.insert(args.end(), {"-sd", dir});
    REQUIRE(server.start(args));
    REQUIRE(c.handshake(server.port()));
    REQUIRE(c.send("SUB _INBOX.l.* 1\r\n"));
  }
  void restart() {
    c.close();
    server.stop();
    start();
  }
  json request(const std::string& subject, const std::string& body = "") {
    std::string reply = "_INBOX.l." + std::to_string(++next_reply);
    REQUIRE(c.send("PUB " + subject + " " + reply + " " + std::to_string(body.size()) + "\r\n" + body + "\r\n"));
    auto m = c.read_msg(3s);
    if (!m) return json{{"<no reply>", subject}};
    CHECK(m->subject == reply);
    auto j = json::parse(m->payload, nullptr, false);
    if (j.is_discarded()) return json{{"<not json>", m->payload}};
    return j;
  }
  json create(const json& cfg) {
    return request("$JS.API.STREAM.CREATE." + cfg["name"].get<std::string>(), cfg.dump());
  }
  json update(const json& cfg) {
    return request("$JS.API.STREAM.UPDATE." + cfg["name"].get<std::string>(), cfg.dump());
  }
  json info(const std::string& name) { return request("$JS.API.STREAM.INFO." + name); }
  json account() { return request("$JS.API.INFO"); }
};

json error_of(int code, int err_code, const std::string& description) {
  return json{{"code", code}, {"err_code", err_code}, {"description", description}};
}
const json kStorageExceeded = error_of(500, 10047, "insufficient storage resources available");
const json kMemoryExceeded = error_of(500, 10028, "insufficient memory resources available");
const json kInsufficient = error_of(503, 10023, "insufficient resources");

json err(const json& reply) { return reply.value("error", json()); }
bool created(const json& reply) { return reply.value("did_create", false) && !reply.contains("error"); }
bool updated(const json& reply) {
  return reply.value("type", "") == "io.nats.jetstream.api.v1.stream_update_response" && !reply.contains("error");
}
json s(const std::string& name, const std::string& subject, int64_t max_bytes, const char* storage = "file") {
  json j = {{"name", name}, {"subjects", {subject}}, {"storage", storage}};
  if (max_bytes != 0) j["max_bytes"] = max_bytes;
  return j;
}

constexpr const char* kTight = "jetstream { max_memory_store: 1000, max_file_store: 1000 }\n";

}  // namespace

TEST_CASE("jetstream limits: stream max_bytes must fit in what the server limit leaves", "[jetstream][limits]") {
  Js js(kTight);
  CHECK(created(js.create(s("A", "a", 600))));
  CHECK(err(js.create(s("B", "b", 500))) == kStorageExceeded);  // 600 + 500 > 1000
  CHECK(created(js.create(s("C", "c", 400))));                  // 600 + 400 == 1000 fits
  // An unlimited stream still needs one byte of room.
  CHECK(err(js.create(s("D", "d", 0))) == kStorageExceeded);
  CHECK(err(js.create(s("E", "e", -1))) == kStorageExceeded);
  // The memory limit is separate from the file one.
  CHECK(err(js.create(s("M", "m", 3000, "memory"))) == kMemoryExceeded);
  CHECK(created(js.create(s("M", "m", 0, "memory"))));
  CHECK(created(js.create(s("N", "n", 999, "memory"))));
  CHECK(err(js.create(s("O", "o", 2, "memory"))) == kMemoryExceeded);
  // No stream was created by a refused request.
  json a = js.account();
  CHECK(a["streams"] == 4);
  CHECK(err(js.info("B")) == error_of(404, 10059, "stream not found"));
}

TEST_CASE("jetstream limits: the create check comes first, before config checks and the existing stream",
          "[jetstream][limits]") {
  Js js(kTight);
  CHECK(created(js.create(s("E", "e", 1000))));
  // The limit is full, so even an identical re-create is refused (nats checks the reservation
  // before it looks for an existing stream), and so is a different one.
  CHECK(err(js.create(s("E", "e", 1000))) == kStorageExceeded);
  CHECK(err(js.create(s("E", "e", 1))) == kStorageExceeded);
  // An invalid config over the limit gets the limit error, not 10052.
  json bad = s("G", "g", 1);
  bad["max_age"] = 1;  // "max age needs to be >= 100ms" when there is room
  CHECK(err(js.create(bad)) == kStorageExceeded);
  // A request that never reaches the check keeps its own error.
  CHECK(err(js.request("$JS.API.STREAM.CREATE.G", s("H", "h", 1).dump())) ==
        error_of(400, 10056, "stream name in subject does not match request"));
  // With room, the usual answers come back.
  CHECK(js.request("$JS.API.STREAM.DELETE.E").value("success", false));
  CHECK(err(js.create(bad)) == error_of(500, 10052, "max age needs to be >= 100ms"));
  // An identical re-create is answered with the stream when its max_bytes fits once more.
  CHECK(created(js.create(s("E", "e", 400))));
  CHECK(created(js.create(s("E", "e", 400))));  // 400 reserved + 400 <= 1000
  CHECK(err(js.create(s("E", "e", 1))) ==
        error_of(400, 10058, "stream name already in use with a different configuration"));
}

TEST_CASE("jetstream limits: deleting a stream gives its reservation back", "[jetstream][limits]") {
  Js js(kTight);
  CHECK(created(js.create(s("A", "a", 1000))));
  CHECK(err(js.create(s("B", "b", 1))) == kStorageExceeded);
  CHECK(js.request("$JS.API.STREAM.DELETE.A").value("success", false));
  CHECK(created(js.create(s("B", "b", 1000))));
}

TEST_CASE("jetstream limits: a max_bytes update may shrink, and may grow only into free room", "[jetstream][limits]") {
  Js js(kTight);
  CHECK(created(js.create(s("E", "e", 1000))));
  CHECK(updated(js.update(s("E", "e", 1000))));                  // unchanged
  CHECK(err(js.update(s("E", "e", 1001))) == kStorageExceeded);  // grows past the limit
  CHECK(updated(js.update(s("E", "e", 400))));
  CHECK(js.info("E")["config"]["max_bytes"] == 400);
  CHECK(created(js.create(s("G", "g", 600))));
  CHECK(err(js.create(s("H", "h", 1))) == kStorageExceeded);
  CHECK(err(js.update(s("E", "e", 401))) == kStorageExceeded);
  // An unlimited stream growing to a limit grows from -1: from -1 to 1000 needs 1001 bytes.
  CHECK(js.request("$JS.API.STREAM.DELETE.G").value("success", false));
  CHECK(created(js.create(s("U", "u", -1))));
  CHECK(err(js.update(s("U", "u", 600))) == kStorageExceeded);  // 400 + 601 > 1000
  CHECK(updated(js.update(s("U", "u", 599))));                  // 400 + 600 == 1000
}

TEST_CASE("jetstream limits: publishes are refused with 10023 once file usage is over the limit",
          "[jetstream][limits]") {
  Js js(kTight);
  REQUIRE(created(js.create(s("D", "d", 0))));
  const std::string payload(100, 'x');  // 131 bytes stored each: 7 fit, the 8th crosses 1000
  for (int i = 1; i <= 8; ++i) CHECK(js.request("d", payload) == json({{"stream", "D"}, {"seq", i}}));
  for (int i = 0; i < 3; ++i)
    CHECK(js.request("d", payload) == json({{"error", kInsufficient}, {"stream", "D"}, {"seq", 0}}));
  json st = js.info("D")["state"];
  CHECK(st["messages"] == 8);
  CHECK(st["bytes"] == 1048);
  CHECK(st["last_seq"] == 8);
  json a = js.account();
  CHECK(a["storage"] == 1048);
  CHECK(a["memory"] == 0);
  CHECK(a["limits"]["max_storage"] == -1);
  CHECK(a["limits"]["max_memory"] == -1);

  // Memory streams have their own budget, untouched by the file streams.
  // (A memory message counts subject + headers + payload + 16 bytes, as nats' memStoreMsgSize.)
  REQUIRE(created(js.create(s("M", "m", 0, "memory"))));
  const std::string big(500, 'y');  // 517 bytes each: the 2nd crosses 1000
  CHECK(js.request("m", big) == json({{"stream", "M"}, {"seq", 1}}));
  CHECK(js.request("m", big) == json({{"stream", "M"}, {"seq", 2}}));
  CHECK(js.request("m", big) == json({{"error", kInsufficient}, {"stream", "M"}, {"seq", 0}}));
  json mst = js.info("M")["state"];
  CHECK(mst["messages"] == 2);
  CHECK(mst["bytes"] == 2 * 517);
  a = js.account();
  CHECK(a["memory"] == mst["bytes"]);
  CHECK(a["memory"].get<int64_t>() > 1000);
  CHECK(a["storage"] == 1048);

  // Purging makes room again; sequences continue.
  CHECK(js.request("$JS.API.STREAM.PURGE.D").value("purged", 0) == 8);
  CHECK(js.request("d", "z") == json({{"stream", "D"}, {"seq", 9}}));
  CHECK(js.account()["storage"] == 32);
}

TEST_CASE("jetstream limits: usage and reservations are counted again after a restart", "[jetstream][limits]") {
  Js js(kTight);
  REQUIRE(created(js.create(s("R", "r", 900))));
  REQUIRE(created(js.create(s("D", "d", 0))));
  const std::string payload(100, 'x');
  for (int i = 1; i <= 8; ++i) REQUIRE(js.request("d", payload) == json({{"stream", "D"}, {"seq", i}}));
  js.restart();
  CHECK(js.account()["storage"] == 1048);
  CHECK(js.request("d", payload) == json({{"error", kInsufficient}, {"stream", "D"}, {"seq", 0}}));
  CHECK(err(js.create(s("X", "x", 101))) == kStorageExceeded);  // 900 reserved by R
  CHECK(created(js.create(s("X", "x", 100))));
}

TEST_CASE("jetstream limits: -js alone has no server limit that a modest stream hits", "[jetstream][limits]") {
  std::string dir = fresh_dir();
  ServerProcess server;
  REQUIRE(server.start({"-js", "-sd", dir}));
  RawClient c;
  REQUIRE(c.handshake(server.port()));
  REQUIRE(c.send("SUB _INBOX.x 1\r\n"));
  auto ask = [&](const std::string& subject, const std::string& body) {
    REQUIRE(c.send("PUB " + subject + " _INBOX.x " + std::to_string(body.size()) + "\r\n" + body + "\r\n"));
    auto m = c.read_msg(3s);
    REQUIRE(m);
    return json::parse(m->payload);
  };
  constexpr int64_t k100MiB = 100LL << 20;
  CHECK(created(ask("$JS.API.STREAM.CREATE.F", s("F", "f", k100MiB).dump())));
  CHECK(created(ask("$JS.API.STREAM.CREATE.M", s("M", "m", k100MiB, "memory").dump())));
  CHECK(ask("f", "hello") == json({{"stream", "F"}, {"seq", 1}}));
  json a = ask("$JS.API.INFO", "");
  CHECK(a["limits"]["max_memory"] == -1);
  CHECK(a["limits"]["max_storage"] == -1);
  CHECK(a["storage"] == 1 + 5 + 22 + 8);
  c.close();
  server.stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST_CASE("jetstream: sync_interval mode acks publishes and keeps them over a clean restart (Tern)",
          "[jetstream][sync_interval]") {
  if (!is_tern()) return;  // nats-server's sync_interval is a different (2.10) feature
  Js js("jetstream { sync_interval: \"200ms\" }\n");
  REQUIRE(created(js.create(s("S", "s.>", 0))));
  constexpr int kMsgs = 300;
  for (int i = 1; i <= kMsgs; ++i)
    REQUIRE(js.request("s." + std::to_string(i % 7), "m" + std::to_string(i)) == json({{"stream", "S"}, {"seq", i}}));
  js.restart();
  json st = js.info("S")["state"];
  CHECK(st["messages"] == kMsgs);
  CHECK(st["first_seq"] == 1);
  CHECK(st["last_seq"] == kMsgs);
  json last = js.request("$JS.API.STREAM.MSG.GET.S", R"({"seq":300})");
  REQUIRE(last.contains("message"));
  CHECK(last["message"]["subject"] == "s.6");
  CHECK(last["message"]["data"] == "bTMwMA==");  // base64("m300")
  // And the stream keeps taking writes after the restart.
  CHECK(js.request("s.1", "again") == json({{"stream", "S"}, {"seq", kMsgs + 1}}));
}
