// JetStream streams over the wire (jetstream-api spec sections 4, 5 and 7; semantics R-1, R-3,
// R-4, R-5, R-11, R-12): raw JSON requests to $JS.API.*, answers compared field by field.
// Every case runs against tern-server and nats-server 2.9.10 (both started with -js -sd <dir>);
// Tern-only behaviour (compression, fsync-before-ack) is guarded with is_tern().
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/protocol_helpers.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

using namespace tern::test;
using json = nlohmann::json;

namespace {

std::string fresh_dir() {
  char tmpl[] = "/tmp/tern-js-test-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  REQUIRE(d != nullptr);
  return d;
}

// A server with JetStream on a fresh store dir, and a client subscribed to the reply inbox.
struct Js {
  std::string dir = fresh_dir();
  ServerProcess server;
  RawClient c;
  int next_reply = 0;

  Js() {
    REQUIRE(server.start({"-js", "-sd", dir}));
    connect_client();
  }
  ~Js() {
    c.close();
    server.stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void connect_client() {
    c.close();
    REQUIRE(c.handshake(server.port()));
    REQUIRE(c.send("SUB _INBOX.t.* 1\r\n"));
  }
  void restart() {
    c.close();
    server.stop();
    REQUIRE(server.start({"-js", "-sd", dir}));
    connect_client();
  }

  // PUB (or HPUB when `headers` is given) with a fresh reply subject; the reply's JSON.
  json request(const std::string& subject, const std::string& body = "", const std::string& headers = "") {
    std::string reply = "_INBOX.t." + std::to_string(++next_reply);
    std::string op;
    if (headers.empty()) {
      op = "PUB " + subject + " " + reply + " " + std::to_string(body.size()) + "\r\n" + body + "\r\n";
    } else {
      op = "HPUB " + subject + " " + reply + " " + std::to_string(headers.size()) + " " +
           std::to_string(headers.size() + body.size()) + "\r\n" + headers + body + "\r\n";
    }
    REQUIRE(c.send(op));
    auto m = c.read_msg(3s);
    if (!m) return json{{"<no reply>", subject}};
    CHECK(m->subject == reply);
    auto j = json::parse(m->payload, nullptr, false);
    if (j.is_discarded()) return json{{"<not json>", m->payload}};
    return j;
  }
  json create(const std::string& name, const json& cfg) { return request("$JS.API.STREAM.CREATE." + name, cfg.dump()); }
  json info(const std::string& name, const std::string& body = "") { return request("$JS.API.STREAM.INFO." + name, body); }
  json publish(const std::string& subject, const std::string& body, const std::string& headers = "") {
    return request(subject, body, headers);
  }
};

std::string hdr(std::initializer_list<std::pair<const char*, std::string>> fields) {
  std::string h = "NATS/1.0\r\n";
  for (auto& [k, v] : fields) h += std::string(k) + ": " + v + "\r\n";
  return h + "\r\n";
}

json ack(const std::string& stream, uint64_t seq) { return json{{"stream", stream}, {"seq", seq}}; }
json dup_ack(const std::string& stream, uint64_t seq) {
  return json{{"stream", stream}, {"seq", seq}, {"duplicate", true}};
}
// The pub-ack error shape: {"error":{...},"stream":S,"seq":0}.
json ack_error(const std::string& stream, int code, int err_code, const std::string& description) {
  return json{{"error", {{"code", code}, {"err_code", err_code}, {"description", description}}},
              {"stream", stream},
              {"seq", 0}};
}
json api_err(const json& reply) { return reply.value("error", json()); }
int err_code(const json& reply) { return reply.contains("error") ? reply["error"].value("err_code", 0) : 0; }

}  // namespace

TEST_CASE("jetstream: INFO advertises jetstream and $JS.API.INFO answers", "[jetstream]") {
  Js js;
  RawClient probe;
  std::string info;
  REQUIRE(probe.connect_and_read_info(js.server.port(), &info));
  CHECK(json::parse(info).value("jetstream", false) == true);
  json r = js.request("$JS.API.INFO");
  CHECK(r["type"] == "io.nats.jetstream.api.v1.account_info_response");
  CHECK(r["streams"] == 0);
  CHECK(r["consumers"] == 0);
  CHECK(r["limits"]["max_streams"] == -1);
  CHECK(r["api"].contains("total"));
}

TEST_CASE("jetstream: without -js, $JS.API requests get no responders", "[jetstream]") {
  ServerProcess s;
  REQUIRE(s.start());
  RawClient c;
  REQUIRE(c.handshake(s.port()));
  REQUIRE(c.send("SUB _INBOX.x 1\r\nPUB $JS.API.INFO _INBOX.x 0\r\n\r\n"));
  auto m = c.read_msg();
  REQUIRE(m);
  CHECK(m->headers.rfind("NATS/1.0 503", 0) == 0);
}

TEST_CASE("jetstream: stream create, info, names, list, update, delete", "[jetstream]") {
  Js js;
  json r = js.create("ORDERS", {{"name", "ORDERS"}, {"subjects", {"orders.*"}}});
  CHECK(r["type"] == "io.nats.jetstream.api.v1.stream_create_response");
  CHECK(r["did_create"] == true);
  json cfg = r["config"];
  CHECK(cfg["name"] == "ORDERS");
  CHECK(cfg["subjects"] == json({"orders.*"}));
  CHECK(cfg["retention"] == "limits");
  CHECK(cfg["max_consumers"] == -1);
  CHECK(cfg["max_msgs"] == -1);
  CHECK(cfg["max_bytes"] == -1);
  CHECK(cfg["max_age"] == 0);
  CHECK(cfg["max_msgs_per_subject"] == -1);
  CHECK(cfg["max_msg_size"] == -1);
  CHECK(cfg["discard"] == "old");
  CHECK(cfg["storage"] == "file");
  CHECK(cfg["num_replicas"] == 1);
  CHECK(cfg["duplicate_window"] == 120000000000LL);
  CHECK(cfg["sealed"] == false);
  CHECK(cfg["deny_delete"] == false);
  CHECK(cfg["deny_purge"] == false);
  CHECK(cfg["allow_rollup_hdrs"] == false);
  CHECK(r["state"]["messages"] == 0);
  CHECK(r["state"]["first_seq"] == 0);
  CHECK(r["state"]["last_seq"] == 0);
  CHECK(r["state"]["first_ts"] == "0001-01-01T00:00:00Z");
  CHECK(r["state"]["consumer_count"] == 0);

  // Idempotent create: same config (0 and -1 both mean unlimited) answers the existing stream.
  r = js.create("ORDERS", {{"name", "ORDERS"}, {"subjects", {"orders.*"}}, {"max_msgs", 0}});
  CHECK(r["did_create"] == true);
  CHECK(!r.contains("error"));

  r = js.create("EVENTS", {{"name", "EVENTS"}, {"storage", "memory"}});
  CHECK(r["config"]["subjects"] == json({"EVENTS"}));
  CHECK(r["config"]["storage"] == "memory");

  r = js.info("ORDERS");
  CHECK(r["type"] == "io.nats.jetstream.api.v1.stream_info_response");
  CHECK(r["config"]["name"] == "ORDERS");
  CHECK(r.value("total", 0) == 0);  // a plain INFO must not page (nats.go loops on total)

  r = js.request("$JS.API.STREAM.NAMES");
  CHECK(r["type"] == "io.nats.jetstream.api.v1.stream_names_response");
  CHECK(r["total"] == 2);
  CHECK(r["limit"] == 1024);
  CHECK(r["streams"] == json({"EVENTS", "ORDERS"}));
  r = js.request("$JS.API.STREAM.NAMES", R"({"subject":"orders.new"})");
  CHECK(r["streams"] == json({"ORDERS"}));
  r = js.request("$JS.API.STREAM.NAMES", R"({"subject":"nothing"})");
  CHECK(r["total"] == 0);
  CHECK((r["streams"].is_null() || r["streams"] == json::array()));
  r = js.request("$JS.API.STREAM.NAMES", R"({"offset":1})");
  CHECK(r["streams"] == json({"ORDERS"}));
  CHECK(r["offset"] == 1);

  r = js.request("$JS.API.STREAM.LIST");
  CHECK(r["type"] == "io.nats.jetstream.api.v1.stream_list_response");
  CHECK(r["total"] == 2);
  CHECK(r["limit"] == 256);
  REQUIRE(r["streams"].size() == 2);
  CHECK(r["streams"][0]["config"]["name"] == "EVENTS");
  CHECK(r["streams"][1]["state"]["messages"] == 0);

  r = js.request("$JS.API.STREAM.UPDATE.ORDERS",
                 json({{"name", "ORDERS"}, {"subjects", {"orders.*", "returns"}}, {"max_msgs", 5}}).dump());
  CHECK(r["type"] == "io.nats.jetstream.api.v1.stream_update_response");
  CHECK(r["config"]["subjects"] == json({"orders.*", "returns"}));
  CHECK(r["config"]["max_msgs"] == 5);
  CHECK(js.publish("returns", "x") == ack("ORDERS", 1));

  r = js.request("$JS.API.STREAM.DELETE.EVENTS");
  CHECK(r == json({{"type", "io.nats.jetstream.api.v1.stream_delete_response"}, {"success", true}}));
  r = js.request("$JS.API.STREAM.NAMES");
  CHECK(r["streams"] == json({"ORDERS"}));
  // A deleted stream's subjects are no longer captured: the publish gets no responders.
  REQUIRE(js.c.send("PUB EVENTS _INBOX.t.x 1\r\nx\r\n"));
  auto m = js.c.read_msg();
  REQUIRE(m);
  CHECK(m->headers.rfind("NATS/1.0 503", 0) == 0);
}

TEST_CASE("jetstream: API error codes", "[jetstream]") {
  Js js;
  REQUIRE(!js.create("S", {{"name", "S"}, {"subjects", {"s.>"}}}).contains("error"));
  struct Case {
    std::string subject, body;
    int code, err_code;
    std::string description;  // empty: not compared
  };
  std::vector<Case> cases = {
      {"$JS.API.STREAM.CREATE.T", "", 400, 10025, "invalid JSON"},
      {"$JS.API.STREAM.CREATE.T", "{not json", 400, 10025, "invalid JSON"},
      {"$JS.API.STREAM.CREATE.T", "[1,2]", 400, 10025, "invalid JSON"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","subjects":"t"})", 400, 10025, "invalid JSON"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","max_msgs":"5"})", 400, 10025, "invalid JSON"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","max_msgs":1.5})", 400, 10025, "invalid JSON"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","max_msgs":99999999999999999999999999})", 400, 10025,
       "invalid JSON"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","max_msg_size":3000000000})", 400, 10025, "invalid JSON"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","retention":"forever"})", 400, 10025, "invalid JSON"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","storage":"disk"})", 400, 10025, "invalid JSON"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"U"})", 400, 10056, "stream name in subject does not match request"},
      {"$JS.API.STREAM.CREATE.a\\b", R"({"name":"a\\b"})", 400, 10128, "Stream name can not contain path separators"},
      {"$JS.API.STREAM.CREATE.S", R"({"name":"S","subjects":["other"]})", 400, 10058,
       "stream name already in use with a different configuration"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","subjects":["s.a"]})", 400, 10065,
       "subjects overlap with an existing stream"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","subjects":["$JS.API.STREAM.x"]})", 500, 10052,
       "subjects overlap with jetstream api"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","subjects":["a b"]})", 500, 10052, "invalid subject"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","subjects":["t","t"]})", 500, 10052, "duplicate subjects detected"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","max_age":5})", 500, 10052, "max age needs to be >= 100ms"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","sealed":true})", 500, 10052,
       "stream configuration for create can not be sealed"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","deny_purge":true,"allow_rollup_hdrs":true})", 500, 10052,
       "roll-ups require the purge permission"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","num_replicas":3})", 500, 10074,
       "replicas > 1 not supported in non-clustered mode"},
      {"$JS.API.STREAM.CREATE.T", R"({"name":"T","num_replicas":-1})", 400, 10133, "replicas count cannot be negative"},
      {"$JS.API.STREAM.INFO.NOPE", "", 404, 10059, "stream not found"},
      {"$JS.API.STREAM.INFO.S", "{bad", 400, 10025, "invalid JSON"},
      {"$JS.API.STREAM.DELETE.NOPE", "", 404, 10059, "stream not found"},
      {"$JS.API.STREAM.DELETE.S", R"({"x":1})", 400, 10038, "expected an empty request payload"},
      {"$JS.API.STREAM.UPDATE.NOPE", R"({"name":"NOPE"})", 404, 10059, "stream not found"},
      {"$JS.API.STREAM.UPDATE.S", R"({"name":"S","subjects":["s.>"],"storage":"memory"})", 500, 10052,
       "stream configuration update can not change storage type"},
      {"$JS.API.STREAM.UPDATE.S", R"({"name":"S","subjects":["s.>"],"retention":"workqueue"})", 500, 10052,
       "stream configuration update can not change retention policy"},
      {"$JS.API.STREAM.PURGE.S", R"({"seq":2,"keep":1})", 400, 10003, "bad request"},
      {"$JS.API.STREAM.PURGE.NOPE", "", 404, 10059, "stream not found"},
      {"$JS.API.STREAM.MSG.GET.S", "", 400, 10003, "bad request"},
      {"$JS.API.STREAM.MSG.GET.S", R"({"seq":1,"last_by_subj":"s.a"})", 400, 10003, "bad request"},
      {"$JS.API.STREAM.MSG.GET.S", R"({"seq":9})", 404, 10037, "no message found"},
      {"$JS.API.STREAM.MSG.GET.NOPE", R"({"seq":1})", 404, 10059, "stream not found"},
      {"$JS.API.STREAM.MSG.DELETE.S", "", 400, 10003, "bad request"},
      {"$JS.API.STREAM.MSG.DELETE.S", R"({"seq":9})", 500, 10057, ""},
  };
  for (const Case& k : cases) {
    INFO(k.subject << " " << k.body);
    json r = js.request(k.subject, k.body);
    REQUIRE(r.contains("error"));
    CHECK(r["error"]["code"] == k.code);
    CHECK(r["error"]["err_code"] == k.err_code);
    if (!k.description.empty()) CHECK(r["error"]["description"] == k.description);
  }
  // Names with '.', '*', '>' cannot reach the subject token; in the body they fail validation.
  json r = js.create("T", {{"name", "T"}, {"subjects", {"t"}}, {"description", std::string(5000, 'x')}});
  CHECK(err_code(r) == 10052);
  // The server is still fine after all of that.
  CHECK(js.publish("s.a", "ok") == ack("S", 1));
}

