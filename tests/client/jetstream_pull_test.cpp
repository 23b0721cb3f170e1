// libtern pull consumers against a real server (tern-server and nats-server 2.9.10): fetch and
// next, the ack family and what the consumer's info shows after each, consume() with re-pulls,
// request expiry and heartbeats, deleted consumers, and ack-subject metadata.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>
#include <thread>

#include "tern/jetstream.h"
#include "tests/client/client_test_util.h"

using namespace std::chrono_literals;
using json = nlohmann::json;
using tern::error_code;
using tern::ErrorCode;
using tern::JsMsg;
using tern::PullConsumer;
using Clock = std::chrono::steady_clock;

namespace {

int64_t ns(std::chrono::milliseconds d) { return d.count() * 1000000LL; }

// A JetStream server, a connection, stream ORDERS on orders.> and helpers to fill it.
// Streams and consumers are made with raw API requests so that these tests depend on the
// pull side only.
struct Fixture {
  tern::test::JetStreamServer server;
  std::unique_ptr<tern::Connection> conn = tern::test::connect_or_fail(server.url());
  tern::JetStream js{*conn};

  Fixture() {
    auto r = js.api_request("STREAM.CREATE.ORDERS", R"({"name":"ORDERS","subjects":["orders.>"]})");
    INFO((r ? *r : r.status().message()));
    REQUIRE(r.is_ok());
  }

  // A durable pull consumer with explicit acks plus `extra` config; returns its handle.
  PullConsumer durable(const std::string& name, json extra = json::object()) {
    json cfg = {{"durable_name", name}, {"ack_policy", "explicit"}};
    for (auto& [k, v] : extra.items()) cfg[k] = v;
    json req = {{"stream_name", "ORDERS"}, {"config", cfg}};
    auto r = js.api_request("CONSUMER.DURABLE.CREATE.ORDERS." + name, req.dump());
    INFO((r ? *r : r.status().message()));
    REQUIRE(r.is_ok());
    auto pc = js.pull_consumer("ORDERS", name);
    REQUIRE(pc.is_ok());
    return std::move(*pc);
  }

  // Publishes orders.<first>..orders.<first+n-1> with data "order <i>"; the last one as a
  // request, whose pub ack (in order after the others) says all are stored. Returns its seq.
  uint64_t publish(int n, int first = 1) {
    for (int i = first; i < first + n - 1; ++i)
      REQUIRE(conn->publish("orders." + std::to_string(i), "order " + std::to_string(i)).is_ok());
    int last = first + n - 1;
    auto ack = conn->request("orders." + std::to_string(last), "order " + std::to_string(last), 5s);
    REQUIRE(ack.is_ok());
    json j = json::parse(ack->data, nullptr, false);
    INFO(ack->data);
    REQUIRE(j.contains("seq"));
    return j["seq"].get<uint64_t>();
  }

  tern::ConsumerInfo info(PullConsumer& pc) {
    auto i = pc.info();
    INFO((i ? std::string() : i.status().message()));
    REQUIRE(i.is_ok());
    return *i;
  }
};

uint64_t stream_seq(const JsMsg& m) {
  auto md = m.metadata();
  REQUIRE(md.is_ok());
  return md->stream_seq;
}

uint64_t deliveries(const JsMsg& m) {
  auto md = m.metadata();
  REQUIRE(md.is_ok());
  return md->num_delivered;
}

int64_t elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

}  // namespace

