// Pull consumers over the wire (jetstream-api.md §9–§11; semantics R-6..R-10): MSG.NEXT bodies,
// the exact status replies, the delivered message format and ack subject, ack bodies and the
// ack-reply, redelivery (ack_wait, NAK, WPI, TERM, backoff, max_deliver), max_ack_pending, the
// deliver policies and the consumer-info counters. Every case runs against tern-server and
// nats-server 2.9.10; ack waits are a few hundred ms and waits poll, never sleep for seconds.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <time.h>

#include <chrono>
#include <ctime>
#include <string>
#include <thread>

#include "tern/client.h"
#include "tests/support/js_helpers.h"

using namespace tern::test;
using namespace tern::test::js;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

json seqs(uint64_t cseq, uint64_t sseq) { return json{{"consumer_seq", cseq}, {"stream_seq", sseq}}; }
// delivered/ack_floor without the optional last_active.
json pos(const json& j) { return seqs(j.value("consumer_seq", 0), j.value("stream_seq", 0)); }

// "2026-11-23T15:25:28.810606734Z" as ns since the epoch (-1 when malformed).
int64_t rfc3339_ns(const std::string& t) {
  std::tm tm{};
  const char* rest = strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return -1;
  int64_t ns = static_cast<int64_t>(timegm(&tm)) * 1000000000LL;
  if (*rest == '.') {
    int64_t frac = 0, digits = 0;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, ++digits) frac = frac * 10 + (*rest - '0');
    for (; digits < 9; ++digits) frac *= 10;
    ns += frac;
  }
  return *rest == 'Z' ? ns : -1;
}

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

void setup_orders(JsServer& s) { s.create_stream({{"name", "ORDERS"}, {"subjects", {"orders.*"}}}); }

}  // namespace

TEST_CASE("pull: delivered messages, ack subject tokens and the counters they move", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w");
  auto before = std::chrono::system_clock::now();
  s.pub("orders.a", "one");
  std::string h = hdrs({{"X-Trace", "abc"}, {"X-Multi", "1"}, {"X-Multi", "2"}});
  s.pub("orders.b", "two", h);
  s.pub("orders.a", "three");
  json i = s.info("ORDERS", "w");
  CHECK(i["num_pending"] == 3);

  // An empty body pulls one message.
  s.pull("ORDERS", "w");
  Delivery d1 = s.msg();
  CHECK(d1.subject == "orders.a");
  CHECK(!d1.has_headers);
  CHECK(d1.payload == "one");
  CHECK(d1.stream == "ORDERS");
  CHECK(d1.consumer == "w");
  CHECK(d1.delivered == 1);
  CHECK(d1.sseq == 1);
  CHECK(d1.cseq == 1);
  CHECK(d1.pending == 2);
  // The stored timestamp in ns since the epoch.
  int64_t before_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(before.time_since_epoch()).count();
  CHECK(d1.ts >= before_ns - 1000000000LL);
  CHECK(d1.ts <= before_ns + 10000000000LL);
  json stored = s.request("$JS.API.STREAM.MSG.GET.ORDERS", R"({"seq":1})");
  CHECK(rfc3339_ns(stored["message"].value("time", std::string())) == d1.ts);
  CHECK(s.quiet(200ms));  // a fulfilled request ends silently

  // A plain number body is the batch size; stored headers are delivered unchanged.
  s.pull("ORDERS", "w", "2");
  Delivery d2 = s.msg();
  CHECK(d2.subject == "orders.b");
  CHECK(d2.has_headers);
  CHECK(d2.headers == h);
  CHECK(d2.payload == "two");
  CHECK(d2.sseq == 2);
  CHECK(d2.cseq == 2);
  CHECK(d2.pending == 1);
  Delivery d3 = s.msg();
  CHECK(d3.sseq == 3);
  CHECK(d3.cseq == 3);
  CHECK(d3.pending == 0);
  CHECK(d3.ts >= d1.ts);
  CHECK(s.quiet(200ms));

  i = s.info("ORDERS", "w");
  CHECK(pos(i["delivered"]) == seqs(3, 3));
  CHECK(pos(i["ack_floor"]) == seqs(0, 0));
  CHECK(i["num_ack_pending"] == 3);
  CHECK(i["num_pending"] == 0);
  CHECK(i["num_redelivered"] == 0);
  CHECK(i["num_waiting"] == 0);

  // Acks with a reply get an empty ack-reply (the barrier); the floor moves only over a
  // contiguous acked prefix.
  REQUIRE(s.ack(d2));
  i = s.info("ORDERS", "w");
  CHECK(pos(i["ack_floor"]) == seqs(0, 0));
  CHECK(i["num_ack_pending"] == 2);
  REQUIRE(s.ack(d1, ""));  // an empty body is an ack
  i = s.info("ORDERS", "w");
  CHECK(pos(i["ack_floor"]) == seqs(2, 2));
  CHECK(i["num_ack_pending"] == 1);
  REQUIRE(s.ack(d3, "+OK"));
  i = s.info("ORDERS", "w");
  CHECK(pos(i["ack_floor"]) == seqs(3, 3));
  CHECK(i["num_ack_pending"] == 0);
  // Acking again changes nothing but is still answered.
  REQUIRE(s.ack(d3));
  CHECK(s.info("ORDERS", "w")["num_ack_pending"] == 0);

  // New messages after an idle period: num_pending counts them, the next pull gets seq 4.
  s.pub("orders.c", "four");
  CHECK(s.info("ORDERS", "w")["num_pending"] == 1);
  s.pull("ORDERS", "w", R"({"batch":1})");
  Delivery d4 = s.msg();
  CHECK(d4.sseq == 4);
  CHECK(d4.cseq == 4);
}