TEST_CASE("jetstream: publish gets the exact pub ack and core subscribers still get the message", "[jetstream]") {
  Js js;
  REQUIRE(!js.create("S", {{"name", "S"}, {"subjects", {"s.*"}}}).contains("error"));
  REQUIRE(js.c.send("SUB s.a 9\r\n"));
  REQUIRE(js.c.send("PUB s.a _INBOX.t.raw 5\r\nhello\r\n"));
  // Two messages come: the core copy on sid 9 and the pub ack; order between them is free.
  std::string raw_ack;
  bool got_copy = false;
  for (int i = 0; i < 2; ++i) {
    auto m = js.c.read_msg();
    REQUIRE(m);
    if (m->sid == "9") {
      got_copy = m->payload == "hello";
    } else {
      raw_ack = m->payload;
    }
  }
  CHECK(got_copy);
  CHECK(raw_ack == R"({"stream":"S", "seq":1})");  // byte for byte as nats-server
  CHECK(js.publish("s.b", "x") == ack("S", 2));
  json r = js.info("S");
  CHECK(r["state"]["messages"] == 2);
  CHECK(r["state"]["bytes"] == 2 * 22 + 3 + 5 + 8 + 3 + 1 + 8);  // fileStoreMsgSize
  CHECK(r["state"]["last_seq"] == 2);
  CHECK(r["state"]["num_subjects"] == 2);
}

