// Pull consumer state over restarts and the retention policies that depend on acks
// (semantics R-2, R-11.1, R-12.4..R-12.6), plus Tern's dead-letter stream and redrive
// (issue 5; Tern only). Every case runs against tern-server and nats-server 2.9.10; Tern-only
// cases return early on nats-server.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "tests/support/js_helpers.h"

using namespace tern::test;
using namespace tern::test::js;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

json seqs(uint64_t cseq, uint64_t sseq) { return json{{"consumer_seq", cseq}, {"stream_seq", sseq}}; }
json pos(const json& j) { return seqs(j.value("consumer_seq", 0), j.value("stream_seq", 0)); }

uint64_t stream_msgs(JsServer& s, const std::string& stream) {
  json i = s.stream_info(stream);
  return i.contains("state") ? i["state"].value("messages", uint64_t{0}) : uint64_t{999999};
}

// Header value `key` in a raw header block, or "" when absent.
std::string header(const std::string& block, const std::string& key) {
  for (const auto& line : split(block, '\n')) {
    std::string l = line;
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l.rfind(key + ": ", 0) == 0) return l.substr(key.size() + 2);
  }
  return "";
}

}  // namespace

TEST_CASE("durability: a clean restart keeps consumer state and redelivers what was unacked",
          "[consumer][durability]") {
  JsServer s;
  s.create_stream({{"name", "ORDERS"}, {"subjects", {"orders.*"}}});
  s.durable("ORDERS", "w", {{"ack_wait", ns(300ms)}, {"filter_subject", "orders.*"}});
  for (int k = 1; k <= 5; ++k) s.pub("orders.a", std::to_string(k));
  auto ds = s.fetch("ORDERS", "w", 5);
  REQUIRE(s.ack(ds[0]));
  REQUIRE(s.ack(ds[1]));
  REQUIRE(s.ack(ds[3]));
  json before = s.info("ORDERS", "w");
  CHECK(pos(before["ack_floor"]) == seqs(2, 2));
  CHECK(before["num_ack_pending"] == 2);

  // An ephemeral is recovered too (R-12.6).
  json eph = s.create_consumer("ORDERS", "", {{"ack_policy", "explicit"}, {"inactive_threshold", ns(30s)}});
  REQUIRE(eph["name"].is_string());

  s.restart();
  json e = s.info("ORDERS", eph["name"]);
  CHECK(e["config"]["inactive_threshold"] == ns(30s));
  CHECK(e["num_pending"] == 5);
  json i = s.info("ORDERS", "w");
  INFO(i.dump());
  CHECK(i["config"]["ack_wait"] == ns(300ms));
  CHECK(i["config"]["filter_subject"] == "orders.*");
  // nats-server 2.9.10 re-reads "created" from the consumer's metadata file, which can differ
  // from the first answer by a few ms, so only its presence is checked.
  CHECK(i["created"].is_string());
  CHECK(pos(i["delivered"]) == seqs(5, 5));
  CHECK(pos(i["ack_floor"]) == seqs(2, 2));
  CHECK(i["num_ack_pending"] == 2);
  CHECK(i["num_pending"] == 0);
  CHECK(i["num_waiting"] == 0);  // waiting requests are not persisted

  // 3 and 5 come back (delivery count 2, new consumer seqs), then the new message.
  s.pull_json("ORDERS", "w", {{"batch", 3}, {"expires", ns(3s)}});
  Delivery r1 = s.msg(3s);
  Delivery r2 = s.msg(3s);
  CHECK(r1.sseq == 3);
  CHECK(r2.sseq == 5);
  CHECK(r1.delivered == 2);
  CHECK(r2.delivered == 2);
  CHECK(r1.cseq == 6);
  CHECK(r2.cseq == 7);
  // An ack on the ack subject of a delivery from before the restart still counts (acks are
  // keyed by stream seq).
  REQUIRE(s.ack(r1));
  REQUIRE(s.ack(ds[4]));
  i = s.info("ORDERS", "w");
  CHECK(i["num_ack_pending"] == 0);
  CHECK(i["num_redelivered"] == 0);
  CHECK(pos(i["ack_floor"]) == seqs(7, 5));
  CHECK(s.pub("orders.b", "6") == 6);
  Delivery n = s.msg();
  CHECK(n.sseq == 6);
  CHECK(n.cseq == 8);
  CHECK(n.delivered == 1);
}