TEST_CASE("fetch returns a batch in order, each with its ack metadata", "[jetstream][pull]") {
  Fixture f;
  auto pc = f.durable("worker");
  CHECK(pc.stream() == "ORDERS");
  CHECK(pc.name() == "worker");
  REQUIRE(f.publish(25) == 25);

  auto start = Clock::now();
  auto msgs = pc.fetch(10, 2s);
  REQUIRE(msgs.is_ok());
  CHECK(elapsed_ms(start) < 1000);  // a full batch does not wait for the expiry
  REQUIRE(msgs->size() == 10);
  auto now = std::chrono::system_clock::now();
  for (size_t i = 0; i < msgs->size(); ++i) {
    const JsMsg& m = (*msgs)[i];
    INFO("message " << i << " reply " << m.reply());
    CHECK(m.subject() == "orders." + std::to_string(i + 1));
    CHECK(m.data() == "order " + std::to_string(i + 1));
    CHECK(!m.acked());
    auto md = m.metadata();
    REQUIRE(md.is_ok());
    CHECK(md->domain.empty());
    CHECK(md->stream == "ORDERS");
    CHECK(md->consumer == "worker");
    CHECK(md->num_delivered == 1);
    CHECK(md->stream_seq == i + 1);
    CHECK(md->consumer_seq == i + 1);
    CHECK(md->num_pending == 25 - (i + 1));
    CHECK(md->timestamp > now - 1min);
    CHECK(md->timestamp < now + 1min);
  }
  CHECK((*msgs)[9].metadata()->num_pending == 15);

  // The next fetch goes on where this one stopped.
  auto more = pc.fetch(100, 500ms);
  REQUIRE(more.is_ok());
  REQUIRE(more->size() == 15);
  CHECK(stream_seq(more->front()) == 11);
  CHECK(stream_seq(more->back()) == 25);
}

TEST_CASE("fetch and next on an empty consumer time out after about the timeout", "[jetstream][pull]") {
  Fixture f;
  auto pc = f.durable("worker");
  auto start = Clock::now();
  auto none = pc.fetch(5, 400ms);
  REQUIRE(!none.is_ok());
  CHECK(error_code(none.status()) == ErrorCode::Timeout);
  CHECK(elapsed_ms(start) >= 300);
  CHECK(elapsed_ms(start) < 1200);

  start = Clock::now();
  auto one = pc.next(300ms);
  CHECK(error_code(one.status()) == ErrorCode::Timeout);
  CHECK(elapsed_ms(start) >= 200);

  // A message published while next() waits is delivered to it.
  std::thread pub([&] {
    std::this_thread::sleep_for(100ms);
    (void)f.conn->publish("orders.late", "late");
  });
  auto late = pc.next(2s);
  pub.join();
  REQUIRE(late.is_ok());
  CHECK(late->subject() == "orders.late");
  CHECK(late->data() == "late");
}

TEST_CASE("fetch with no_wait answers at once with what is there", "[jetstream][pull]") {
  Fixture f;
  auto pc = f.durable("worker");
  f.publish(3);
  tern::FetchOptions nw;
  nw.no_wait = true;
  auto start = Clock::now();
  auto msgs = pc.fetch(10, 5s, nw);
  REQUIRE(msgs.is_ok());
  CHECK(msgs->size() == 3);
  CHECK(elapsed_ms(start) < 1000);

  // Nothing left (the three await their acks): Timeout at once, not after 5 s.
  start = Clock::now();
  auto none = pc.fetch(10, 5s, nw);
  CHECK(error_code(none.status()) == ErrorCode::Timeout);
  CHECK(elapsed_ms(start) < 1000);
}

TEST_CASE("fetch respects max_bytes", "[jetstream][pull]") {
  Fixture f;
  auto pc = f.durable("worker");
  f.publish(10);
  tern::FetchOptions o;
  o.max_bytes = 150;  // each message costs subject + ack reply + payload: ~70 bytes
  auto msgs = pc.fetch(10, 2s, o);
  REQUIRE(msgs.is_ok());
  CHECK(msgs->size() >= 1);
  CHECK(msgs->size() <= 2);
  CHECK(stream_seq(msgs->front()) == 1);
}