TEST_CASE("pull: no_wait and expires answer with the exact status replies", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w");

  // Nothing to deliver, no_wait without expires: 404 at once, to the reply subject itself.
  std::string reply = s.pull_json("ORDERS", "w", {{"batch", 1}, {"no_wait", true}});
  auto st = s.next();
  REQUIRE(st);
  CHECK(st->subject == reply);
  CHECK(st->reply.empty());
  CHECK(st->headers == bare_status("404 No Messages"));
  CHECK(st->payload.empty());

  // expires passes with nothing delivered: 408 with the pending headers.
  auto t0 = Clock::now();
  reply = s.pull_json("ORDERS", "w", {{"batch", 5}, {"expires", ns(250ms)}});
  st = s.next(2s);
  REQUIRE(st);
  CHECK(ms_since(t0) >= 200);
  CHECK(ms_since(t0) < 1000);
  CHECK(st->subject == reply);
  CHECK(st->headers == pending_status("408 Request Timeout", 5, 0));
  reply = s.pull_json("ORDERS", "w", {{"batch", 3}, {"max_bytes", 4000}, {"expires", ns(150ms)}});
  CHECK(s.status() == pending_status("408 Request Timeout", 3, 4000));

  // no_wait with something deliverable: what there is, then 408 with what is left.
  s.pub("orders.a", "1");
  s.pub("orders.a", "2");
  s.pull_json("ORDERS", "w", {{"batch", 5}, {"no_wait", true}});
  CHECK(s.msg().sseq == 1);
  CHECK(s.msg().sseq == 2);
  CHECK(s.status() == pending_status("408 Request Timeout", 3, 0));

  // A waiting request (no expires) is served as messages arrive, FIFO.
  std::string r1 = s.pull("ORDERS", "w", "1");
  std::string r2 = s.pull("ORDERS", "w", "1");
  CHECK(s.info("ORDERS", "w")["num_waiting"] == 2);
  s.pub("orders.a", "3");
  s.pub("orders.a", "4");
  Delivery a = s.msg();
  Delivery b = s.msg();
  CHECK(a.subject == "orders.a");
  CHECK(a.sseq == 3);
  CHECK(b.sseq == 4);
  CHECK(s.info("ORDERS", "w")["num_waiting"] == 0);

  // A pull for a consumer or stream that does not exist gets no reply (R-7.11).
  s.pull("ORDERS", "nope", R"({"batch":1,"no_wait":true})");
  s.pull("NOSTREAM", "w", R"({"batch":1,"no_wait":true})");
  CHECK(s.quiet(300ms));
}

TEST_CASE("pull: request limits, max_waiting and Requests Pending (409/408)", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "lim", {{"max_batch", 2}, {"max_expires", 1000000000}, {"max_bytes", 100}});
  s.pull_json("ORDERS", "lim", {{"batch", 3}});
  CHECK(s.status() == bare_status("409 Exceeded MaxRequestBatch of 2"));
  s.pull_json("ORDERS", "lim", {{"batch", 1}, {"expires", 2000000000}});
  CHECK(s.status() == bare_status("409 Exceeded MaxRequestExpires of 1s"));
  s.pull_json("ORDERS", "lim", {{"batch", 1}, {"max_bytes", 200}});
  CHECK(s.status() == bare_status("409 Exceeded MaxRequestMaxBytes of 100"));
  s.pull_json("ORDERS", "lim", {{"batch", 1}, {"expires", 100000000}, {"max_bytes", 100}});
  CHECK(s.status() == pending_status("408 Request Timeout", 1, 100));

  // One waiting request at most: the second gets 409 Exceeded MaxWaiting.
  s.durable("ORDERS", "one", {{"max_waiting", 1}});
  s.pull_json("ORDERS", "one", {{"batch", 1}, {"expires", ns(2s)}});
  s.pull_json("ORDERS", "one", {{"batch", 1}, {"expires", ns(2s)}});
  CHECK(s.status() == bare_status("409 Exceeded MaxWaiting"));
  CHECK(s.info("ORDERS", "one")["num_waiting"] == 1);

  // A no_wait request while waiting requests want more than is deliverable: 408 Requests Pending.
  s.durable("ORDERS", "map", {{"max_ack_pending", 1}});
  s.pub("orders.x", "1");
  s.pull_json("ORDERS", "map", {{"batch", 5}, {"expires", ns(2s)}});
  CHECK(s.msg().sseq == 1);  // then blocked by max_ack_pending with 4 still wanted
  s.pub("orders.x", "2");
  s.pub("orders.x", "3");
  CHECK(s.info("ORDERS", "map")["num_pending"] == 2);
  s.pull_json("ORDERS", "map", {{"batch", 1}, {"no_wait", true}});
  // "one" holds a request too and now sees 3 messages; drain whatever it delivered first.
  std::string got;
  for (int k = 0; k < 3; ++k) {
    auto d = s.next();
    REQUIRE(d);
    if (d->ack_ok) continue;  // deliveries to "one"'s waiting request
    got = d->headers;
    break;
  }
  CHECK(got == bare_status("408 Requests Pending"));
}

