// libtern JetStream publishing: the stream's ack, dedup and expectation headers, no stream,
// and async publishing through the bounded window (futures, handlers, timeouts, Closed).
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tern/jetstream.h"
#include "tests/client/client_test_util.h"

using namespace std::chrono_literals;
using tern::error_code;
using tern::ErrorCode;
using tern::JetStream;
using tern::Msg;
using tern::PubAck;
using tern::Result;

namespace {

std::string describe(const tern::Status& st) { return st.is_ok() ? "ok" : st.message(); }

void add_stream(JetStream& js, const std::string& name, std::vector<std::string> subjects) {
  tern::StreamConfig c;
  c.name = name;
  c.subjects = std::move(subjects);
  auto r = js.add_stream(c);
  INFO(describe(r ? tern::Status::ok() : r.status()));
  REQUIRE(r.is_ok());
}

void require_api_error(const tern::Status& st, int code, int err_code) {
  INFO(describe(st));
  REQUIRE(error_code(st) == ErrorCode::JetStreamApi);
  auto e = tern::api_error(st);
  REQUIRE(e.has_value());
  CHECK(e->code == code);
  CHECK(e->err_code == err_code);
}

bool ready(std::future<Result<PubAck>>& f, std::chrono::milliseconds wait = 0ms) {
  return f.wait_for(wait) == std::future_status::ready;
}

}  // namespace

TEST_CASE("publish waits for the stream's ack, Nats-Msg-Id deduplicates", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);
  add_stream(js, "ORDERS", {"orders.>"});

  auto first = js.publish("orders.new", "one");
  INFO(describe(first ? tern::Status::ok() : first.status()));
  REQUIRE(first.is_ok());
  CHECK(first->stream == "ORDERS");
  CHECK(first->seq == 1);
  CHECK_FALSE(first->duplicate);
  CHECK(first->domain.empty());

  tern::PublishOptions id;
  id.msg_id = "order-7";
  auto a = js.publish("orders.new", "two", id);
  REQUIRE(a.is_ok());
  CHECK(a->seq == 2);
  CHECK_FALSE(a->duplicate);
  auto again = js.publish("orders.new", "two again", id);
  REQUIRE(again.is_ok());
  CHECK(again->duplicate);
  CHECK(again->seq == 2);
  CHECK(again->stream == "ORDERS");

  // The stored message carries the header, and the duplicate was not stored.
  auto stored = js.get_msg("ORDERS", 2);
  REQUIRE(stored.is_ok());
  CHECK(stored->data == "two");
  REQUIRE(stored->headers.get("Nats-Msg-Id"));
  CHECK(*stored->headers.get("Nats-Msg-Id") == "order-7");
  CHECK(js.stream_info("ORDERS")->state.messages == 2);

  // A Msg keeps its own headers next to the publish options'.
  Msg m("orders.paid", "three");
  m.headers.add("Trace-Id", "abc");
  tern::PublishOptions id2;
  id2.msg_id = "order-8";
  auto withh = js.publish(m, id2);
  REQUIRE(withh.is_ok());
  CHECK(withh->seq == 3);
  auto stored3 = js.get_msg("ORDERS", 3);
  REQUIRE(stored3.is_ok());
  CHECK(*stored3->headers.get("Trace-Id") == "abc");
  CHECK(*stored3->headers.get("Nats-Msg-Id") == "order-8");
}