TEST_CASE("ack moves the ack floor and empties ack pending", "[jetstream][pull][ack]") {
  Fixture f;
  auto pc = f.durable("worker");
  f.publish(3);
  auto msgs = pc.fetch(3, 2s);
  REQUIRE(msgs.is_ok());
  REQUIRE(msgs->size() == 3);
  auto before = f.info(pc);
  CHECK(before.name == "worker");
  CHECK(before.stream_name == "ORDERS");
  CHECK(before.num_ack_pending == 3);
  CHECK(before.ack_floor.stream_seq == 0);
  CHECK(before.delivered.stream_seq == 3);

  for (auto& m : *msgs) {
    REQUIRE(m.ack().is_ok());
    CHECK(m.acked());
  }
  // Plain acks are fire-and-forget: the server applies them shortly.
  tern::ConsumerInfo after;
  CHECK(tern::test::eventually([&] {
    after = f.info(pc);
    return after.num_ack_pending == 0 && after.ack_floor.stream_seq == 3;
  }));
  CHECK(after.ack_floor.consumer_seq == 3);
  CHECK(after.num_redelivered == 0);
}

TEST_CASE("ack_sync returns once the server has applied the ack", "[jetstream][pull][ack]") {
  Fixture f;
  auto pc = f.durable("worker");
  f.publish(2);
  auto msgs = pc.fetch(2, 2s);
  REQUIRE(msgs.is_ok());
  REQUIRE(msgs->size() == 2);
  REQUIRE((*msgs)[0].ack_sync(2s).is_ok());
  CHECK((*msgs)[0].acked());
  auto i = f.info(pc);  // no waiting: the ack's reply came after it was applied
  CHECK(i.num_ack_pending == 1);
  CHECK(i.ack_floor.stream_seq == 1);
  REQUIRE((*msgs)[1].ack_sync(2s).is_ok());
  i = f.info(pc);
  CHECK(i.num_ack_pending == 0);
  CHECK(i.ack_floor.stream_seq == 2);

  auto again = (*msgs)[1].ack_sync(2s);
  CHECK(error_code(again) == ErrorCode::InvalidArgument);
  CHECK_THAT(again.message(), Catch::Contains("already acknowledged"));
}

TEST_CASE("a message is acknowledged once: a second ack, nak, term or in_progress is refused",
          "[jetstream][pull][ack]") {
  Fixture f;
  auto pc = f.durable("worker");
  f.publish(2);
  auto msgs = pc.fetch(2, 2s);
  REQUIRE(msgs.is_ok());
  REQUIRE(msgs->size() == 2);
  JsMsg& a = (*msgs)[0];
  REQUIRE(a.ack().is_ok());
  for (const tern::Status& st : {a.ack(), a.nak(), a.nak(1s), a.term(), a.in_progress(), a.ack_sync(1s)}) {
    CHECK(error_code(st) == ErrorCode::InvalidArgument);
    CHECK_THAT(st.message(), Catch::Contains("already acknowledged"));
  }
  // in_progress may come any number of times before the final ack.
  JsMsg& b = (*msgs)[1];
  CHECK(b.in_progress().is_ok());
  CHECK(b.in_progress().is_ok());
  CHECK(!b.acked());
  CHECK(b.term().is_ok());
  CHECK(error_code(b.ack()) == ErrorCode::InvalidArgument);

  // A JsMsg that did not come from a consumer has nothing to ack.
  JsMsg empty;
  CHECK(error_code(empty.ack()) == ErrorCode::InvalidArgument);
  CHECK(error_code(empty.ack_sync(100ms)) == ErrorCode::InvalidArgument);
  CHECK(error_code(empty.in_progress()) == ErrorCode::InvalidArgument);
  CHECK(error_code(empty.metadata().status()) == ErrorCode::InvalidArgument);
}

TEST_CASE("nak redelivers at once, with the delivery count raised", "[jetstream][pull][ack]") {
  Fixture f;
  auto pc = f.durable("worker");
  f.publish(1);
  auto first = pc.next(2s);
  REQUIRE(first.is_ok());
  CHECK(deliveries(*first) == 1);
  REQUIRE(first->nak().is_ok());
  auto start = Clock::now();
  auto again = pc.next(2s);
  REQUIRE(again.is_ok());
  CHECK(elapsed_ms(start) < 1000);
  CHECK(stream_seq(*again) == 1);
  CHECK(deliveries(*again) == 2);
  CHECK(again->data() == "order 1");
  REQUIRE(again->ack_sync().is_ok());
  auto i = f.info(pc);
  CHECK(i.num_redelivered == 0);
  CHECK(i.num_ack_pending == 0);
}