TEST_CASE("jetstream: Nats-Msg-Id deduplicates inside the window", "[jetstream]") {
  Js js;
  REQUIRE(!js.create("S", {{"name", "S"}, {"subjects", {"s"}}, {"duplicate_window", 500000000}}).contains("error"));
  CHECK(js.publish("s", "a", hdr({{"Nats-Msg-Id", "1"}})) == ack("S", 1));
  CHECK(js.publish("s", "a", hdr({{"Nats-Msg-Id", "1"}})) == dup_ack("S", 1));
  CHECK(js.publish("s", "b", hdr({{"Nats-Msg-Id", "2"}})) == ack("S", 2));
  CHECK(js.publish("s", "a", hdr({{"Nats-Msg-Id", "1"}})) == dup_ack("S", 1));
  CHECK(js.info("S")["state"]["messages"] == 2);
  // R-4.2: once the window passed, the id is new again.
  ::usleep(700 * 1000);
  CHECK(js.publish("s", "a", hdr({{"Nats-Msg-Id", "1"}})) == ack("S", 3));
}

TEST_CASE("jetstream: expected-* headers and rollup", "[jetstream]") {
  Js js;
  REQUIRE(!js.create("S", {{"name", "S"}, {"subjects", {"s.*"}}, {"allow_rollup_hdrs", true}}).contains("error"));
  CHECK(js.publish("s.a", "1", hdr({{"Nats-Msg-Id", "m1"}})) == ack("S", 1));
  CHECK(js.publish("s.a", "x", hdr({{"Nats-Expected-Stream", "OTHER"}})) ==
        ack_error("S", 400, 10060, "expected stream does not match"));
  CHECK(js.publish("s.a", "x", hdr({{"Nats-Expected-Last-Sequence", "7"}})) ==
        ack_error("S", 400, 10071, "wrong last sequence: 1"));
  CHECK(js.publish("s.b", "2", hdr({{"Nats-Expected-Last-Sequence", "1"}})) == ack("S", 2));
  CHECK(js.publish("s.a", "x", hdr({{"Nats-Expected-Last-Subject-Sequence", "2"}})) ==
        ack_error("S", 400, 10071, "wrong last sequence: 1"));
  CHECK(js.publish("s.c", "3", hdr({{"Nats-Expected-Last-Subject-Sequence", "0"}})) == ack("S", 3));
  CHECK(js.publish("s.a", "x", hdr({{"Nats-Expected-Last-Msg-Id", "m1"}})) ==
        ack_error("S", 400, 10070, "wrong last msg ID: "));
  CHECK(js.publish("s.a", "4", hdr({{"Nats-Msg-Id", "m4"}})) == ack("S", 4));
  CHECK(js.publish("s.a", "5", hdr({{"Nats-Expected-Last-Msg-Id", "m4"}})) == ack("S", 5));
  // Rejected publishes consumed no sequence (R-1.3).
  CHECK(js.info("S")["state"]["last_seq"] == 5);
  // Rollup sub: only the newest message on s.a remains.
  CHECK(js.publish("s.a", "6", hdr({{"Nats-Rollup", "sub"}})) == ack("S", 6));
  json r = js.info("S", R"({"subjects_filter":">"})");
  CHECK(r["state"]["subjects"] == json({{"s.a", 1}, {"s.b", 1}, {"s.c", 1}}));
  CHECK(js.publish("s.b", "7", hdr({{"Nats-Rollup", "all"}})) == ack("S", 7));
  CHECK(js.info("S")["state"]["messages"] == 1);

  REQUIRE(!js.create("N", {{"name", "N"}, {"subjects", {"n"}}}).contains("error"));
  CHECK(js.publish("n", "x", hdr({{"Nats-Rollup", "all"}})) == ack_error("N", 500, 10111, "rollup not permitted"));
}