TEST_CASE("publish expectations: last sequence, stream, last subject sequence, last msg id", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);
  add_stream(js, "ORDERS", {"orders.>"});
  tern::PublishOptions first_id;
  first_id.msg_id = "m1";
  REQUIRE(js.publish("orders.a", "1", first_id).is_ok());
  REQUIRE(js.publish("orders.b", "2").is_ok());

  tern::PublishOptions last_seq;
  last_seq.expected_last_seq = 1;
  auto wrong = js.publish("orders.a", "x", last_seq);
  REQUIRE_FALSE(wrong.is_ok());
  require_api_error(wrong.status(), 400, 10071);
  CHECK(tern::api_error(wrong.status())->description == "wrong last sequence: 2");
  last_seq.expected_last_seq = 2;
  auto right = js.publish("orders.a", "3", last_seq);
  REQUIRE(right.is_ok());
  CHECK(right->seq == 3);

  tern::PublishOptions stream;
  stream.expected_stream = "OTHER";
  auto wrong_stream = js.publish("orders.a", "x", stream);
  REQUIRE_FALSE(wrong_stream.is_ok());
  require_api_error(wrong_stream.status(), 400, 10060);
  stream.expected_stream = "ORDERS";
  REQUIRE(js.publish("orders.a", "4", stream).is_ok());

  tern::PublishOptions subj;
  subj.expected_last_subject_seq = 2;  // orders.b's last is 2
  REQUIRE(js.publish("orders.b", "5", subj).is_ok());
  subj.expected_last_subject_seq = 2;  // now it is 5
  auto wrong_subj = js.publish("orders.b", "x", subj);
  REQUIRE_FALSE(wrong_subj.is_ok());
  require_api_error(wrong_subj.status(), 400, 10071);
  subj.expected_last_subject_seq = 0;  // nothing on orders.c yet
  REQUIRE(js.publish("orders.c", "6", subj).is_ok());

  tern::PublishOptions last_id;
  last_id.expected_last_msg_id = "m1";  // the last message (6) has no id
  auto wrong_id = js.publish("orders.a", "x", last_id);
  REQUIRE_FALSE(wrong_id.is_ok());
  require_api_error(wrong_id.status(), 400, 10070);

  // Refused publishes stored nothing.
  auto info = js.stream_info("ORDERS");
  REQUIRE(info.is_ok());
  CHECK(info->state.messages == 6);
  CHECK(info->state.last_seq == 6);
}

TEST_CASE("publish to a subject no stream captures is NoResponders", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);
  add_stream(js, "ORDERS", {"orders.>"});

  auto r = js.publish("nowhere.x", "lost");
  REQUIRE_FALSE(r.is_ok());
  CHECK(error_code(r.status()) == ErrorCode::NoResponders);
  CHECK(r.status().message() == "no_responders: no stream captures subject 'nowhere.x'");

  auto f = js.publish_async(Msg("nowhere.y", "lost"));
  REQUIRE(f.is_ok());
  REQUIRE(ready(*f, 2s));
  auto ack = f->get();
  REQUIRE_FALSE(ack.is_ok());
  CHECK(error_code(ack.status()) == ErrorCode::NoResponders);
  CHECK(ack.status().message() == "no_responders: no stream captures subject 'nowhere.y'");
}

TEST_CASE("publish_async: 1000 messages through a window of 64, acked in order", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  tern::JetStreamOptions opts;
  opts.max_pending_acks = 64;
  JetStream js(*conn, opts);
  add_stream(js, "EVENTS", {"events.>"});

  std::vector<std::future<Result<PubAck>>> futures;
  size_t max_pending = 0;
  for (int i = 0; i < 1000; ++i) {
    auto f = js.publish_async(Msg("events.e", "event " + std::to_string(i)));
    INFO("publish " << i << ": " << describe(f ? tern::Status::ok() : f.status()));
    REQUIRE(f.is_ok());
    futures.push_back(std::move(*f));
    max_pending = std::max(max_pending, js.publish_async_pending());
  }
  CHECK(max_pending <= 64);
  REQUIRE(js.publish_async_complete(5s).is_ok());
  CHECK(js.publish_async_pending() == 0);
  for (size_t i = 0; i < futures.size(); ++i) {
    REQUIRE(ready(futures[i]));
    auto ack = futures[i].get();
    INFO("ack " << i << ": " << describe(ack ? tern::Status::ok() : ack.status()));
    REQUIRE(ack.is_ok());
    CHECK(ack->stream == "EVENTS");
    CHECK(ack->seq == i + 1);
  }
  auto info = js.stream_info("EVENTS");
  REQUIRE(info.is_ok());
  CHECK(info->state.messages == 1000);
  auto last = js.get_msg("EVENTS", 1000);
  REQUIRE(last.is_ok());
  CHECK(last->data == "event 999");
}