TEST_CASE("nak with a delay redelivers no sooner than the delay", "[jetstream][pull][ack]") {
  Fixture f;
  auto pc = f.durable("worker");
  f.publish(1);
  auto first = pc.next(2s);
  REQUIRE(first.is_ok());
  auto naked = Clock::now();
  REQUIRE(first->nak(700ms).is_ok());
  auto early = pc.next(400ms);
  CHECK(error_code(early.status()) == ErrorCode::Timeout);
  auto later = pc.next(2s);
  REQUIRE(later.is_ok());
  CHECK(elapsed_ms(naked) >= 650);
  CHECK(stream_seq(*later) == 1);
  CHECK(deliveries(*later) == 2);
}

TEST_CASE("term stops redelivery for good", "[jetstream][pull][ack]") {
  Fixture f;
  auto pc = f.durable("worker", {{"ack_wait", ns(400ms)}});
  f.publish(2);
  auto msgs = pc.fetch(2, 2s);
  REQUIRE(msgs.is_ok());
  REQUIRE(msgs->size() == 2);
  REQUIRE((*msgs)[0].term().is_ok());
  // The second is left unacked: after ack_wait it comes back, the terminated one does not.
  auto back = pc.next(1s);
  REQUIRE(back.is_ok());
  CHECK(stream_seq(*back) == 2);
  CHECK(deliveries(*back) == 2);
  REQUIRE(back->ack_sync().is_ok());
  auto none = pc.next(600ms);  // well past the first one's ack_wait
  INFO((none ? "redelivered seq " + std::to_string(stream_seq(*none)) : none.status().message()));
  CHECK(error_code(none.status()) == ErrorCode::Timeout);
  auto i = f.info(pc);
  CHECK(i.num_ack_pending == 0);
  CHECK(i.ack_floor.stream_seq == 2);
}

TEST_CASE("in_progress restarts the ack wait", "[jetstream][pull][ack]") {
  Fixture f;
  auto pc = f.durable("worker", {{"ack_wait", ns(1000ms)}});
  f.publish(1);
  auto m = pc.next(2s);
  REQUIRE(m.is_ok());
  auto got = Clock::now();
  std::this_thread::sleep_until(got + 600ms);
  REQUIRE(m->in_progress().is_ok());
  // Without the +WPI it would be redelivered at 1 s; with it not before 1.6 s.
  auto early = pc.next(std::chrono::duration_cast<std::chrono::milliseconds>(got + 1250ms - Clock::now()));
  CHECK(error_code(early.status()) == ErrorCode::Timeout);
  auto later = pc.next(2s);
  REQUIRE(later.is_ok());
  CHECK(elapsed_ms(got) >= 1500);
  CHECK(deliveries(*later) == 2);
}

TEST_CASE("fetch from a consumer that is deleted is an error", "[jetstream][pull]") {
  Fixture f;
  auto pc = f.durable("worker");

  SECTION("deleted while the fetch waits") {
    tern::Result<std::vector<JsMsg>> r = tern::make_error(ErrorCode::Unknown, "not run");
    auto start = Clock::now();
    std::thread t([&] { r = pc.fetch(5, 5s); });
    // Delete once the pull request is waiting on the server.
    CHECK(tern::test::eventually([&] { return f.info(pc).num_waiting == 1; }));
    REQUIRE(f.js.api_request("CONSUMER.DELETE.ORDERS.worker", "").is_ok());
    t.join();
    REQUIRE(!r.is_ok());
    CHECK(error_code(r.status()) == ErrorCode::ServerError);
    CHECK_THAT(r.status().message(), Catch::Contains("409 Consumer Deleted"));
    CHECK(elapsed_ms(start) < 3000);
  }
  SECTION("deleted before the fetch") {
    // Nobody answers the pull request (the API import keeps the subject "interesting", so no
    // 503 either); the fetch finds out why when its timeout passes without even a 408.
    REQUIRE(f.js.api_request("CONSUMER.DELETE.ORDERS.worker", "").is_ok());
    auto start = Clock::now();
    auto r = pc.fetch(5, 500ms);
    REQUIRE(!r.is_ok());
    INFO(r.status().message());
    CHECK(error_code(r.status()) == ErrorCode::JetStreamApi);
    auto e = tern::api_error(r.status());
    REQUIRE(e);
    CHECK(e->err_code == 10014);  // consumer not found
    CHECK(elapsed_ms(start) < 2000);
  }
}