TEST_CASE("jetstream: limits: max_msgs old/new, max_msgs_per_subject, max_msg_size", "[jetstream]") {
  Js js;
  REQUIRE(!js.create("OLD", {{"name", "OLD"}, {"subjects", {"old"}}, {"max_msgs", 2}}).contains("error"));
  for (int i = 1; i <= 4; ++i) CHECK(js.publish("old", "x") == ack("OLD", i));
  json st = js.info("OLD")["state"];
  CHECK(st["messages"] == 2);
  CHECK(st["first_seq"] == 3);
  CHECK(st["last_seq"] == 4);

  REQUIRE(!js.create("NEW", {{"name", "NEW"}, {"subjects", {"new"}}, {"max_msgs", 2}, {"discard", "new"}})
               .contains("error"));
  CHECK(js.publish("new", "x") == ack("NEW", 1));
  CHECK(js.publish("new", "x") == ack("NEW", 2));
  CHECK(js.publish("new", "x") == ack_error("NEW", 503, 10077, "maximum messages exceeded"));
  CHECK(js.info("NEW")["state"]["last_seq"] == 2);

  REQUIRE(!js.create("PER", {{"name", "PER"}, {"subjects", {"per.*"}}, {"max_msgs_per_subject", 1}})
               .contains("error"));
  CHECK(js.publish("per.a", "1") == ack("PER", 1));
  CHECK(js.publish("per.b", "2") == ack("PER", 2));
  CHECK(js.publish("per.a", "3") == ack("PER", 3));
  st = js.info("PER")["state"];
  CHECK(st["messages"] == 2);
  CHECK(st["first_seq"] == 2);

  REQUIRE(!js.create("SIZE", {{"name", "SIZE"}, {"subjects", {"size"}}, {"max_msg_size", 4}}).contains("error"));
  CHECK(js.publish("size", "1234") == ack("SIZE", 1));
  CHECK(js.publish("size", "12345") == ack_error("SIZE", 400, 10054, "message size exceeds maximum allowed"));

  // R-3.9: a lowered limit is enforced at once.
  json r = js.request("$JS.API.STREAM.UPDATE.OLD", json({{"name", "OLD"}, {"subjects", {"old"}}, {"max_msgs", 1}}).dump());
  CHECK(r["state"]["messages"] == 1);
  CHECK(r["state"]["first_seq"] == 4);
}