TEST_CASE("durability: after kill -9 every unacked message is redelivered, none skipped", "[consumer][durability]") {
  JsServer s;
  s.create_stream({{"name", "K"}, {"subjects", {"k"}}});
  s.durable("K", "w", {{"ack_wait", ns(300ms)}});
  const int kMsgs = 20;
  for (int k = 1; k <= kMsgs; ++k) s.pub("k", std::to_string(k));
  auto ds = s.fetch("K", "w", kMsgs);
  std::set<uint64_t> unacked;
  for (auto& d : ds) {
    if (d.sseq % 2 == 0) {
      REQUIRE(s.ack(d));
    } else {
      unacked.insert(d.sseq);
    }
  }
  // Consumer state is written at most ~10 times a second (R-12.4): give it that long.
  std::this_thread::sleep_for(250ms);
  s.kill9_restart();
  // At-least-once: the unacked ones must all come back; recently acked ones may too (R-12.4).
  s.pull_json("K", "w", {{"batch", kMsgs + 5}, {"expires", ns(2500ms)}});
  std::set<uint64_t> seen;
  for (;;) {
    auto d = s.next(3s);
    REQUIRE(d);
    if (!d->ack_ok) break;  // the 408 at expires
    CHECK(d->sseq >= 1);
    CHECK(d->sseq <= static_cast<uint64_t>(kMsgs));
    seen.insert(d->sseq);
    // The delivery count carried over the crash (R-12.5).
    if (unacked.count(d->sseq)) CHECK(d->delivered == 2);
    REQUIRE(s.ack(*d));
  }
  for (uint64_t seq : unacked) {
    INFO("unacked seq " << seq);
    CHECK(seen.count(seq) == 1);
  }
  // Nothing skipped going forward either.
  CHECK(s.pub("k", "next") == kMsgs + 1);
  s.pull_json("K", "w", {{"batch", 1}, {"expires", ns(2s)}});
  CHECK(s.msg().sseq == static_cast<uint64_t>(kMsgs + 1));
  CHECK(s.info("K", "w")["num_ack_pending"] == 1);
}

TEST_CASE("durability: interest retention removes a message once every interested consumer acked it",
          "[consumer][durability][retention]") {
  JsServer s;
  s.create_stream({{"name", "I"}, {"subjects", {"i.*"}}, {"retention", "interest"}});
  // No consumer yet: the publish takes a sequence but nothing is stored (R-2.4).
  CHECK(s.pub("i.a", "lost") == 1);
  CHECK(stream_msgs(s, "I") == 0);

  s.durable("I", "a");
  s.durable("I", "b");
  s.durable("I", "onlyx", {{"filter_subject", "i.x"}});
  CHECK(s.pub("i.a", "1") == 2);
  CHECK(s.pub("i.a", "2") == 3);
  CHECK(s.pub("i.x", "3") == 4);
  CHECK(stream_msgs(s, "I") == 3);

  auto da = s.fetch("I", "a", 3);
  for (auto& d : da) REQUIRE(s.ack(d));
  CHECK(stream_msgs(s, "I") == 3);  // b (and onlyx for i.x) still need them

  auto db = s.fetch("I", "b", 3);
  REQUIRE(s.ack(db[0]));
  CHECK(stream_msgs(s, "I") == 2);  // seq 2 gone: a and b acked it, onlyx does not match it
  REQUIRE(s.ack(db[2]));
  CHECK(stream_msgs(s, "I") == 2);  // seq 4 still needed by onlyx

  // Deleting b drops what only b still needed (seq 3), at once.
  REQUIRE(!s.request("$JS.API.CONSUMER.DELETE.I.b").contains("error"));
  CHECK(stream_msgs(s, "I") == 1);
  auto dx = s.fetch("I", "onlyx", 1);
  CHECK(dx[0].sseq == 4);
  REQUIRE(s.ack(dx[0]));
  CHECK(stream_msgs(s, "I") == 0);
}