TEST_CASE("consume delivers every message once across many re-pulls, and stop() stops it",
          "[jetstream][pull][consume]") {
  Fixture f;
  auto pc = f.durable("worker");
  constexpr int kCount = 500;
  f.publish(kCount);

  tern::test::Signal sig;
  std::map<uint64_t, int> seen;  // stream seq -> callbacks
  int calls = 0;
  bool all_first_delivery = true;
  tern::ConsumeOptions opts;
  opts.batch = 20;
  auto ctx = pc.consume(
      [&](JsMsg& m) {
        auto md = m.metadata();
        (void)m.ack();
        sig.update([&] {
          ++calls;
          if (md) {
            ++seen[md->stream_seq];
            all_first_delivery = all_first_delivery && md->num_delivered == 1;
          }
        });
      },
      opts);
  REQUIRE(ctx.is_ok());
  CHECK(sig.wait([&] { return calls >= kCount; }, 5s));
  ctx->stop();
  {
    std::lock_guard lock(sig.mutex());
    CHECK(calls == kCount);
    CHECK(seen.size() == static_cast<size_t>(kCount));
    CHECK(seen.begin()->first == 1);
    CHECK(seen.rbegin()->first == kCount);
    CHECK(all_first_delivery);
  }
  CHECK(ctx->delivered() == kCount);
  CHECK(ctx->last_error().is_ok());

  // After stop() the consume takes nothing more: new messages go to the next fetch.
  f.publish(5, kCount + 1);
  auto rest = pc.fetch(5, 2s);
  REQUIRE(rest.is_ok());
  CHECK(rest->size() == 5);
  for (auto& m : *rest) CHECK(stream_seq(m) > kCount);
  std::lock_guard lock(sig.mutex());
  CHECK(calls == kCount);
  CHECK(ctx->delivered() == kCount);
}

TEST_CASE("consume keeps pulling after its requests expire", "[jetstream][pull][consume]") {
  Fixture f;
  auto pc = f.durable("worker");
  tern::test::Inbox got;
  tern::ConsumeOptions opts;
  opts.batch = 10;
  opts.expires = 300ms;
  auto handler = got.handler();
  auto ctx = pc.consume(
      [&](JsMsg& m) {
        (void)m.ack();
        handler(m.msg());
      },
      opts);
  REQUIRE(ctx.is_ok());
  f.publish(3);
  REQUIRE(got.wait_for(3));
  // Several request lifetimes pass with nothing to deliver.
  std::this_thread::sleep_for(1000ms);
  f.publish(3, 4);
  REQUIRE(got.wait_for(6, 2s));
  CHECK(ctx->delivered() == 6);
  CHECK(ctx->last_error().is_ok());
  std::lock_guard lock(got.signal.mutex());
  CHECK(got.msgs.size() == 6);
  CHECK(got.msgs.back().subject == "orders.6");
}