TEST_CASE("jetstream: purge variants, msg get and msg delete", "[jetstream]") {
  Js js;
  REQUIRE(!js.create("S", {{"name", "S"}, {"subjects", {"s.*"}}}).contains("error"));
  const char* subjects[] = {"s.a", "s.b", "s.a", "s.b", "s.a", "s.c"};
  for (int i = 0; i < 6; ++i) REQUIRE(js.publish(subjects[i], "m" + std::to_string(i + 1)) == ack("S", i + 1));

  json r = js.request("$JS.API.STREAM.MSG.GET.S", R"({"seq":2})");
  CHECK(r["type"] == "io.nats.jetstream.api.v1.stream_msg_get_response");
  CHECK(r["message"]["subject"] == "s.b");
  CHECK(r["message"]["seq"] == 2);
  CHECK(r["message"]["data"] == "bTI=");  // base64("m2")
  CHECK(!r["message"].contains("hdrs"));
  r = js.request("$JS.API.STREAM.MSG.GET.S", R"({"last_by_subj":"s.a"})");
  CHECK(r["message"]["seq"] == 5);
  r = js.request("$JS.API.STREAM.MSG.GET.S", R"({"next_by_subj":"s.b","seq":3})");
  CHECK(r["message"]["seq"] == 4);

  r = js.request("$JS.API.STREAM.MSG.DELETE.S", R"({"seq":2})");
  CHECK(r == json({{"type", "io.nats.jetstream.api.v1.stream_msg_delete_response"}, {"success", true}}));
  r = js.request("$JS.API.STREAM.MSG.DELETE.S", R"({"seq":4,"no_erase":true})");
  CHECK(r["success"] == true);
  CHECK(err_code(js.request("$JS.API.STREAM.MSG.GET.S", R"({"seq":2})")) == 10037);
  CHECK(js.info("S")["state"]["messages"] == 4);
  CHECK(js.info("S")["state"]["num_deleted"] == 2);

  // {filter, keep}: keeps the newest s.a only.
  r = js.request("$JS.API.STREAM.PURGE.S", R"({"filter":"s.a","keep":1})");
  CHECK(r == json({{"type", "io.nats.jetstream.api.v1.stream_purge_response"}, {"success", true}, {"purged", 2}}));
  // {seq}: everything below 6.
  r = js.request("$JS.API.STREAM.PURGE.S", R"({"seq":6})");
  CHECK(r["purged"] == 1);
  // Full purge: first_seq = last_seq + 1, last_seq kept (R-1.2).
  r = js.request("$JS.API.STREAM.PURGE.S");
  CHECK(r["purged"] == 1);
  json st = js.info("S")["state"];
  CHECK(st["messages"] == 0);
  CHECK(st["first_seq"] == 7);
  CHECK(st["last_seq"] == 6);
  CHECK(js.publish("s.a", "x") == ack("S", 7));

  REQUIRE(!js.create("P", {{"name", "P"}, {"subjects", {"p"}}, {"deny_purge", true}, {"deny_delete", true}})
               .contains("error"));
  REQUIRE(js.publish("p", "x") == ack("P", 1));
  r = js.request("$JS.API.STREAM.PURGE.P");
  CHECK(api_err(r) == json({{"code", 500}, {"err_code", 10110}, {"description", "stream purge not permitted"}}));
  r = js.request("$JS.API.STREAM.MSG.DELETE.P", R"({"seq":1})");
  CHECK(api_err(r) == json({{"code", 500}, {"err_code", 10057}, {"description", "message delete not permitted"}}));

  // Sealed (by update): no publishes, purges or deletes.
  r = js.request("$JS.API.STREAM.UPDATE.S", json({{"name", "S"}, {"subjects", {"s.*"}}, {"sealed", true}}).dump());
  CHECK(r["config"]["sealed"] == true);
  CHECK(r["config"]["deny_purge"] == true);
  CHECK(js.publish("s.a", "x") == ack_error("S", 400, 10109, "invalid operation on sealed stream"));
  CHECK(err_code(js.request("$JS.API.STREAM.PURGE.S")) == 10109);
}

