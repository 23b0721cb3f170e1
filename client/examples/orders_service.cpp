// orders_service: a work queue on libtern's JetStream, end to end.
//
//   orders_service [count]     (default 20)
//
// 1. makes sure stream ORDERS (subjects orders.>) and its durable pull consumer "processor" exist;
// 2. publishes `count` orders asynchronously and checks every acknowledgement;
// 3. fetches them back in batches, "processes" and acks each, and exits 0 once all are done.
// The server is $NATS_URL, else nats://127.0.0.1:4222, started with JetStream on (-js).
// Any error: one line on stderr and exit code 1.

#include <tern/client.h>
#include <tern/jetstream.h>

#include <cstdlib>
#include <future>
#include <iostream>
#include <string>
#include <vector>

namespace {

int fail(const std::string& what, const tern::Status& st) {
  std::cerr << "orders_service: " << what << ": " << st.message() << "\n";
  return 1;
}

// err_code of a JetStream API error, 0 for any other failure.
int api_err_code(const tern::Status& st) {
  auto e = tern::api_error(st);
  return e ? e->err_code : 0;
}

constexpr int kStreamNotFound = 10059;  // NATS's JetStream error codes
constexpr int kConsumerNotFound = 10014;

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 20;
  if (count <= 0) return fail("usage", tern::Status::error("orders_service [count > 0]"));
  auto conn = tern::Connection::connect();  // Options default to $NATS_URL
  if (!conn) return fail("connect", conn.status());
  tern::JetStream js(**conn);

  // Stream and consumer: create them only when they are not there yet, so that a second run
  // keeps what the first one stored (the consumer remembers what was acked).
  if (auto info = js.stream_info("ORDERS"); !info) {
    if (api_err_code(info.status()) != kStreamNotFound) return fail("stream info", info.status());
    tern::StreamConfig sc;
    sc.name = "ORDERS";
    sc.subjects = {"orders.>"};
    if (auto created = js.add_stream(sc); !created) return fail("add stream", created.status());
  }
  if (auto info = js.consumer_info("ORDERS", "processor"); !info) {
    if (api_err_code(info.status()) != kConsumerNotFound) return fail("consumer info", info.status());
    tern::ConsumerConfig cc;
    cc.durable_name = "processor";
    cc.ack_policy = tern::AckPolicy::Explicit;  // each order is acked on its own
    cc.ack_wait = std::chrono::seconds(30);     // unacked orders come back after this
    if (auto created = js.add_consumer("ORDERS", cc); !created) return fail("add consumer", created.status());
  }

  // Publish without waiting for each ack in turn: up to max_pending_acks are in flight.
  std::vector<std::future<tern::Result<tern::PubAck>>> acks;
  for (int i = 1; i <= count; ++i) {
    tern::Msg order("orders.new", R"({"id":)" + std::to_string(i) + "}");
    auto f = js.publish_async(order);
    if (!f) return fail("publish order " + std::to_string(i), f.status());
    acks.push_back(std::move(*f));
  }
  if (tern::Status st = js.publish_async_complete(std::chrono::seconds(5)); !st) return fail("publish", st);
  uint64_t last_seq = 0;
  for (auto& f : acks) {
    auto ack = f.get();
    if (!ack) return fail("publish ack", ack.status());  // e.g. no stream captured it
    last_seq = ack->seq;
  }
  std::cout << "published " << count << " orders, last seq " << last_seq << "\n";

  // Work through the orders in batches of up to 10.
  auto pull = js.pull_consumer("ORDERS", "processor");
  if (!pull) return fail("pull consumer", pull.status());
  int processed = 0;
  while (processed < count) {
    auto batch = pull->fetch(10, std::chrono::seconds(2));
    if (!batch) return fail("fetch after " + std::to_string(processed) + " orders", batch.status());
    for (tern::JsMsg& m : *batch) {
      auto md = m.metadata();  // stream sequence, delivery count... from the ack subject
      std::cout << "processed " << m.data() << " (seq " << (md ? md->stream_seq : 0) << ")\n";
      if (tern::Status st = m.ack(); !st) return fail("ack", st);
      ++processed;
    }
  }
  // Acks are plain publishes: make sure the server has them before leaving.
  if (tern::Status st = (*conn)->flush(std::chrono::seconds(2)); !st) return fail("flush", st);
  std::cout << "processed " << processed << " orders\n";
  return 0;
}