TEST_CASE("consume with idle heartbeats keeps delivering", "[jetstream][pull][consume]") {
  Fixture f;
  auto pc = f.durable("worker");
  tern::test::Inbox got;
  tern::ConsumeOptions opts;
  opts.batch = 5;
  opts.expires = 400ms;
  opts.heartbeat = 100ms;
  auto handler = got.handler();
  auto ctx = pc.consume(
      [&](JsMsg& m) {
        (void)m.ack();
        handler(m.msg());
      },
      opts);
  REQUIRE(ctx.is_ok());
  f.publish(7);
  REQUIRE(got.wait_for(7));
  std::this_thread::sleep_for(600ms);  // idle: heartbeats and expiring requests
  f.publish(2, 8);
  REQUIRE(got.wait_for(9, 2s));
  CHECK(ctx->last_error().is_ok());
  CHECK(ctx->delivered() == 9);
}

TEST_CASE("consume reports a deleted consumer in last_error", "[jetstream][pull][consume]") {
  Fixture f;
  auto pc = f.durable("worker");
  std::atomic<int> calls{0};
  auto ctx = pc.consume([&](JsMsg&) { ++calls; });
  REQUIRE(ctx.is_ok());
  CHECK(tern::test::eventually([&] { return f.info(pc).num_waiting >= 1; }));
  REQUIRE(f.js.api_request("CONSUMER.DELETE.ORDERS.worker", "").is_ok());
  CHECK(tern::test::eventually([&] { return !ctx->last_error().is_ok(); }));
  CHECK(error_code(ctx->last_error()) == ErrorCode::ServerError);
  CHECK_THAT(ctx->last_error().message(), Catch::Contains("Consumer Deleted"));
  CHECK(calls == 0);
}

TEST_CASE("consume on a consumer that no longer exists says so in last_error", "[jetstream][pull][consume]") {
  Fixture f;
  auto pc = f.durable("worker");
  REQUIRE(f.js.api_request("CONSUMER.DELETE.ORDERS.worker", "").is_ok());
  tern::ConsumeOptions opts;
  opts.expires = 300ms;  // silence is noticed about a second after the first request
  auto ctx = pc.consume([](JsMsg&) {}, opts);
  REQUIRE(ctx.is_ok());
  CHECK(tern::test::eventually([&] { return !ctx->last_error().is_ok(); }, 3s));
  INFO(ctx->last_error().message());
  auto e = tern::api_error(ctx->last_error());
  REQUIRE(e);
  CHECK(e->err_code == 10014);
}

TEST_CASE("consume's handler may stop it, no handler runs after stop() returns", "[jetstream][pull][consume]") {
  Fixture f;
  auto pc = f.durable("worker");
  std::atomic<int> calls{0};
  std::atomic<bool> in_handler{false};
  std::atomic<bool> after_stop{false};
  std::atomic<bool> ran_after_stop{false};
  tern::ConsumeContext ctx;
  tern::test::Signal stopped;
  bool done = false;
  tern::ConsumeOptions opts;
  opts.batch = 10;
  auto r = pc.consume(
      [&](JsMsg& m) {
        in_handler = true;
        if (after_stop) ran_after_stop = true;
        (void)m.ack();
        if (++calls == 5) {
          ctx.stop();  // from inside the handler: returns without waiting for itself
          stopped.update([&] { done = true; });
        }
        in_handler = false;
      },
      opts);
  REQUIRE(r.is_ok());
  ctx = std::move(*r);
  // Published only now, so that no handler runs before ctx is set (the 5th call stops it).
  f.publish(50);
  REQUIRE(stopped.wait([&] { return done; }));
  ctx.stop();  // again, from this thread: waits for the handler that called the first stop()
  CHECK(!in_handler);
  after_stop = true;
  CHECK(calls == 5);
  CHECK(ctx.delivered() == 5);
  CHECK_FALSE(ran_after_stop);
}