TEST_CASE("durability: workqueue retention removes on ack and term, keeps on nak", "[consumer][durability][retention]") {
  JsServer s;
  s.create_stream({{"name", "WQ"}, {"subjects", {"wq.*"}}, {"retention", "workqueue"}});
  s.durable("WQ", "w");
  for (int k = 1; k <= 3; ++k) s.pub("wq.a", std::to_string(k));
  CHECK(stream_msgs(s, "WQ") == 3);
  auto ds = s.fetch("WQ", "w", 3);
  REQUIRE(s.ack(ds[1]));
  CHECK(stream_msgs(s, "WQ") == 2);
  REQUIRE(s.ack(ds[2], "+TERM"));
  CHECK(stream_msgs(s, "WQ") == 1);
  REQUIRE(s.ack(ds[0], "-NAK"));
  CHECK(stream_msgs(s, "WQ") == 1);
  auto again = s.fetch("WQ", "w", 1);
  CHECK(again[0].sseq == 1);
  CHECK(again[0].delivered == 2);
  REQUIRE(s.ack(again[0]));
  json st = s.stream_info("WQ")["state"];
  CHECK(st["messages"] == 0);
  CHECK(st["first_seq"] == 4);
  CHECK(st["last_seq"] == 3);
}

TEST_CASE("durability: ephemerals are deleted after inactive_threshold, durables stay", "[consumer][durability]") {
  JsServer s;
  s.create_stream({{"name", "E"}, {"subjects", {"e"}}});
  auto t0 = Clock::now();  // before the create: the deletion can only come later than t0 + 300 ms
  json r = s.create_consumer("E", "", {{"ack_policy", "explicit"}, {"inactive_threshold", ns(300ms)}});
  REQUIRE(r["name"].is_string());
  std::string eph = r["name"];
  CHECK(r["config"]["inactive_threshold"] == ns(300ms));
  s.durable("E", "keep");
  // A durable with its own inactive_threshold is removed too.
  s.durable("E", "dur_idle", {{"inactive_threshold", ns(300ms)}});
  // The real server adds up to 1 s of jitter (R-11.1).
  CHECK(eventually([&] { return err_code(s.info("E", eph)) == 10014; }, 3s));
  CHECK(eventually([&] { return err_code(s.info("E", "dur_idle")) == 10014; }, 3s));
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count() >= 300);
  CHECK(!s.info("E", "keep").contains("error"));
  r = s.request("$JS.API.CONSUMER.NAMES.E");
  CHECK(r["consumers"] == json({"keep"}));
}

TEST_CASE("durability: a consumer that keeps pulling is not inactive", "[consumer][durability]") {
  JsServer s;
  s.create_stream({{"name", "E"}, {"subjects", {"e"}}});
  json r = s.create_consumer("E", "live", {{"ack_policy", "explicit"}, {"inactive_threshold", ns(400ms)}});
  REQUIRE(!r.contains("error"));
  // A request waiting for longer than the threshold keeps it alive while it waits...
  s.pull_json("E", "live", {{"batch", 1}, {"expires", ns(1500ms)}});
  std::this_thread::sleep_for(900ms);
  json i = s.info("E", "live");
  INFO(i.dump());
  CHECK(!i.contains("error"));
  CHECK(i["num_waiting"] == 1);
  CHECK(s.status(3s) == pending_status("408 Request Timeout", 1, 0));
  // ...and once nothing waits any more, the threshold applies again.
  CHECK(eventually([&] { return err_code(s.info("E", "live")) == 10014; }, 3s));
}