TEST_CASE("pull: max_bytes ends a request that cannot take the next message (409)", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w");
  s.pub("orders.a", std::string(100, 'x'));
  s.pub("orders.a", std::string(10, 'y'));
  s.pull_json("ORDERS", "w", {{"batch", 5}, {"max_bytes", 50}, {"expires", ns(1s)}});
  CHECK(s.status() == pending_status("409 Message Size Exceeds MaxBytes", 5, 50));
  // The message was not delivered: it is still next.
  json i = s.info("ORDERS", "w");
  CHECK(i["num_pending"] == 2);
  CHECK(pos(i["delivered"]) == seqs(0, 0));
  // A budget that fits the first and not the second: one message, then 409 with what is left.
  s.pull_json("ORDERS", "w", {{"batch", 5}, {"max_bytes", 200}, {"expires", ns(1s)}});
  Delivery d = s.msg();
  CHECK(d.sseq == 1);
  int64_t cost = static_cast<int64_t>(d.subject.size() + d.reply.size() + d.headers.size() + d.payload.size());
  INFO("cost of the first message " << cost);
  // The second costs about 70 bytes and does not fit in what is left (about 40).
  REQUIRE(200 - cost < static_cast<int64_t>(d.subject.size() + d.reply.size() + 10));
  CHECK(s.status() == pending_status("409 Message Size Exceeds MaxBytes", 4, static_cast<uint64_t>(200 - cost)));
  CHECK(s.info("ORDERS", "w")["num_pending"] == 1);
}

TEST_CASE("pull: ack_wait redelivers with a new consumer seq and counts num_redelivered", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w", {{"ack_wait", ns(300ms)}});
  s.pub("orders.a", "1");
  s.pub("orders.a", "2");
  auto t0 = Clock::now();
  s.pull_json("ORDERS", "w", {{"batch", 2}});
  Delivery d1 = s.msg();
  Delivery d2 = s.msg();
  REQUIRE(s.ack(d2));
  // Redelivery needs a waiting request.
  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(1500ms)}});
  Delivery r = s.msg(2s);
  int64_t waited = ms_since(t0);
  CHECK(waited >= 280);
  CHECK(waited < 900);
  CHECK(r.sseq == 1);
  CHECK(r.delivered == 2);
  CHECK(r.cseq == 3);
  CHECK(r.pending == 0);
  CHECK(r.ts == d1.ts);  // the stored timestamp, not the delivery time
  json i = s.info("ORDERS", "w");
  CHECK(i["num_redelivered"] == 1);
  CHECK(i["num_ack_pending"] == 1);
  CHECK(pos(i["delivered"]) == seqs(3, 2));
  CHECK(pos(i["ack_floor"]) == seqs(0, 0));
  CHECK(i["num_pending"] == 0);
  // A late ack of the first delivery still acknowledges the message.
  REQUIRE(s.ack(d1));
  i = s.info("ORDERS", "w");
  CHECK(i["num_redelivered"] == 0);
  CHECK(i["num_ack_pending"] == 0);
  CHECK(pos(i["ack_floor"]) == seqs(3, 2));
  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(500ms)}});
  CHECK(s.status(2s) == pending_status("408 Request Timeout", 1, 0));
}

TEST_CASE("pull: -NAK redelivers at once, -NAK with a delay not before it", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w");  // ack_wait 30 s: any redelivery here comes from the NAK
  s.pub("orders.a", "1");
  s.pull("ORDERS", "w");
  Delivery d = s.msg();
  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(2s)}});
  auto t0 = Clock::now();
  REQUIRE(s.ack(d, "-NAK"));
  Delivery r = s.msg();
  CHECK(ms_since(t0) < 500);
  CHECK(r.sseq == 1);
  CHECK(r.delivered == 2);
  CHECK(r.cseq == 2);
  auto nak = s.advisory_on("$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.ORDERS.w");
  REQUIRE(nak);
  CHECK((*nak)["type"] == "io.nats.jetstream.advisory.v1.nak");
  CHECK((*nak)["stream_seq"] == 1);

  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(2s)}});
  t0 = Clock::now();
  REQUIRE(s.ack(r, R"(-NAK {"delay": 400000000})"));
  CHECK(s.quiet(300ms));
  Delivery r2 = s.msg(2s);
  int64_t waited = ms_since(t0);
  CHECK(waited >= 380);
  CHECK(waited < 1000);
  CHECK(r2.delivered == 3);
  CHECK(r2.cseq == 3);
  CHECK(s.info("ORDERS", "w")["num_redelivered"] == 1);
  REQUIRE(s.ack(r2));
  CHECK(s.info("ORDERS", "w")["num_ack_pending"] == 0);
}