TEST_CASE("publish_async with a handler: on the message thread, with the message and its ack", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);
  add_stream(js, "EVENTS", {"events.>"});

  // The message thread's id, from an ordinary subscription handler.
  tern::test::Signal signal;
  std::thread::id message_thread;
  auto probe =
      conn->subscribe("probe", [&](Msg&) { signal.update([&] { message_thread = std::this_thread::get_id(); }); });
  REQUIRE(probe.is_ok());
  REQUIRE(conn->publish("probe", "x").is_ok());
  REQUIRE(signal.wait([&] { return message_thread != std::thread::id(); }));

  struct Seen {
    std::string subject, data, msg_id;
    uint64_t seq = 0;
    bool ok = false, duplicate = false, on_message_thread = false;
  };
  std::vector<Seen> seen;
  auto handler = [&](const Msg& m, const Result<PubAck>& ack) {
    Seen s;
    s.subject = m.subject;
    s.data = m.data;
    if (auto id = m.headers.get("Nats-Msg-Id")) s.msg_id = *id;
    s.ok = ack.is_ok();
    if (ack.is_ok()) s.seq = ack.value().seq, s.duplicate = ack.value().duplicate;
    s.on_message_thread = std::this_thread::get_id() == message_thread;
    signal.update([&] { seen.push_back(s); });
  };
  tern::PublishOptions id;
  id.msg_id = "once";
  REQUIRE(js.publish_async(Msg("events.a", "first"), id, handler).is_ok());
  REQUIRE(js.publish_async(Msg("events.b", "second"), {}, handler).is_ok());
  REQUIRE(js.publish_async(Msg("events.a", "dup"), id, handler).is_ok());
  REQUIRE(js.publish_async_complete(3s).is_ok());
  // complete() returns once every handler has run.
  std::lock_guard lock(signal.mutex());
  REQUIRE(seen.size() == 3);
  std::sort(seen.begin(), seen.end(), [](auto& x, auto& y) { return x.data < y.data; });  // dup, first, second
  CHECK(seen[0].subject == "events.a");
  CHECK(seen[0].msg_id == "once");
  CHECK(seen[0].ok);
  CHECK(seen[0].duplicate);
  CHECK(seen[0].seq == 1);
  CHECK(seen[1].data == "first");
  CHECK(seen[1].seq == 1);
  CHECK_FALSE(seen[1].duplicate);
  CHECK(seen[2].subject == "events.b");
  CHECK(seen[2].seq == 2);
  for (auto& s : seen) CHECK(s.on_message_thread);

  CHECK(error_code(js.publish_async(Msg("events.a", "x"), {}, nullptr)) == ErrorCode::InvalidArgument);
}

TEST_CASE("publish_async: unanswered acks time out, a full window refuses with Timeout", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  tern::JetStreamOptions opts;
  opts.max_pending_acks = 4;
  opts.timeout = 300ms;
  JetStream js(*conn, opts);

  // A plain subscriber that never replies: no stream, and no 503 either.
  auto listener = tern::test::connect_or_fail(server.url());
  auto silent = listener->subscribe_sync("silent.x");
  REQUIRE(silent.is_ok());
  REQUIRE(listener->flush(2s).is_ok());

  std::vector<std::future<Result<PubAck>>> futures;
  for (int i = 0; i < 4; ++i) {
    auto f = js.publish_async(Msg("silent.x", std::to_string(i)));
    REQUIRE(f.is_ok());
    futures.push_back(std::move(*f));
  }
  CHECK(js.publish_async_pending() == 4);
  CHECK(error_code(js.publish_async_complete(50ms)) == ErrorCode::Timeout);

  // The window is full: the next publish waits, then gives up with nothing sent.
  tern::PublishOptions quick;
  quick.timeout = 100ms;
  auto start = std::chrono::steady_clock::now();
  auto refused = js.publish_async(Msg("silent.x", "refused"), quick);
  auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(refused.is_ok());
  CHECK(error_code(refused.status()) == ErrorCode::Timeout);
  CHECK(waited >= 90ms);

  // Each outstanding ack times out on its own (no ack hangs forever), freeing the window.
  for (auto& f : futures) {
    REQUIRE(ready(f, 2s));
    auto ack = f.get();
    REQUIRE_FALSE(ack.is_ok());
    CHECK(error_code(ack.status()) == ErrorCode::Timeout);
  }
  REQUIRE(js.publish_async_complete(1s).is_ok());
  CHECK(js.publish_async_pending() == 0);
  auto after = js.publish_async(Msg("silent.x", "after"));
  REQUIRE(after.is_ok());

  // The subscriber saw the four and the one after, never the refused one.
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) {
    auto m = silent->next(2s);
    REQUIRE(m.is_ok());
    got.push_back(m->data);
  }
  CHECK(got == std::vector<std::string>{"0", "1", "2", "3", "after"});
  CHECK_FALSE(silent->next(50ms).is_ok());
}