TEST_CASE("durability: retention with ack_policy none and with filtered workqueue consumers",
          "[consumer][durability][retention]") {
  JsServer s;
  // An ack_policy none consumer counts a message as acked once it is delivered (R-2.6).
  s.create_stream({{"name", "I"}, {"subjects", {"i"}}, {"retention", "interest"}});
  REQUIRE(!s.create_consumer("I", "n", {{"durable_name", "n"}, {"ack_policy", "none"}}).contains("error"));
  s.pub("i", "1");
  s.pub("i", "2");
  CHECK(stream_msgs(s, "I") == 2);
  s.fetch("I", "n", 1);
  CHECK(eventually([&] { return stream_msgs(s, "I") == 1; }, 2s));

  // Workqueue with one consumer per subject: each ack removes only that consumer's message, and
  // a subject nobody filters on stays.
  s.create_stream({{"name", "WQ"}, {"subjects", {"wq.*"}}, {"retention", "workqueue"}});
  s.durable("WQ", "a", {{"filter_subject", "wq.a"}});
  s.durable("WQ", "b", {{"filter_subject", "wq.b"}});
  s.pub("wq.a", "a");
  s.pub("wq.b", "b");
  s.pub("wq.c", "c");
  auto da = s.fetch("WQ", "a", 1);
  CHECK(da[0].subject == "wq.a");
  REQUIRE(s.ack(da[0]));
  CHECK(stream_msgs(s, "WQ") == 2);
  auto db = s.fetch("WQ", "b", 1);
  CHECK(db[0].subject == "wq.b");
  REQUIRE(s.ack(db[0]));
  CHECK(stream_msgs(s, "WQ") == 1);
  json m = s.request("$JS.API.STREAM.MSG.GET.WQ", R"({"seq":3})");
  CHECK(m["message"]["subject"] == "wq.c");
}

TEST_CASE("dlq: the dead-letter flow keeps working after a clean restart (Tern)", "[consumer][durability][dlq]") {
  if (!is_tern()) return;  // Tern extension
  JsServer s;
  s.create_stream({{"name", "ORDERS"}, {"subjects", {"orders.*"}}});
  s.create_stream({{"name", "DLQ"}});
  s.durable("ORDERS", "w", {{"ack_wait", ns(150ms)}, {"max_deliver", 1}, {"dead_letter", {{"stream", "DLQ"}}}});
  s.restart();
  CHECK(s.info("ORDERS", "w")["config"]["dead_letter"] == json({{"stream", "DLQ"}}));
  s.pub("orders.x", "late");
  s.pull_json("ORDERS", "w", {{"batch", 2}, {"expires", ns(800ms)}});
  CHECK(s.msg().sseq == 1);
  REQUIRE(eventually([&] { return stream_msgs(s, "DLQ") == 1; }, 2s));
  json m = s.request("$JS.API.STREAM.MSG.GET.DLQ", R"({"seq":1})");
  std::string block = b64decode(m["message"].value("hdrs", std::string()));
  CHECK(header(block, "Tern-DLQ-Reason") == "max_deliveries");
  CHECK(header(block, "Tern-DLQ-Deliveries") == "1");
}

// ---- Tern dead-letter stream (issue 5) ----

TEST_CASE("dlq: max_deliver moves the message to the dead-letter stream with Tern-DLQ headers (Tern)",
          "[consumer][durability][dlq]") {
  if (!is_tern()) return;  // Tern extension
  JsServer s;
  s.create_stream({{"name", "ORDERS"}, {"subjects", {"orders.*"}}, {"retention", "workqueue"}});
  s.create_stream({{"name", "DLQ"}, {"subjects", {"dlq.orders"}}});
  s.durable("ORDERS", "w",
            {{"ack_wait", ns(150ms)}, {"max_deliver", 2}, {"dead_letter", {{"stream", "DLQ"}}}});
  std::string h = hdrs({{"X-Id", "7"}});
  CHECK(s.pub("orders.a", "poison", h) == 1);
  s.pull_json("ORDERS", "w", {{"batch", 3}, {"expires", ns(1500ms)}});
  CHECK(s.msg().delivered == 1);
  CHECK(s.msg().delivered == 2);
  // The advisory is still published.
  auto adv = s.advisory_on("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ORDERS.w", 2s);
  REQUIRE(adv);
  CHECK((*adv)["stream_seq"] == 1);
  CHECK((*adv)["deliveries"] == 2);

  REQUIRE(eventually([&] { return stream_msgs(s, "DLQ") == 1; }, 2s));
  json m = s.request("$JS.API.STREAM.MSG.GET.DLQ", R"({"seq":1})");
  INFO(m.dump());
  REQUIRE(m.contains("message"));
  CHECK(m["message"]["subject"] == "orders.a");
  CHECK(b64decode(m["message"]["data"]) == "poison");
  std::string block = b64decode(m["message"].value("hdrs", std::string()));
  CHECK(header(block, "X-Id") == "7");
  CHECK(header(block, "Tern-DLQ-Stream") == "ORDERS");
  CHECK(header(block, "Tern-DLQ-Consumer") == "w");
  CHECK(header(block, "Tern-DLQ-Sequence") == "1");
  CHECK(header(block, "Tern-DLQ-Subject") == "orders.a");
  CHECK(header(block, "Tern-DLQ-Deliveries") == "2");
  CHECK(header(block, "Tern-DLQ-Reason") == "max_deliveries");

  // It counts as acked: the floor moves and the workqueue stream drops it.
  json i = s.info("ORDERS", "w");
  CHECK(i["num_ack_pending"] == 0);
  CHECK(pos(i["ack_floor"]) == seqs(2, 1));
  CHECK(stream_msgs(s, "ORDERS") == 0);
}