TEST_CASE("jetstream: msg delete of a sequence with no message answers as nats-server's stores do", "[jetstream]") {
  Js js;
  auto del = [&](const std::string& stream, int seq) {
    return api_err(js.request("$JS.API.STREAM.MSG.DELETE." + stream, "{\"seq\":" + std::to_string(seq) + "}"));
  };
  auto not_found = [](int seq) {
    return json({{"code", 400}, {"err_code", 10043}, {"description", "sequence " + std::to_string(seq) + " not found"}});
  };
  auto failed = [](const char* why) { return json({{"code", 500}, {"err_code", 10057}, {"description", why}}); };
  for (const char* storage : {"file", "memory"}) {
    const std::string name = std::string("D") + storage;
    REQUIRE(!js.create(name, {{"name", name}, {"subjects", {name + ".>"}}, {"storage", storage}}).contains("error"));
    for (int i = 1; i <= 4; ++i) REQUIRE(js.publish(name + ".a", "x") == ack(name, i));
    REQUIRE(js.request("$JS.API.STREAM.MSG.DELETE." + name, R"({"seq":3})")["success"] == true);
    REQUIRE(js.request("$JS.API.STREAM.MSG.DELETE." + name, R"({"seq":1})")["success"] == true);
    const bool file = std::string(storage) == "file";
    CHECK(del(name, 3) == not_found(3));                                          // a gap inside the stream
    CHECK(del(name, 1) == (file ? failed("no message found") : not_found(1)));    // below first_seq
    CHECK(del(name, 0) == (file ? failed("no message found") : not_found(0)));
    CHECK(del(name, 9) == (file ? failed("stream store EOF") : not_found(9)));    // past last_seq
  }
}