TEST_CASE("pull: +WPI resets the ack timer", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w", {{"ack_wait", ns(400ms)}});
  s.pub("orders.a", "1");
  s.pull("ORDERS", "w");
  auto t0 = Clock::now();
  Delivery d = s.msg();
  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(2s)}});
  std::this_thread::sleep_for(250ms);
  REQUIRE(s.ack(d, "+WPI"));
  REQUIRE(s.ack(d, "+WPI"));
  // Due 400 ms after the WPI, not after the delivery.
  auto r = s.next(1500ms);
  int64_t waited = ms_since(t0);
  REQUIRE(r);
  CHECK(r->ack_ok);
  CHECK(waited >= 600);
  CHECK(r->delivered == 2);
  json i = s.info("ORDERS", "w");
  CHECK(i["num_ack_pending"] == 1);
  CHECK(i["num_redelivered"] == 1);
}

TEST_CASE("pull: +TERM stops redelivery, counts as acked and publishes MSG_TERMINATED", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w", {{"ack_wait", ns(200ms)}});
  s.pub("orders.a", "1");
  s.pub("orders.a", "2");
  s.pull("ORDERS", "w", "2");
  Delivery d1 = s.msg();
  Delivery d2 = s.msg();
  REQUIRE(s.ack(d1, "+TERM"));
  REQUIRE(s.ack(d2));
  auto adv = s.advisory_on("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.ORDERS.w");
  REQUIRE(adv);
  CHECK((*adv)["type"] == "io.nats.jetstream.advisory.v1.terminated");
  CHECK((*adv)["stream"] == "ORDERS");
  CHECK((*adv)["consumer"] == "w");
  CHECK((*adv)["consumer_seq"] == 1);
  CHECK((*adv)["stream_seq"] == 1);
  CHECK((*adv)["deliveries"] == 1);
  CHECK((*adv)["id"].is_string());
  CHECK((*adv)["timestamp"].is_string());
  json i = s.info("ORDERS", "w");
  CHECK(i["num_ack_pending"] == 0);
  CHECK(pos(i["ack_floor"]) == seqs(2, 2));
  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(500ms)}});
  CHECK(s.status(2s) == pending_status("408 Request Timeout", 1, 0));
}

TEST_CASE("pull: +NXT acks and pulls the next message to the ack's reply", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w");
  s.pub("orders.a", "1");
  s.pub("orders.a", "2");
  s.pub("orders.a", "3");
  s.pull("ORDERS", "w");
  Delivery d1 = s.msg();
  REQUIRE(s.api.send(JsServer::pub_op(d1.reply, "_INBOX.p.nxt", "+NXT")));
  Delivery d2 = s.msg();  // no empty ack-reply first: the next message is the answer
  CHECK(d2.sseq == 2);
  REQUIRE(s.api.send(JsServer::pub_op(d2.reply, "_INBOX.p.nxt2", R"(+NXT {"batch":1})")));
  Delivery d3 = s.msg();
  CHECK(d3.sseq == 3);
  CHECK(s.quiet(200ms));
  REQUIRE(s.ack(d3));
  json i = s.info("ORDERS", "w");
  CHECK(i["num_ack_pending"] == 0);
  CHECK(pos(i["ack_floor"]) == seqs(3, 3));
}

TEST_CASE("pull: ack_policy all acks everything up to the message, none tracks nothing", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "all", {{"ack_policy", "all"}});
  s.create_consumer("ORDERS", "none", {{"durable_name", "none"}, {"ack_policy", "none"}, {"ack_wait", ns(100ms)}});
  for (int k = 0; k < 4; ++k) s.pub("orders.a", std::to_string(k));
  auto ds = s.fetch("ORDERS", "all", 4);
  REQUIRE(s.ack(ds[2]));
  json i = s.info("ORDERS", "all");
  CHECK(i["num_ack_pending"] == 1);
  CHECK(pos(i["ack_floor"]) == seqs(3, 3));
  REQUIRE(s.ack(ds[0]));  // below the floor: ignored
  CHECK(s.info("ORDERS", "all")["num_ack_pending"] == 1);
  REQUIRE(s.ack(ds[3]));
  CHECK(pos(s.info("ORDERS", "all")["ack_floor"]) == seqs(4, 4));

  auto dn = s.fetch("ORDERS", "none", 2);
  CHECK(dn[1].sseq == 2);
  i = s.info("ORDERS", "none");
  CHECK(i["num_ack_pending"] == 0);
  CHECK(pos(i["ack_floor"]) == seqs(2, 2));
  CHECK(i["num_pending"] == 2);
  // Nothing is ever redelivered.
  s.pull_json("ORDERS", "none", {{"batch", 3}, {"expires", ns(400ms)}});
  CHECK(s.msg().sseq == 3);
  CHECK(s.msg().sseq == 4);
  CHECK(s.status(2s) == pending_status("408 Request Timeout", 1, 0));
}