TEST_CASE("dlq: +TERM copies the message to the dead-letter stream (Tern)", "[consumer][durability][dlq]") {
  if (!is_tern()) return;  // Tern extension
  JsServer s;
  s.create_stream({{"name", "ORDERS"}, {"subjects", {"orders.*"}}});
  s.create_stream({{"name", "DLQ"}});
  s.durable("ORDERS", "w", {{"dead_letter", {{"stream", "DLQ"}}}});
  s.pub("orders.a", "ok");
  s.pub("orders.b", "bad");
  auto ds = s.fetch("ORDERS", "w", 2);
  REQUIRE(s.ack(ds[0]));
  REQUIRE(s.ack(ds[1], "+TERM"));
  auto adv = s.advisory_on("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.ORDERS.w");
  CHECK(adv);
  REQUIRE(eventually([&] { return stream_msgs(s, "DLQ") == 1; }, 2s));
  json m = s.request("$JS.API.STREAM.MSG.GET.DLQ", R"({"seq":1})");
  INFO(m.dump());
  CHECK(m["message"]["subject"] == "orders.b");
  std::string block = b64decode(m["message"].value("hdrs", std::string()));
  CHECK(header(block, "Tern-DLQ-Reason") == "terminated");
  CHECK(header(block, "Tern-DLQ-Sequence") == "2");
  CHECK(header(block, "Tern-DLQ-Deliveries") == "1");
  // A limits stream keeps its copy; the consumer treats it as acked.
  CHECK(stream_msgs(s, "ORDERS") == 2);
  json i = s.info("ORDERS", "w");
  CHECK(pos(i["ack_floor"]) == seqs(2, 2));
}