TEST_CASE("jetstream: a restart keeps streams, messages, sequences and dedup ids", "[jetstream]") {
  Js js;
  REQUIRE(!js.create("S", {{"name", "S"}, {"subjects", {"s.*"}}, {"max_msgs", 100}}).contains("error"));
  REQUIRE(!js.create("MEM", {{"name", "MEM"}, {"storage", "memory"}}).contains("error"));
  for (int i = 1; i <= 5; ++i)
    REQUIRE(js.publish("s.a", "m" + std::to_string(i), hdr({{"Nats-Msg-Id", "id" + std::to_string(i)}})) ==
            ack("S", i));
  REQUIRE(js.request("$JS.API.STREAM.MSG.DELETE.S", R"({"seq":5})")["success"] == true);
  json before = js.info("S");
  js.restart();
  json after = js.info("S");
  CHECK(after["config"] == before["config"]);
  CHECK(after["created"] == before["created"]);
  CHECK(after["state"]["messages"] == 4);
  CHECK(after["state"]["last_seq"] == 5);
  json r = js.request("$JS.API.STREAM.MSG.GET.S", R"({"seq":3})");
  CHECK(r["message"]["data"] == "bTM=");
  // R-12.8: memory streams do not survive.
  CHECK(err_code(js.info("MEM")) == 10059);
  // R-4.6: ids of stored messages are still known. nats-server 2.9.10 rebuilds its dedup table
  // only lazily (for Nats-Expected-Last-Msg-Id) and stores this duplicate; Tern does not.
  if (is_tern()) CHECK(js.publish("s.a", "m2", hdr({{"Nats-Msg-Id", "id2"}})) == dup_ack("S", 2));
  // The sequence continues after the last one, deleted or not (R-12.3).
  CHECK(js.publish("s.a", "m6") == ack("S", 6));
}