TEST_CASE("pull: max_ack_pending stops new deliveries and resumes as acks arrive", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w", {{"max_ack_pending", 2}});
  for (int k = 0; k < 4; ++k) s.pub("orders.a", std::to_string(k));
  s.pull_json("ORDERS", "w", {{"batch", 4}, {"expires", ns(3s)}});
  Delivery d1 = s.msg();
  Delivery d2 = s.msg();
  CHECK(s.quiet(300ms));
  json i = s.info("ORDERS", "w");
  CHECK(i["num_ack_pending"] == 2);
  CHECK(i["num_pending"] == 2);
  CHECK(i["num_waiting"] == 1);
  // One ack frees one slot: the waiting request gets the third message, no new pull needed.
  REQUIRE(s.ack(d1));
  Delivery d3 = s.msg();
  CHECK(d3.sseq == 3);
  CHECK(s.quiet(200ms));
  REQUIRE(s.ack(d2));
  REQUIRE(s.ack(d3));
  Delivery d4 = s.msg();
  CHECK(d4.sseq == 4);
  REQUIRE(s.ack(d4));
  i = s.info("ORDERS", "w");
  CHECK(i["num_ack_pending"] == 0);
  CHECK(i["num_pending"] == 0);
  CHECK(pos(i["ack_floor"]) == seqs(4, 4));
}

TEST_CASE("pull: max_deliver stops redelivery and publishes MAX_DELIVERIES", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w", {{"ack_wait", ns(200ms)}, {"max_deliver", 2}, {"max_ack_pending", 1}});
  s.pub("orders.a", "poison");
  s.pub("orders.a", "good");
  s.pull_json("ORDERS", "w", {{"batch", 4}, {"expires", ns(2s)}});
  Delivery a = s.msg();
  CHECK(a.sseq == 1);
  Delivery b = s.msg();
  CHECK(b.sseq == 1);
  CHECK(b.delivered == 2);
  auto adv = s.advisory_on("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ORDERS.w", 2s);
  REQUIRE(adv);
  CHECK((*adv)["type"] == "io.nats.jetstream.advisory.v1.max_deliver");
  CHECK((*adv)["stream"] == "ORDERS");
  CHECK((*adv)["consumer"] == "w");
  CHECK((*adv)["stream_seq"] == 1);
  CHECK((*adv)["deliveries"] == 2);
  CHECK((*adv)["id"].is_string());
  CHECK((*adv)["timestamp"].is_string());
  // The drop frees the max_ack_pending slot: the next message flows on the same request.
  Delivery c = s.msg();
  CHECK(c.sseq == 2);
  CHECK(c.cseq == 3);
  REQUIRE(s.ack(c));
  json i = s.info("ORDERS", "w");
  CHECK(i["num_ack_pending"] == 0);
  CHECK(pos(i["delivered"]) == seqs(3, 2));
  // The poison message is never delivered a third time.
  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(500ms)}});
  auto st = s.next(2s);
  REQUIRE(st);
  CHECK(!st->ack_ok);
}

TEST_CASE("pull: backoff spaces the redeliveries and sets ack_wait", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  json r = s.durable("ORDERS", "w", {{"backoff", {ns(150ms), ns(500ms)}}, {"max_deliver", 4}});
  CHECK(r["config"]["ack_wait"] == ns(150ms));
  CHECK(r["config"]["backoff"] == json({ns(150ms), ns(500ms)}));
  s.pub("orders.a", "1");
  auto t0 = Clock::now();
  s.pull_json("ORDERS", "w", {{"batch", 3}, {"expires", ns(3s)}});
  Delivery d1 = s.msg();
  Delivery d2 = s.msg();
  int64_t at2 = ms_since(t0);
  Delivery d3 = s.msg(2s);
  int64_t at3 = ms_since(t0);
  CHECK(d2.delivered == 2);
  CHECK(d3.delivered == 3);
  // t0 precedes the first delivery, so these lower bounds hold however slow the machine is:
  // the 2nd delivery comes 150 ms after the 1st, the 3rd 500 ms after the 2nd.
  CHECK(at2 >= 150);
  CHECK(at2 < 450);
  CHECK(at3 >= 650);
  CHECK(at3 < 1300);
}