TEST_CASE("dlq: redrive republishes to the original subject and empties the dead-letter stream (Tern)",
          "[consumer][durability][dlq]") {
  if (!is_tern()) return;  // Tern extension
  JsServer s;
  s.create_stream({{"name", "ORDERS"}, {"subjects", {"orders.*"}}});
  s.create_stream({{"name", "DLQ"}});
  s.durable("ORDERS", "w", {{"dead_letter", {{"stream", "DLQ"}}}});
  s.pub("orders.a", "a1", hdrs({{"X-Id", "1"}}));
  s.pub("orders.b", "b1");
  s.pub("orders.a", "a2");
  s.pub("orders.b", "b2");
  auto ds = s.fetch("ORDERS", "w", 4);
  for (auto& d : ds) REQUIRE(s.ack(d, "+TERM"));
  REQUIRE(eventually([&] { return stream_msgs(s, "DLQ") == 4; }, 2s));

  json r = s.request("$JS.API.TERN.DLQ.REDRIVE.NOPE", "{}");
  CHECK(err_code(r) == 10059);

  // One message by DLQ sequence.
  r = s.request("$JS.API.TERN.DLQ.REDRIVE.DLQ", R"({"seq":2})");
  INFO(r.dump());
  CHECK(r == json({{"type", "io.tern.dlq.v1.redrive_response"}, {"redriven", 1}}));
  // The DLQ copy goes once the source stream has acknowledged (stored and synced) the new one.
  CHECK(eventually([&] { return stream_msgs(s, "DLQ") == 3; }));
  CHECK(s.stream_info("ORDERS")["state"]["last_seq"] == 5);
  json m5 = s.request("$JS.API.STREAM.MSG.GET.ORDERS", R"({"seq":5})");
  CHECK(m5["message"]["subject"] == "orders.b");
  CHECK(b64decode(m5["message"]["data"]) == "b1");
  CHECK(b64decode(m5["message"].value("hdrs", std::string())).find("Tern-DLQ-") == std::string::npos);

  // By subject filter, at most one.
  r = s.request("$JS.API.TERN.DLQ.REDRIVE.DLQ", R"({"filter":"orders.a","max":1})");
  CHECK(r["redriven"] == 1);
  // The DLQ copy goes once the source stream has acknowledged (stored and synced) the new one.
  CHECK(eventually([&] { return stream_msgs(s, "DLQ") == 2; }));
  json m6 = s.request("$JS.API.STREAM.MSG.GET.ORDERS", R"({"seq":6})");
  CHECK(m6["message"]["subject"] == "orders.a");
  CHECK(b64decode(m6["message"]["data"]) == "a1");
  std::string block = b64decode(m6["message"].value("hdrs", std::string()));
  CHECK(header(block, "X-Id") == "1");  // original headers kept
  CHECK(block.find("Tern-DLQ-") == std::string::npos);

  // Everything else.
  r = s.request("$JS.API.TERN.DLQ.REDRIVE.DLQ", "{}");
  CHECK(r["redriven"] == 2);
  // The DLQ copy goes once the source stream has acknowledged (stored and synced) the new one.
  CHECK(eventually([&] { return stream_msgs(s, "DLQ") == 0; }));
  CHECK(s.stream_info("ORDERS")["state"]["last_seq"] == 8);

  // The consumer delivers the redriven messages like any new ones.
  s.pull_json("ORDERS", "w", {{"batch", 4}, {"expires", ns(1s)}});
  std::vector<uint64_t> got;
  for (int k = 0; k < 3; ++k) got.push_back(s.msg().sseq);
  CHECK(got == std::vector<uint64_t>{5, 6, 7});
}

TEST_CASE("dlq: consumer state with a dead-letter stream survives kill -9 (Tern)", "[consumer][durability][dlq]") {
  if (!is_tern()) return;  // Tern extension
  JsServer s;
  s.create_stream({{"name", "ORDERS"}, {"subjects", {"orders.*"}}});
  s.create_stream({{"name", "DLQ"}});
  s.durable("ORDERS", "w", {{"ack_wait", ns(200ms)}, {"max_deliver", 1}, {"dead_letter", {{"stream", "DLQ"}}}});
  s.pub("orders.a", "1");
  s.pull_json("ORDERS", "w", {{"batch", 2}, {"expires", ns(800ms)}});
  CHECK(s.msg().sseq == 1);
  REQUIRE(eventually([&] { return stream_msgs(s, "DLQ") == 1; }, 2s));
  std::this_thread::sleep_for(200ms);  // let the consumer state reach the disk (R-12.4)
  s.kill9_restart();
  CHECK(stream_msgs(s, "DLQ") == 1);
  json i = s.info("ORDERS", "w");
  CHECK(i["config"]["dead_letter"] == json({{"stream", "DLQ"}}));
  CHECK(i["num_ack_pending"] == 0);
  CHECK(pos(i["ack_floor"]) == seqs(1, 1));
}

TEST_CASE("dlq: a redriven copy no stream acknowledges stays in the dead-letter stream (Tern)",
          "[consumer][durability][dlq]") {
  if (!is_tern()) return;  // Tern extension
  JsServer s;
  s.create_stream({{"name", "DLQ"}, {"subjects", {"dlq.manual"}}});
  // A dead letter whose original subject no stream captures any more.
  s.pub("dlq.manual", "lost?", hdrs({{"Tern-DLQ-Subject", "nowhere.x"}}));
  json r = s.request("$JS.API.TERN.DLQ.REDRIVE.DLQ", "{}");
  CHECK(r["redriven"] == 1);
  // Republished, but nothing stored it durably: the copy is kept (at-least-once), not dropped.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(stream_msgs(s, "DLQ") == 1);
}