TEST_CASE("jetstream: kill -9 during a publish storm loses no acknowledged message", "[jetstream]") {
  Js js;
  REQUIRE(!js.create("S", {{"name", "S"}, {"subjects", {"storm"}}}).contains("error"));
  RawClient pub;
  REQUIRE(pub.handshake(js.server.port()));
  REQUIRE(pub.send("SUB _INBOX.storm.* 1\r\n"));
  const int kMsgs = 3000;
  std::string burst;
  for (int i = 0; i < kMsgs; ++i) burst += "PUB storm _INBOX.storm." + std::to_string(i) + " 8\r\npayload!\r\n";
  REQUIRE(pub.send(burst));
  uint64_t max_acked = 0, acked = 0;
  while (acked < 500) {
    auto m = pub.read_msg(3s);
    if (!m) break;
    auto j = json::parse(m->payload, nullptr, false);
    REQUIRE(j.contains("seq"));
    max_acked = std::max<uint64_t>(max_acked, j["seq"].get<uint64_t>());
    ++acked;
  }
  REQUIRE(acked >= 500);
  js.server.kill9();
  pub.close();
  REQUIRE(js.server.start({"-js", "-sd", js.dir}));
  js.connect_client();
  json st = js.info("S")["state"];
  INFO("acked " << acked << " up to seq " << max_acked);
  // nats-server write()s before acking, so a process kill loses nothing there either (R-12.1).
  CHECK(st["last_seq"].get<uint64_t>() >= max_acked);
  CHECK(st["messages"].get<uint64_t>() >= max_acked);
  json r = js.request("$JS.API.STREAM.MSG.GET.S", json({{"seq", max_acked}}).dump());
  CHECK(r["message"]["data"] == "cGF5bG9hZCE=");
}

TEST_CASE("jetstream: compression lz4/zstd is accepted, echoed and survives a restart (Tern)", "[jetstream]") {
  if (!is_tern()) return;  // Tern extension (spec/extensions.md)
  Js js;
  json r = js.create("Z", {{"name", "Z"}, {"subjects", {"z"}}, {"compression", "zstd"}});
  CHECK(r["config"]["compression"] == "zstd");
  r = js.create("L", {{"name", "L"}, {"subjects", {"l"}}, {"compression", "lz4"}});
  CHECK(r["config"]["compression"] == "lz4");
  r = js.create("X", {{"name", "X"}, {"compression", "s2"}});
  CHECK(err_code(r) == 10052);
  CHECK(r["error"]["description"] == R"(compression "s2" is not supported by tern: use "none", "lz4" or "zstd")");
  r = js.request("$JS.API.STREAM.UPDATE.Z", json({{"name", "Z"}, {"subjects", {"z"}}}).dump());
  CHECK(err_code(r) == 10052);
  for (int i = 1; i <= 20; ++i) REQUIRE(js.publish("z", std::string(100, 'a')) == ack("Z", i));
  js.restart();
  r = js.info("Z");
  CHECK(r["config"]["compression"] == "zstd");
  CHECK(r["state"]["messages"] == 20);
}