TEST_CASE("pull: deliver policies and filter_subject choose the start and num_pending", "[consumer][pull]") {
  JsServer s;
  s.create_stream({{"name", "EV"}, {"subjects", {"ev.>"}}});
  s.pub("ev.a", "a1");  // 1
  s.pub("ev.b", "b1");  // 2
  s.pub("ev.a", "a2");  // 3
  s.pub("ev.b", "b2");  // 4
  s.pub("ev.a", "a3");  // 5
  auto first = [&](const std::string& name, json cfg, uint64_t pending) {
    json r = s.durable("EV", name, cfg);
    INFO(name << " " << r.dump());
    CHECK(r["num_pending"] == pending);
    s.pull_json("EV", name, {{"batch", 1}, {"expires", ns(500ms)}});
    auto d = s.next(2s);
    REQUIRE(d);
    return d->ack_ok ? d->sseq : 0;
  };
  CHECK(first("all", json::object(), 5) == 1);
  CHECK(first("fa", {{"filter_subject", "ev.a"}}, 3) == 1);
  CHECK(first("fb", {{"filter_subject", "ev.b"}}, 2) == 2);
  CHECK(first("last", {{"deliver_policy", "last"}}, 1) == 5);
  CHECK(first("lastb", {{"deliver_policy", "last"}, {"filter_subject", "ev.b"}}, 1) == 4);
  CHECK(first("seq", {{"deliver_policy", "by_start_sequence"}, {"opt_start_seq", 3}}, 3) == 3);
  CHECK(first("seqf", {{"deliver_policy", "by_start_sequence"}, {"opt_start_seq", 3}, {"filter_subject", "ev.b"}}, 1) == 4);
  json m3 = s.request("$JS.API.STREAM.MSG.GET.EV", R"({"seq":3})");
  REQUIRE(m3["message"]["time"].is_string());
  CHECK(first("time", {{"deliver_policy", "by_start_time"}, {"opt_start_time", m3["message"]["time"]}}, 3) == 3);
  CHECK(first("lps", {{"deliver_policy", "last_per_subject"}, {"filter_subject", "ev.*"}}, 2) == 4);
  json lps = s.info("EV", "lps");
  CHECK(lps["num_pending"] == 1);
  // new: nothing now; the next publish is the first delivery.
  json r = s.durable("EV", "new", {{"deliver_policy", "new"}});
  CHECK(r["num_pending"] == 0);
  CHECK(pos(r["delivered"]) == seqs(0, 5));
  s.pull_json("EV", "new", {{"batch", 1}, {"expires", ns(2s)}});
  s.pub("ev.c", "c1");  // 6
  Delivery d = s.msg();
  CHECK(d.sseq == 6);
  CHECK(d.cseq == 1);
  // last_per_subject continues with everything stored after creation.
  s.pull_json("EV", "lps", {{"batch", 2}, {"expires", ns(500ms)}});
  CHECK(s.msg().sseq == 5);
  CHECK(s.msg().sseq == 6);
  // The filtered consumer only ever sees its subject.
  s.pull_json("EV", "fb", {{"batch", 5}, {"no_wait", true}});
  CHECK(s.msg().sseq == 4);
  CHECK(s.status() == pending_status("408 Request Timeout", 4, 0));
}

TEST_CASE("pull: deleting the consumer answers waiting requests with 409 Consumer Deleted", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w");
  std::string reply = s.pull_json("ORDERS", "w", {{"batch", 2}, {"expires", ns(5s)}});
  CHECK(s.info("ORDERS", "w")["num_waiting"] == 1);
  REQUIRE(!s.request("$JS.API.CONSUMER.DELETE.ORDERS.w").contains("error"));
  auto st = s.next();
  REQUIRE(st);
  CHECK(st->subject == reply);
  CHECK(st->headers == bare_status("409 Consumer Deleted"));
  // Later pulls for it get no answer.
  s.pull("ORDERS", "w", R"({"batch":1,"no_wait":true})");
  CHECK(s.quiet(300ms));
}

TEST_CASE("pull: idle heartbeats, bad request bodies and plain-text bodies", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w");
  s.pub("orders.a", "1");
  auto d = s.fetch("ORDERS", "w", 1);
  REQUIRE(s.ack(d[0]));

  // 100 Idle Heartbeat with the last delivered seqs, every idle_heartbeat while waiting.
  auto t0 = Clock::now();
  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(700ms)}, {"idle_heartbeat", ns(200ms)}});
  std::string hb = "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1\r\nNats-Last-Stream: 1\r\n\r\n";
  CHECK(s.status() == hb);
  CHECK(ms_since(t0) >= 150);
  CHECK(s.status() == hb);
  CHECK(s.status() == hb);
  CHECK(s.status() == pending_status("408 Request Timeout", 1, 0));

  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(200ms)}, {"idle_heartbeat", ns(150ms)}});
  CHECK(s.status() == bare_status("400 Bad Request - heartbeat value too large"));
  s.pull("ORDERS", "w", R"({"batch":"many"})");
  std::string bad = s.status();
  CHECK(bad.rfind("NATS/1.0 400 Bad Request - ", 0) == 0);
  CHECK(s.info("ORDERS", "w")["num_waiting"] == 0);

  // Text that is neither JSON nor a number is a request for one message.
  s.pub("orders.a", "2");
  s.pub("orders.a", "3");
  s.pull("ORDERS", "w", "give me some");
  CHECK(s.msg().sseq == 2);
  CHECK(s.quiet(200ms));
}