TEST_CASE("parse_ack_subject reads both ack subject forms and refuses anything else", "[jetstream][pull][unit]") {
  auto v1 = tern::parse_ack_subject("$JS.ACK.ORDERS.worker.2.7.5.1700000000123456789.3");
  REQUIRE(v1.is_ok());
  CHECK(v1->domain.empty());
  CHECK(v1->stream == "ORDERS");
  CHECK(v1->consumer == "worker");
  CHECK(v1->num_delivered == 2);
  CHECK(v1->stream_seq == 7);
  CHECK(v1->consumer_seq == 5);
  CHECK(v1->num_pending == 3);
  CHECK(std::chrono::duration_cast<std::chrono::nanoseconds>(v1->timestamp.time_since_epoch()).count() ==
        1700000000123456789LL);

  auto v2 = tern::parse_ack_subject("$JS.ACK.hub.ACCHASH.ORDERS.worker.1.8.6.1700000000000000000.0.r4nd0m");
  REQUIRE(v2.is_ok());
  CHECK(v2->domain == "hub");
  CHECK(v2->stream == "ORDERS");
  CHECK(v2->consumer == "worker");
  CHECK(v2->num_delivered == 1);
  CHECK(v2->stream_seq == 8);
  CHECK(v2->consumer_seq == 6);
  CHECK(v2->num_pending == 0);

  auto no_domain = tern::parse_ack_subject("$JS.ACK._.ACCHASH.S.C.1.2.3.4.5.xyz");
  REQUIRE(no_domain.is_ok());
  CHECK(no_domain->domain.empty());
  CHECK(no_domain->stream == "S");
  // nats.go accepts the v2 form without its random token too.
  CHECK(tern::parse_ack_subject("$JS.ACK._.ACCHASH.S.C.1.2.3.4.5").is_ok());

  for (const char* bad : {"", "foo", "$JS.ACK", "$JS.ACK.S.C.1.2.3.4",        // 8 tokens
                          "$JS.ACK.S.C.1.2.3.4.5.6",                          // 10 tokens
                          "$JS.NAK.S.C.1.2.3.4.5", "JS.ACK.S.C.1.2.3.4.5",    // not $JS.ACK
                          "$JS.ACK.S.C.x.2.3.4.5", "$JS.ACK.S.C.1.2.3.4.-5",  // not numbers
                          "$JS.ACK..C.1.2.3.4.5", "$JS.ACK.S.C.1.2.3.4.",     // empty tokens
                          "$JS.ACK.S.C.1.2.3.4.99999999999999999999999",      // overflow
                          "_INBOX.abc"}) {
    INFO(bad);
    auto r = tern::parse_ack_subject(bad);
    REQUIRE(!r.is_ok());
    CHECK(error_code(r.status()) == ErrorCode::InvalidArgument);
  }
}

TEST_CASE("an empty PullConsumer refuses every call", "[jetstream][pull][unit]") {
  PullConsumer pc;
  CHECK(pc.stream().empty());
  CHECK(pc.name().empty());
  CHECK(error_code(pc.fetch(1, 100ms).status()) == ErrorCode::InvalidArgument);
  CHECK(error_code(pc.next(100ms).status()) == ErrorCode::InvalidArgument);
  CHECK(error_code(pc.info().status()) == ErrorCode::InvalidArgument);
  CHECK(error_code(pc.consume([](JsMsg&) {}).status()) == ErrorCode::InvalidArgument);
  tern::ConsumeContext ctx;
  ctx.stop();
  CHECK(ctx.delivered() == 0);
  CHECK(ctx.last_error().is_ok());
}