TEST_CASE("destroying the JetStream completes outstanding async publishes with Closed", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  auto listener = tern::test::connect_or_fail(server.url());
  auto silent = listener->subscribe_sync("silent.x");
  REQUIRE(silent.is_ok());
  REQUIRE(listener->flush(2s).is_ok());

  std::atomic<int> closed_handlers{0};
  std::vector<std::future<Result<PubAck>>> futures;
  {
    tern::JetStreamOptions opts;
    opts.timeout = 30s;  // far beyond the test: only the destructor can complete them
    JetStream js(*conn, opts);
    for (int i = 0; i < 3; ++i) {
      auto f = js.publish_async(Msg("silent.x", "f"));
      REQUIRE(f.is_ok());
      futures.push_back(std::move(*f));
    }
    REQUIRE(js.publish_async(Msg("silent.x", "h"), {}, [&](const Msg& m, const Result<PubAck>& ack) {
                if (!ack.is_ok() && error_code(ack.status()) == ErrorCode::Closed && m.data == "h") ++closed_handlers;
              }).is_ok());
    CHECK(js.publish_async_pending() == 4);
    CHECK_FALSE(ready(futures[0]));
  }
  for (auto& f : futures) {
    REQUIRE(ready(f));
    auto ack = f.get();
    REQUIRE_FALSE(ack.is_ok());
    CHECK(error_code(ack.status()) == ErrorCode::Closed);
  }
  CHECK(closed_handlers == 1);
  // The connection is still usable, and a new JetStream publishes as usual.
  JetStream js2(*conn);
  add_stream(js2, "S", {"s.>"});
  auto ack = js2.publish("s.x", "ok");
  REQUIRE(ack.is_ok());
  CHECK(ack->seq == 1);
}

// Regression: ~JetStream returned while an ack handler was still running on the message thread,
// so a handler that used its JetStream (publish_async from an ack handler) used a destroyed one.
TEST_CASE("destroying the JetStream waits for an ack handler running on the message thread", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  auto js = std::make_unique<JetStream>(*conn);
  add_stream(*js, "S", {"s.>"});
  JetStream* raw = js.get();

  tern::test::Signal sig;
  bool acked = false, in_handler = false, destroyed = false, saw_destroyed = false, handler_done = false;
  tern::Status again;
  REQUIRE(js->publish_async(Msg("s.x", "1"), {}, [&](const Msg&, const Result<PubAck>& ack) {
              sig.update([&] {
                acked = ack.is_ok();
                in_handler = true;
              });
              // The destroying thread must wait for us: it cannot have finished within this time.
              sig.wait([&] { return destroyed; }, 300ms);
              sig.update([&] { saw_destroyed = destroyed; });
              // So the JetStream is still there to be used; it refuses, being closed.
              if (!saw_destroyed)
                again = raw->publish_async(Msg("s.x", "2"), {}, [](const Msg&, const Result<PubAck>&) {});
              sig.update([&] { handler_done = true; });
            }).is_ok());
  REQUIRE(sig.wait([&] { return in_handler; }));
  js.reset();
  sig.update([&] { destroyed = true; });
  std::lock_guard lock(sig.mutex());
  CHECK(acked);
  CHECK(handler_done);
  CHECK_FALSE(saw_destroyed);
  CHECK(error_code(again) == ErrorCode::Closed);
}

TEST_CASE("an ack handler may publish_async again and destroy its JetStream", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  auto js = std::make_unique<JetStream>(*conn);
  add_stream(*js, "S", {"s.>"});

  // A chain: each ack publishes the next message from the message thread; the last one
  // destroys the JetStream from inside its own handler.
  // (Catch2 assertions are not thread-safe: the handler only records, the test thread checks.)
  tern::test::Signal sig;
  int acked = 0, failures = 0;
  bool destroyed = false;
  std::function<void(const Msg&, const Result<PubAck>&)> chain = [&](const Msg&, const Result<PubAck>& ack) {
    int n = 0;
    sig.update([&] {
      n = ++acked;
      failures += !ack.is_ok();
    });
    if (n < 20) {
      tern::Status st = js->publish_async(Msg("s.x", std::to_string(n)), {}, chain);
      sig.update([&] { failures += !st.is_ok(); });
    } else {
      js.reset();  // from its own handler: does not wait for itself
      sig.update([&] { destroyed = true; });
    }
  };
  REQUIRE(js->publish_async(Msg("s.x", "0"), {}, chain).is_ok());
  REQUIRE(sig.wait([&] { return destroyed; }));
  std::lock_guard lock(sig.mutex());
  CHECK(acked == 20);
  CHECK(failures == 0);
  JetStream check(*conn);
  auto info = check.stream_info("S");
  REQUIRE(info.is_ok());
  CHECK(info->state.messages == 20);
}