TEST_CASE("pull: waiting requests are served round-robin, a gone requester loses its turn", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w");
  RawClient a, b, gone;
  REQUIRE(a.handshake(s.server.port()));
  REQUIRE(b.handshake(s.server.port()));
  REQUIRE(gone.handshake(s.server.port()));
  // The first request's requester disconnects before anything arrives.
  REQUIRE(gone.send("SUB _INBOX.gone 1\r\n" + JsServer::pub_op("$JS.API.CONSUMER.MSG.NEXT.ORDERS.w", "_INBOX.gone", "1") +
                    "PING\r\n"));
  REQUIRE(gone.read_line() == std::optional<std::string>("PONG"));
  gone.close();
  REQUIRE(a.send("SUB _INBOX.A 1\r\n" + JsServer::pub_op("$JS.API.CONSUMER.MSG.NEXT.ORDERS.w", "_INBOX.A", "2") +
                 "PING\r\n"));
  REQUIRE(a.read_line() == std::optional<std::string>("PONG"));
  REQUIRE(b.send("SUB _INBOX.B 1\r\n" + JsServer::pub_op("$JS.API.CONSUMER.MSG.NEXT.ORDERS.w", "_INBOX.B", "2") +
                 "PING\r\n"));
  REQUIRE(b.read_line() == std::optional<std::string>("PONG"));
  for (int k = 1; k <= 4; ++k) s.pub("orders.a", std::to_string(k));
  std::vector<uint64_t> got_a, got_b;
  for (int k = 0; k < 2; ++k) {
    auto m = a.read_msg();
    REQUIRE(m);
    got_a.push_back(to_delivery(*m).sseq);
    m = b.read_msg();
    REQUIRE(m);
    got_b.push_back(to_delivery(*m).sseq);
  }
  // A got 1, moved behind B, B got 2, and so on; nothing went to the gone requester.
  CHECK(got_a == std::vector<uint64_t>{1, 3});
  CHECK(got_b == std::vector<uint64_t>{2, 4});
  CHECK(s.info("ORDERS", "w")["num_waiting"] == 0);
}

TEST_CASE("pull: a full purge clears the pending set and moves the floor", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w", {{"ack_wait", ns(300ms)}});
  for (int k = 1; k <= 4; ++k) s.pub("orders.a", std::to_string(k));
  auto ds = s.fetch("ORDERS", "w", 3);
  REQUIRE(s.ack(ds[0]));
  REQUIRE(!s.request("$JS.API.STREAM.PURGE.ORDERS").contains("error"));
  json i = s.info("ORDERS", "w");
  INFO(i.dump());
  CHECK(i["num_ack_pending"] == 0);
  CHECK(i["num_pending"] == 0);
  CHECK(i["ack_floor"]["stream_seq"] == 4);
  CHECK(i["delivered"]["consumer_seq"] == 3);
  // Nothing purged comes back after ack_wait; the next message continues the consumer seqs.
  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(600ms)}});
  CHECK(s.status(2s) == pending_status("408 Request Timeout", 1, 0));
  s.pub("orders.a", "5");
  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(1s)}});
  Delivery d = s.msg();
  CHECK(d.sseq == 5);
  CHECK(d.cseq == 4);
}

TEST_CASE("pull: raising max_ack_pending by update resumes a stalled request", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  json cfg = {{"durable_name", "w"}, {"ack_policy", "explicit"}, {"max_ack_pending", 1}};
  REQUIRE(!s.create_consumer("ORDERS", "w", cfg).contains("error"));
  for (int k = 1; k <= 3; ++k) s.pub("orders.a", std::to_string(k));
  s.pull_json("ORDERS", "w", {{"batch", 3}, {"expires", ns(2s)}});
  CHECK(s.msg().sseq == 1);
  CHECK(s.quiet(200ms));
  cfg["max_ack_pending"] = 3;
  json r = s.create_consumer("ORDERS", "w", cfg);
  REQUIRE(!r.contains("error"));
  CHECK(r["config"]["max_ack_pending"] == 3);
  // nats-server 2.9.10 applies the new limit at the next signal: a publish or an ack.
  s.pub("orders.a", "4");
  CHECK(s.msg().sseq == 2);
  CHECK(s.msg().sseq == 3);
  CHECK(s.info("ORDERS", "w")["num_ack_pending"] == 3);
}

TEST_CASE("pull: stream delete answers waiting requests with 409 Consumer Deleted", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w");
  std::string reply = s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(5s)}});
  REQUIRE(!s.request("$JS.API.STREAM.DELETE.ORDERS").contains("error"));
  auto st = s.next();
  REQUIRE(st);
  CHECK(st->subject == reply);
  CHECK(st->headers == bare_status("409 Consumer Deleted"));
}