// Regression: a reconnect drops the server's waiting pull requests silently, and consume only
// noticed once a request had been quiet for expires + 25% (here 12.5 s; 37.5 s by default).
TEST_CASE("consume pulls again at once after a reconnect", "[jetstream][pull][consume]") {
  char tmpl[] = "/tmp/tern-client-js-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl;
  struct RemoveDir {
    std::string d;
    ~RemoveDir() {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  } remove_dir{dir};
  tern::test::FixedPortServer server(tern::test::free_port(), {"-js", "-sd", dir});
  REQUIRE(server.start());
  tern::test::Signal events;
  int reconnects = 0;
  auto copts = tern::test::fast_options(server.url());
  copts.reconnected = [&](tern::Connection&) { events.update([&] { ++reconnects; }); };
  auto conn = tern::test::connect_or_fail(server.url(), copts);
  tern::JetStream js(*conn);
  tern::StreamConfig sc;
  sc.name = "ORDERS";
  sc.subjects = {"orders.>"};
  REQUIRE(js.add_stream(sc).is_ok());
  tern::ConsumerConfig cc;
  cc.durable_name = "worker";
  REQUIRE(js.add_consumer("ORDERS", cc).is_ok());
  auto pc = js.pull_consumer("ORDERS", "worker");
  REQUIRE(pc.is_ok());

  tern::test::Inbox got;
  auto handler = got.handler();
  tern::ConsumeOptions opts;
  opts.batch = 10;
  opts.expires = 10s;  // far beyond the test: only the reconnect can explain the silence
  auto ctx = pc->consume(
      [&](JsMsg& m) {
        (void)m.ack();
        handler(m.msg());
      },
      opts);
  REQUIRE(ctx.is_ok());
  REQUIRE(js.publish("orders.1", "before").is_ok());
  REQUIRE(got.wait_for(1));
  CHECK(tern::test::eventually([&] {
    auto i = pc->info();
    return i.is_ok() && i->num_waiting >= 1;
  }));

  server.stop();
  REQUIRE(server.start());
  REQUIRE(events.wait([&] { return reconnects == 1; }, 5s));
  for (int i = 2; i <= 3; ++i) {
    auto ack = js.publish("orders." + std::to_string(i), "after");
    INFO((ack ? std::string("ok") : ack.status().message()));
    REQUIRE(ack.is_ok());
  }
  REQUIRE(got.wait_for(3, 2s));
  CHECK(ctx->last_error().is_ok());
  CHECK(ctx->delivered() == 3);
  ctx->stop();
}

// Regression: once the connection closed, last_error() stayed ok until the lost-request check
// (expires + 25%) tried to pull again.
TEST_CASE("consume reports Closed soon after its connection closes", "[jetstream][pull][consume]") {
  Fixture f;
  auto pc = f.durable("worker");
  tern::ConsumeOptions opts;
  opts.expires = 10s;
  auto ctx = pc.consume([](JsMsg&) {}, opts);
  REQUIRE(ctx.is_ok());
  CHECK(tern::test::eventually([&] { return f.info(pc).num_waiting >= 1; }));
  f.conn->close();
  CHECK(tern::test::eventually([&] { return error_code(ctx->last_error()) == ErrorCode::Closed; }, 2s));
  INFO(ctx->last_error().message());
  ctx->stop();
}

// jetstream.h: API calls, fetch and ack_sync are answered on the I/O thread, so a consume
// handler (on the message thread) may make them.
TEST_CASE("a consume handler may call stream_info and fetch and ack_sync", "[jetstream][pull][consume]") {
  Fixture f;
  auto pc = f.durable("worker");
  auto other = f.durable("other");
  f.publish(3);
  tern::test::Signal sig;
  int infos = 0, acks = 0, fetched = 0, calls = 0;
  auto ctx = pc.consume([&](JsMsg& m) {
    auto info = f.js.stream_info("ORDERS");
    tern::Status acked = m.ack_sync(2s);
    auto more = other.fetch(1, 1s);
    if (more) (void)more->front().ack();
    sig.update([&] {
      ++calls;
      infos += info.is_ok() && info->state.messages == 3;
      acks += acked.is_ok();
      fetched += more.is_ok() && more->size() == 1;
    });
  });
  REQUIRE(ctx.is_ok());
  REQUIRE(sig.wait([&] { return calls == 3; }, 5s));
  ctx->stop();
  std::lock_guard lock(sig.mutex());
  CHECK(infos == 3);
  CHECK(acks == 3);
  CHECK(fetched == 3);
  auto i = f.info(pc);
  CHECK(i.ack_floor.stream_seq == 3);
  CHECK(i.num_ack_pending == 0);
}