TEST_CASE("pull: malformed ack subjects and unknown bodies change nothing", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w", {{"ack_wait", ns(300ms)}});
  s.pub("orders.a", "1");
  auto d = s.fetch("ORDERS", "w", 1)[0];
  // Too few tokens: nothing subscribes to it (the consumer's ack subscription has exactly nine
  // tokens), so the requester gets a 503 no-responders status, not an ack-reply.
  auto bad = s.raw_request("$JS.ACK.ORDERS.w.1.1.1", "+ACK", "", 1s);
  REQUIRE(bad);
  CHECK(bad->headers.rfind("NATS/1.0 503", 0) == 0);
  // An unknown body is answered but is not an ack.
  REQUIRE(s.ack(d, "+WHAT"));
  json i = s.info("ORDERS", "w");
  CHECK(i["num_ack_pending"] == 1);
  // Not acked: redelivered after ack_wait.
  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(1s)}});
  Delivery r = s.msg();
  CHECK(r.delivered == 2);
  // -NAK with a Go duration delays like {"delay":..}.
  s.pull_json("ORDERS", "w", {{"batch", 1}, {"expires", ns(2s)}});
  auto t0 = Clock::now();
  REQUIRE(s.ack(r, "-NAK 300ms"));
  Delivery r2 = s.msg();
  CHECK(ms_since(t0) >= 250);
  CHECK(r2.delivered == 3);
}

TEST_CASE("pull: the whole cycle over a libtern connection", "[consumer][pull][libtern]") {
  JsServer s;
  setup_orders(s);
  tern::Options opts;
  opts.url = s.server.url();
  auto conn = tern::Connection::connect(opts);
  REQUIRE(conn);
  tern::Connection& nc = **conn;
  auto ok = [](const tern::Result<tern::Msg>& r) { return r.is_ok(); };

  json cfg = {{"stream_name", "ORDERS"}, {"config", {{"durable_name", "lt"}, {"ack_policy", "explicit"}}}};
  auto created = nc.request("$JS.API.CONSUMER.CREATE.ORDERS.lt", cfg.dump(), 2s);
  REQUIRE(ok(created));
  CHECK(json::parse(created->data)["name"] == "lt");
  auto pa = nc.request("orders.lt", "hello", 2s);
  REQUIRE(ok(pa));
  CHECK(json::parse(pa->data) == json({{"stream", "ORDERS"}, {"seq", 1}}));

  std::string inbox = nc.new_inbox();
  auto sub = nc.subscribe_sync(inbox);
  REQUIRE(sub);
  REQUIRE(nc.publish("$JS.API.CONSUMER.MSG.NEXT.ORDERS.lt", inbox, R"({"batch":1,"expires":2000000000})").is_ok());
  auto m = sub->next(2s);
  REQUIRE(ok(m));
  CHECK(m->subject == "orders.lt");
  CHECK(m->data == "hello");
  CHECK(m->reply.rfind("$JS.ACK.ORDERS.lt.1.1.1.", 0) == 0);
  // AckSync: the ack-reply is an empty message.
  auto acked = nc.request(m->reply, "+ACK", 2s);
  REQUIRE(ok(acked));
  CHECK(acked->data.empty());

  // Status replies arrive as header-only messages with the status in the version line.
  REQUIRE(nc.publish("$JS.API.CONSUMER.MSG.NEXT.ORDERS.lt", inbox, R"({"batch":1,"no_wait":true})").is_ok());
  auto st = sub->next(2s);
  REQUIRE(ok(st));
  CHECK(st->headers.status() == 404);
  CHECK(st->headers.description() == "No Messages");
  CHECK(st->data.empty());

  auto info = nc.request("$JS.API.CONSUMER.INFO.ORDERS.lt", "", 2s);
  REQUIRE(ok(info));
  json i = json::parse(info->data);
  CHECK(i["num_ack_pending"] == 0);
  CHECK(pos(i["ack_floor"]) == seqs(1, 1));
  nc.close();
}

TEST_CASE("pull: deleted messages are skipped and leave num_pending and the pending set", "[consumer][pull]") {
  JsServer s;
  setup_orders(s);
  s.durable("ORDERS", "w", {{"ack_wait", ns(300ms)}});
  for (int k = 1; k <= 4; ++k) s.pub("orders.a", std::to_string(k));
  auto d1 = s.fetch("ORDERS", "w", 1)[0];
  CHECK(s.info("ORDERS", "w")["num_pending"] == 3);
  REQUIRE(!s.request("$JS.API.STREAM.MSG.DELETE.ORDERS", R"({"seq":3})").contains("error"));
  CHECK(s.info("ORDERS", "w")["num_pending"] == 2);
  // Deleting a pending message takes it out of the pending set (handled as terminated, R-11.6).
  REQUIRE(!s.request("$JS.API.STREAM.MSG.DELETE.ORDERS", R"({"seq":1})").contains("error"));
  json i = s.info("ORDERS", "w");
  CHECK(i["num_ack_pending"] == 0);
  s.pull_json("ORDERS", "w", {{"batch", 3}, {"expires", ns(700ms)}});
  Delivery a = s.msg();
  Delivery b = s.msg();
  CHECK(a.sseq == 2);
  CHECK(b.sseq == 4);
  CHECK(b.pending == 0);
  REQUIRE(s.ack(a));
  REQUIRE(s.ack(b));
  // Seq 1 is never redelivered although its ack_wait passes.
  CHECK(s.status(2s) == pending_status("408 Request Timeout", 1, 0));
  (void)d1;
}
