// libtern JetStream management: streams, messages, consumers, account info and Tern's
// dead-letter option, through tern::JetStream against a real server with JetStream on.
#include <algorithm>
#include <catch2/catch.hpp>
#include <climits>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tern/jetstream.h"
#include "tests/client/client_test_util.h"

using namespace std::chrono_literals;
using tern::error_code;
using tern::ErrorCode;
using tern::JetStream;

namespace {

// What a user sees of a failed call: the code, and the API error when there is one.
std::string describe(const tern::Status& st) { return st.is_ok() ? "ok" : st.message(); }

tern::StreamConfig stream_cfg(const std::string& name, std::vector<std::string> subjects) {
  tern::StreamConfig c;
  c.name = name;
  c.subjects = std::move(subjects);
  return c;
}

tern::ConsumerConfig durable(const std::string& name) {
  tern::ConsumerConfig c;
  c.durable_name = name;
  c.ack_policy = tern::AckPolicy::Explicit;
  return c;
}

// Publishes `data` to `subject` and REQUIREs its ack; returns the sequence.
uint64_t put(JetStream& js, const std::string& subject, const std::string& data) {
  auto ack = js.publish(subject, data);
  INFO(describe(ack ? tern::Status::ok() : ack.status()));
  REQUIRE(ack.is_ok());
  return ack->seq;
}

void require_api_error(const tern::Status& st, int code, int err_code, const std::string& description = {}) {
  INFO(describe(st));
  REQUIRE(error_code(st) == ErrorCode::JetStreamApi);
  auto e = tern::api_error(st);
  REQUIRE(e.has_value());
  CHECK(e->code == code);
  CHECK(e->err_code == err_code);
  if (!description.empty()) CHECK(e->description == description);
}

}  // namespace

TEST_CASE("stream add, info, update, list, names and delete", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);

  auto cfg = stream_cfg("ORDERS", {"orders.>"});
  cfg.description = "all orders";
  cfg.max_msgs = 1000;
  cfg.max_age = std::chrono::hours(1);
  auto created = js.add_stream(cfg);
  INFO(describe(created ? tern::Status::ok() : created.status()));
  REQUIRE(created.is_ok());
  CHECK(created->config.name == "ORDERS");
  CHECK(created->config.subjects == std::vector<std::string>{"orders.>"});
  CHECK(created->config.description == "all orders");
  CHECK(created->config.max_msgs == 1000);
  CHECK(created->config.max_bytes == -1);  // unset: the server's default, echoed
  CHECK(created->config.max_age == std::chrono::hours(1));
  CHECK(created->config.retention == tern::RetentionPolicy::Limits);
  CHECK(created->config.storage == tern::StorageType::File);
  CHECK(created->config.replicas == 1);
  CHECK(created->config.duplicate_window == std::chrono::minutes(2));
  CHECK(created->state.messages == 0);
  CHECK_FALSE(created->created.empty());
  CHECK(nlohmann::json::parse(created->json)["config"]["name"] == "ORDERS");

  // Creating it again with the same config is idempotent.
  REQUIRE(js.add_stream(cfg).is_ok());

  put(js, "orders.new", "one");
  put(js, "orders.paid", "two");
  auto info = js.stream_info("ORDERS");
  REQUIRE(info.is_ok());
  CHECK(info->state.messages == 2);
  CHECK(info->state.first_seq == 1);
  CHECK(info->state.last_seq == 2);
  CHECK(info->state.bytes > 0);
  CHECK_FALSE(info->state.last_ts.empty());

  cfg.subjects.push_back("returns.>");
  cfg.description = "orders and returns";
  cfg.max_msgs = 500;
  auto updated = js.update_stream(cfg);
  INFO(describe(updated ? tern::Status::ok() : updated.status()));
  REQUIRE(updated.is_ok());
  CHECK(updated->config.subjects == std::vector<std::string>{"orders.>", "returns.>"});
  CHECK(updated->config.description == "orders and returns");
  CHECK(updated->config.max_msgs == 500);
  CHECK(updated->state.messages == 2);
  CHECK(put(js, "returns.x", "three") == 3);

  auto mem = stream_cfg("AUDIT", {"audit.*"});
  mem.storage = tern::StorageType::Memory;
  REQUIRE(js.add_stream(mem).is_ok());

  auto names = js.stream_names();
  REQUIRE(names.is_ok());
  CHECK(*names == std::vector<std::string>{"AUDIT", "ORDERS"});
  auto filtered = js.stream_names("audit.login");
  REQUIRE(filtered.is_ok());
  CHECK(*filtered == std::vector<std::string>{"AUDIT"});

  auto list = js.list_streams();
  REQUIRE(list.is_ok());
  REQUIRE(list->size() == 2);
  std::sort(list->begin(), list->end(), [](auto& a, auto& b) { return a.config.name < b.config.name; });
  CHECK((*list)[0].config.name == "AUDIT");
  CHECK((*list)[0].config.storage == tern::StorageType::Memory);
  CHECK((*list)[1].config.name == "ORDERS");
  CHECK((*list)[1].state.messages == 3);
  CHECK(nlohmann::json::parse((*list)[1].json)["config"]["name"] == "ORDERS");
  auto list_filtered = js.list_streams("orders.new");
  REQUIRE(list_filtered.is_ok());
  REQUIRE(list_filtered->size() == 1);
  CHECK(list_filtered->front().config.name == "ORDERS");

  REQUIRE(js.delete_stream("AUDIT").is_ok());
  names = js.stream_names();
  REQUIRE(names.is_ok());
  CHECK(*names == std::vector<std::string>{"ORDERS"});
  require_api_error(js.delete_stream("AUDIT"), 404, 10059, "stream not found");
}

TEST_CASE("stream errors: config clash, missing stream, bad names", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);

  REQUIRE(js.add_stream(stream_cfg("ORDERS", {"orders.>"})).is_ok());
  auto clash = js.add_stream(stream_cfg("ORDERS", {"orders.new"}));
  REQUIRE_FALSE(clash.is_ok());
  require_api_error(clash.status(), 400, 10058);

  auto missing = js.stream_info("NOPE");
  REQUIRE_FALSE(missing.is_ok());
  require_api_error(missing.status(), 404, 10059, "stream not found");
  CHECK(missing.status().message() == "jetstream_api: stream not found (status 404, err_code 10059)");

  // A subject overlap with another stream is the server's error.
  auto overlap = js.add_stream(stream_cfg("MORE", {"orders.new"}));
  REQUIRE_FALSE(overlap.is_ok());
  require_api_error(overlap.status(), 400, 10065);

  // Names that would change the API subject never leave the client.
  for (std::string bad : {"", "a.b", "a*", "a>", "a b", "a/b"}) {
    INFO("name '" << bad << "'");
    auto r = js.add_stream(stream_cfg(bad, {"x.y"}));
    REQUIRE_FALSE(r.is_ok());
    CHECK(error_code(r.status()) == ErrorCode::InvalidArgument);
    CHECK(error_code(js.stream_info(bad).status()) == ErrorCode::InvalidArgument);
    CHECK(error_code(js.delete_stream(bad)) == ErrorCode::InvalidArgument);
  }
  CHECK(error_code(js.consumer_info("ORDERS", "a.b").status()) == ErrorCode::InvalidArgument);
  CHECK(error_code(js.add_consumer("ORDERS", durable("w*")).status()) == ErrorCode::InvalidArgument);
}

TEST_CASE("add_stream_json and update_stream_json send the config as written", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);

  auto created = js.add_stream_json(R"({"name":"LOGS","subjects":["logs.>"],"max_msgs_per_subject":5,
                                        "storage":"memory"})");
  INFO(describe(created ? tern::Status::ok() : created.status()));
  REQUIRE(created.is_ok());
  CHECK(created->config.name == "LOGS");
  CHECK(created->config.max_msgs_per_subject == 5);
  CHECK(created->config.storage == tern::StorageType::Memory);

  auto updated = js.update_stream_json(R"({"name":"LOGS","subjects":["logs.>"],"max_msgs_per_subject":7,
                                           "storage":"memory"})");
  REQUIRE(updated.is_ok());
  CHECK(updated->config.max_msgs_per_subject == 7);

  // A refused update is the server's error (storage can not change).
  auto refused = js.update_stream_json(R"({"name":"LOGS","subjects":["logs.>"],"storage":"file"})");
  REQUIRE_FALSE(refused.is_ok());
  require_api_error(refused.status(), 500, 10052);

  for (std::string bad : {"", "[]", "{", R"({"subjects":["a"]})", R"({"name":7})", R"({"name":"a.b"})"}) {
    INFO("config " << bad);
    CHECK(error_code(js.add_stream_json(bad).status()) == ErrorCode::InvalidArgument);
    CHECK(error_code(js.update_stream_json(bad).status()) == ErrorCode::InvalidArgument);
  }
}

TEST_CASE("purge_stream: everything, one subject, below a sequence, keep the newest", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);
  REQUIRE(js.add_stream(stream_cfg("P", {"p.*"})).is_ok());

  auto fill = [&] {
    for (int i = 0; i < 4; ++i) {
      put(js, "p.a", "a" + std::to_string(i));
      put(js, "p.b", "b" + std::to_string(i));
    }
  };
  auto messages = [&] {
    auto info = js.stream_info("P");
    REQUIRE(info.is_ok());
    return info->state.messages;
  };

  fill();  // seqs 1..8: a at odd, b at even
  tern::PurgeOptions only_a;
  only_a.filter = "p.a";
  auto purged = js.purge_stream("P", only_a);
  REQUIRE(purged.is_ok());
  CHECK(*purged == 4);
  CHECK(messages() == 4);
  CHECK(error_code(js.get_msg("P", 0, "p.a").status()) == ErrorCode::JetStreamApi);

  tern::PurgeOptions below;
  below.seq = 6;  // removes b at 2 and 4
  purged = js.purge_stream("P", below);
  REQUIRE(purged.is_ok());
  CHECK(*purged == 2);
  CHECK(messages() == 2);
  auto first = js.stream_info("P");
  REQUIRE(first.is_ok());
  CHECK(first->state.first_seq == 6);

  tern::PurgeOptions keep;
  keep.keep = 1;
  purged = js.purge_stream("P", keep);
  REQUIRE(purged.is_ok());
  CHECK(*purged == 1);
  auto kept = js.stream_info("P");
  REQUIRE(kept.is_ok());
  CHECK(kept->state.messages == 1);
  CHECK(kept->state.first_seq == 8);

  fill();
  purged = js.purge_stream("P");
  REQUIRE(purged.is_ok());
  CHECK(*purged == 9);
  auto empty = js.stream_info("P");
  REQUIRE(empty.is_ok());
  CHECK(empty->state.messages == 0);
  CHECK(empty->state.last_seq == 16);  // purge never moves the last sequence back

  // seq and keep together is the server's error.
  tern::PurgeOptions both;
  both.seq = 2;
  both.keep = 1;
  auto refused = js.purge_stream("P", both);
  REQUIRE_FALSE(refused.is_ok());
  require_api_error(refused.status(), 400, 10003);
}

TEST_CASE("get_msg by sequence and last subject with headers, delete_msg", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);
  REQUIRE(js.add_stream(stream_cfg("M", {"m.>"})).is_ok());

  tern::Msg with_headers("m.one", std::string("bin\0ary\r\n", 9));
  with_headers.headers.add("Trace-Id", "42");
  with_headers.headers.add("Multi", "x");
  with_headers.headers.add("Multi", "y");
  auto ack = js.publish(with_headers);
  REQUIRE(ack.is_ok());
  CHECK(ack->seq == 1);
  put(js, "m.two", "plain");
  put(js, "m.one", "latest");

  auto got = js.get_msg("M", 1);
  INFO(describe(got ? tern::Status::ok() : got.status()));
  REQUIRE(got.is_ok());
  CHECK(got->subject == "m.one");
  CHECK(got->seq == 1);
  CHECK(got->data == std::string("bin\0ary\r\n", 9));
  CHECK(got->has_headers);
  REQUIRE(got->headers.get("Trace-Id"));
  CHECK(*got->headers.get("Trace-Id") == "42");
  CHECK(got->headers.values("Multi") == std::vector<std::string>{"x", "y"});
  CHECK_FALSE(got->time.empty());

  auto plain = js.get_msg("M", 2);
  REQUIRE(plain.is_ok());
  CHECK(plain->data == "plain");
  CHECK_FALSE(plain->has_headers);
  CHECK(plain->headers.empty());

  auto last = js.get_msg("M", 0, "m.one");
  REQUIRE(last.is_ok());
  CHECK(last->seq == 3);
  CHECK(last->data == "latest");
  auto last_wild = js.get_msg("M", 0, "m.*");
  REQUIRE(last_wild.is_ok());
  CHECK(last_wild->seq == 3);

  auto missing = js.get_msg("M", 99);
  REQUIRE_FALSE(missing.is_ok());
  require_api_error(missing.status(), 404, 10037, "no message found");
  CHECK(error_code(js.get_msg("M", 0).status()) == ErrorCode::InvalidArgument);

  REQUIRE(js.delete_msg("M", 2).is_ok());
  require_api_error(js.get_msg("M", 2).status(), 404, 10037);
  REQUIRE(js.delete_msg("M", 1, /*erase=*/true).is_ok());
  auto info = js.stream_info("M");
  REQUIRE(info.is_ok());
  CHECK(info->state.messages == 1);
  CHECK(info->state.first_seq == 3);
  // Deleting it again is an API error (nats-server 2.9.10: 500/10057 "no message found").
  CHECK(error_code(js.delete_msg("M", 2)) == ErrorCode::JetStreamApi);
}

TEST_CASE("consumer add, info, list, names, update and delete", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);
  REQUIRE(js.add_stream(stream_cfg("ORDERS", {"orders.>"})).is_ok());
  put(js, "orders.new", "1");
  put(js, "orders.paid", "2");
  put(js, "orders.new", "3");

  auto cfg = durable("worker");
  cfg.description = "does the work";
  cfg.ack_wait = 10s;
  cfg.max_deliver = 3;
  cfg.filter_subject = "orders.new";
  auto added = js.add_consumer("ORDERS", cfg);
  INFO(describe(added ? tern::Status::ok() : added.status()));
  REQUIRE(added.is_ok());
  CHECK(added->stream_name == "ORDERS");
  CHECK(added->name == "worker");
  CHECK(added->config.durable_name == "worker");
  CHECK(added->config.description == "does the work");
  CHECK(added->config.ack_policy == tern::AckPolicy::Explicit);
  CHECK(added->config.ack_wait == 10s);
  CHECK(added->config.max_deliver == 3);
  CHECK(added->config.filter_subject == "orders.new");
  CHECK(added->config.max_waiting == 512);  // the server's defaults, echoed
  CHECK(added->config.max_ack_pending == 1000);
  CHECK(added->num_pending == 2);
  CHECK_FALSE(added->created.empty());

  // Idempotent with the same config.
  REQUIRE(js.add_consumer("ORDERS", cfg).is_ok());

  tern::ConsumerConfig named;  // 2.9 named consumer without a durable name, no filter
  named.name = "auditor";
  named.ack_policy = tern::AckPolicy::None;
  named.deliver_policy = tern::DeliverPolicy::Last;
  auto second = js.add_consumer("ORDERS", named);
  INFO(describe(second ? tern::Status::ok() : second.status()));
  REQUIRE(second.is_ok());
  CHECK(second->name == "auditor");
  CHECK(second->config.ack_policy == tern::AckPolicy::None);
  CHECK(second->config.deliver_policy == tern::DeliverPolicy::Last);
  CHECK(second->num_pending == 1);

  auto info = js.consumer_info("ORDERS", "worker");
  REQUIRE(info.is_ok());
  CHECK(info->name == "worker");
  CHECK(info->num_pending == 2);
  CHECK(info->delivered.stream_seq == 0);
  CHECK(nlohmann::json::parse(info->json)["name"] == "worker");

  auto names = js.consumer_names("ORDERS");
  REQUIRE(names.is_ok());
  CHECK(*names == std::vector<std::string>{"auditor", "worker"});
  auto list = js.list_consumers("ORDERS");
  REQUIRE(list.is_ok());
  REQUIRE(list->size() == 2);
  std::vector<std::string> listed;
  for (auto& c : *list) listed.push_back(c.name);
  std::sort(listed.begin(), listed.end());
  CHECK(listed == std::vector<std::string>{"auditor", "worker"});

  cfg.description = "does more work";
  cfg.max_deliver = 5;
  auto updated = js.update_consumer("ORDERS", cfg);
  INFO(describe(updated ? tern::Status::ok() : updated.status()));
  REQUIRE(updated.is_ok());
  CHECK(updated->config.description == "does more work");
  CHECK(updated->config.max_deliver == 5);
  CHECK(js.consumer_info("ORDERS", "worker")->config.description == "does more work");

  // A change the server forbids, and an update of a consumer that does not exist.
  auto forbidden = cfg;
  forbidden.ack_policy = tern::AckPolicy::All;
  auto refused = js.update_consumer("ORDERS", forbidden);
  REQUIRE_FALSE(refused.is_ok());
  require_api_error(refused.status(), 500, 10012);
  auto ghost = js.update_consumer("ORDERS", durable("ghost"));
  REQUIRE_FALSE(ghost.is_ok());
  require_api_error(ghost.status(), 404, 10014, "consumer not found");
  CHECK_FALSE(js.consumer_info("ORDERS", "ghost").is_ok());
  CHECK(error_code(js.update_consumer("ORDERS", tern::ConsumerConfig{}).status()) == ErrorCode::InvalidArgument);

  REQUIRE(js.delete_consumer("ORDERS", "auditor").is_ok());
  auto missing = js.consumer_info("ORDERS", "auditor");
  REQUIRE_FALSE(missing.is_ok());
  require_api_error(missing.status(), 404, 10014, "consumer not found");
  require_api_error(js.delete_consumer("ORDERS", "auditor"), 404, 10014);
  require_api_error(js.consumer_info("NOPE", "worker").status(), 404, 10059);
  names = js.consumer_names("ORDERS");
  REQUIRE(names.is_ok());
  CHECK(*names == std::vector<std::string>{"worker"});

  // The handle for pulling checks that the consumer exists.
  auto pull = js.pull_consumer("ORDERS", "worker");
  REQUIRE(pull.is_ok());
  CHECK(pull->stream() == "ORDERS");
  CHECK(pull->name() == "worker");
  auto no_pull = js.pull_consumer("ORDERS", "auditor");
  REQUIRE_FALSE(no_pull.is_ok());
  require_api_error(no_pull.status(), 404, 10014);
}

TEST_CASE("add_consumer_json and ephemeral consumers", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);
  REQUIRE(js.add_stream(stream_cfg("S", {"s.*"})).is_ok());

  auto added = js.add_consumer_json("S", R"({"durable_name":"d1","ack_policy":"explicit","max_ack_pending":7,
                                            "filter_subject":"s.x"})");
  INFO(describe(added ? tern::Status::ok() : added.status()));
  REQUIRE(added.is_ok());
  CHECK(added->name == "d1");
  CHECK(added->config.max_ack_pending == 7);
  CHECK(added->config.filter_subject == "s.x");

  // Neither name nor durable: the server names an ephemeral consumer.
  tern::ConsumerConfig eph;
  eph.ack_policy = tern::AckPolicy::None;
  auto e = js.add_consumer("S", eph);
  INFO(describe(e ? tern::Status::ok() : e.status()));
  REQUIRE(e.is_ok());
  CHECK_FALSE(e->name.empty());
  CHECK(e->config.durable_name.empty());
  auto names = js.consumer_names("S");
  REQUIRE(names.is_ok());
  CHECK(names->size() == 2);

  CHECK(error_code(js.add_consumer_json("S", "[1]").status()) == ErrorCode::InvalidArgument);
  CHECK(error_code(js.add_consumer_json("S", R"({"durable_name":"a.b"})").status()) == ErrorCode::InvalidArgument);
  tern::ConsumerConfig differ;
  differ.name = "a";
  differ.durable_name = "b";
  CHECK(error_code(js.add_consumer("S", differ).status()) == ErrorCode::InvalidArgument);
}

TEST_CASE("account_info counts streams and consumers", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);

  auto before = js.account_info();
  INFO(describe(before ? tern::Status::ok() : before.status()));
  REQUIRE(before.is_ok());
  CHECK(before->streams == 0);
  CHECK(before->consumers == 0);
  CHECK(before->max_streams == -1);
  CHECK(before->max_consumers == -1);

  REQUIRE(js.add_stream(stream_cfg("A", {"a.>"})).is_ok());
  REQUIRE(js.add_stream(stream_cfg("B", {"b.>"})).is_ok());
  REQUIRE(js.add_consumer("A", durable("c1")).is_ok());
  REQUIRE(js.add_consumer("A", durable("c2")).is_ok());
  REQUIRE(js.add_consumer("B", durable("c3")).is_ok());
  put(js, "a.x", "payload");

  auto after = js.account_info();
  REQUIRE(after.is_ok());
  CHECK(after->streams == 2);
  CHECK(after->consumers == 3);
  CHECK(after->storage > 0);
  CHECK(after->api_total > before->api_total);
  CHECK(nlohmann::json::parse(after->json)["streams"] == 2);

  // The raw API request returns the server's text.
  auto raw = js.api_request("STREAM.NAMES", "");
  REQUIRE(raw.is_ok());
  CHECK(nlohmann::json::parse(*raw)["total"] == 2);
  auto raw_err = js.api_request("STREAM.INFO.NOPE", "");
  REQUIRE_FALSE(raw_err.is_ok());
  require_api_error(raw_err.status(), 404, 10059);
}

TEST_CASE("JetStream calls without JetStream on the server are NoResponders", "[jetstream]") {
  tern::test::ServerProcess server;
  REQUIRE(server.start());
  auto conn = tern::test::connect_or_fail(server.url());
  tern::JetStreamOptions opts;
  opts.timeout = 1s;
  JetStream js(*conn, opts);
  CHECK(error_code(js.account_info().status()) == ErrorCode::NoResponders);
  CHECK(error_code(js.add_stream(stream_cfg("X", {"x"})).status()) == ErrorCode::NoResponders);
}

TEST_CASE("dead-letter stream option and redrive (Tern)", "[jetstream]") {
  if (!tern::test::is_tern()) {
    SUCCEED("dead-letter streams are Tern's extension");
    return;
  }
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);
  REQUIRE(js.add_stream(stream_cfg("ORDERS", {"orders.>"})).is_ok());
  REQUIRE(js.add_stream(stream_cfg("ORDERS_DLQ", {})).is_ok());

  auto cfg = durable("worker");
  cfg.dead_letter_stream = "ORDERS_DLQ";
  auto added = js.add_consumer("ORDERS", cfg);
  INFO(describe(added ? tern::Status::ok() : added.status()));
  REQUIRE(added.is_ok());
  CHECK(added->config.dead_letter_stream == "ORDERS_DLQ");
  CHECK(nlohmann::json::parse(added->json)["config"]["dead_letter"]["stream"] == "ORDERS_DLQ");
  CHECK(js.consumer_info("ORDERS", "worker")->config.dead_letter_stream == "ORDERS_DLQ");

  auto bad = durable("other");
  bad.dead_letter_stream = "MISSING";
  require_api_error(js.add_consumer("ORDERS", bad).status(), 404, 10059, "dead letter stream not found");

  // Terminate a delivery: its copy lands in the dead-letter stream, redrive sends it back.
  put(js, "orders.new", "{\"id\":1}");
  auto inbox = conn->new_inbox();
  auto sub = conn->subscribe_sync(inbox);
  REQUIRE(sub.is_ok());
  REQUIRE(conn->publish("$JS.API.CONSUMER.MSG.NEXT.ORDERS.worker", inbox, "1").is_ok());
  auto delivered = sub->next(2s);
  REQUIRE(delivered.is_ok());
  REQUIRE(conn->publish(delivered->reply, "+TERM").is_ok());
  REQUIRE(tern::test::eventually([&] {
    auto info = js.stream_info("ORDERS_DLQ");
    return info.is_ok() && info->state.messages == 1;
  }));
  auto copy = js.get_msg("ORDERS_DLQ", 1);
  REQUIRE(copy.is_ok());
  REQUIRE(copy->headers.get("Tern-DLQ-Reason"));
  CHECK(*copy->headers.get("Tern-DLQ-Reason") == "terminated");

  auto redriven = js.dlq_redrive("ORDERS_DLQ");
  INFO(describe(redriven ? tern::Status::ok() : redriven.status()));
  REQUIRE(redriven.is_ok());
  CHECK(*redriven == 1);
  REQUIRE(tern::test::eventually([&] {
    auto info = js.stream_info("ORDERS");
    return info.is_ok() && info->state.last_seq == 2;
  }));
  auto back = js.get_msg("ORDERS", 2);
  REQUIRE(back.is_ok());
  CHECK(back->subject == "orders.new");
  CHECK(back->data == "{\"id\":1}");

  auto none = js.dlq_redrive("NOPE");
  REQUIRE_FALSE(none.is_ok());
  require_api_error(none.status(), 404, 10059);
}

TEST_CASE("list_streams follows the pages until it has them all", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  JetStream js(*conn);
  constexpr int kStreams = 260;  // STREAM.LIST answers 256 per page
  for (int i = 0; i < kStreams; ++i) {
    auto cfg = stream_cfg("S" + std::to_string(1000 + i), {});
    cfg.storage = tern::StorageType::Memory;
    auto r = js.add_stream(cfg);
    INFO(describe(r ? tern::Status::ok() : r.status()));
    REQUIRE(r.is_ok());
  }
  auto list = js.list_streams();
  REQUIRE(list.is_ok());
  REQUIRE(list->size() == kStreams);
  std::vector<std::string> names;
  for (auto& s : *list) names.push_back(s.config.name);
  std::sort(names.begin(), names.end());
  CHECK(std::unique(names.begin(), names.end()) == names.end());
  CHECK(names.front() == "S1000");
  CHECK(names.back() == "S1259");
  auto just_names = js.stream_names();
  REQUIRE(just_names.is_ok());
  CHECK(*just_names == names);
}

TEST_CASE("requests leave unset fields out, durations in nanoseconds, Tern's fields as documented", "[jetstream]") {
  tern::test::JetStreamServer server;
  auto conn = tern::test::connect_or_fail(server.url());
  auto spy_conn = tern::test::connect_or_fail(server.url());
  auto spy = spy_conn->subscribe_sync("$JS.API.>");
  REQUIRE(spy.is_ok());
  REQUIRE(spy_conn->flush(2s).is_ok());
  JetStream js(*conn);
  auto next_request = [&] {
    auto m = spy->next(2s);
    REQUIRE(m.is_ok());
    return *m;
  };

  REQUIRE(js.add_stream(stream_cfg("ORDERS", {"orders.>"})).is_ok());
  auto create = next_request();
  CHECK(create.subject == "$JS.API.STREAM.CREATE.ORDERS");
  CHECK(nlohmann::json::parse(create.data) ==
        nlohmann::json::parse(R"({"name":"ORDERS","subjects":["orders.>"],"retention":"limits","discard":"old",
                                  "storage":"file","num_replicas":1})"));

  auto full = stream_cfg("LOGS", {"logs.>"});
  full.max_age = 90s;
  full.duplicate_window = 5s;
  full.compression = "zstd";
  full.max_msgs_per_subject = 10;
  full.deny_delete = true;
  (void)js.add_stream(full);  // nats-server 2.9 ignores "compression"; Tern keeps it
  auto body = nlohmann::json::parse(next_request().data);
  CHECK(body["max_age"] == 90'000'000'000LL);
  CHECK(body["duplicate_window"] == 5'000'000'000LL);
  CHECK(body["compression"] == "zstd");
  CHECK(body["max_msgs_per_subject"] == 10);
  CHECK(body["deny_delete"] == true);
  CHECK_FALSE(body.contains("max_msgs"));
  CHECK_FALSE(body.contains("deny_purge"));

  auto cfg = durable("worker");
  cfg.filter_subject = "orders.new";
  cfg.ack_wait = 2s;
  cfg.dead_letter_stream = "LOGS";
  (void)js.add_consumer("ORDERS", cfg);  // nats-server ignores "dead_letter"
  auto consumer = next_request();
  CHECK(consumer.subject == "$JS.API.CONSUMER.CREATE.ORDERS.worker.orders.new");
  CHECK(nlohmann::json::parse(consumer.data) ==
        nlohmann::json::parse(R"({"stream_name":"ORDERS","config":{"durable_name":"worker","deliver_policy":"all",
                                  "ack_policy":"explicit","ack_wait":2000000000,"filter_subject":"orders.new",
                                  "replay_policy":"instant","dead_letter":{"stream":"LOGS"}}})"));

  // The JSON variant sends the text as it is.
  const std::string text = R"({"name":"RAW", "subjects":["raw.>"]})";
  REQUIRE(js.add_stream_json(text).is_ok());
  auto raw = next_request();
  CHECK(raw.subject == "$JS.API.STREAM.CREATE.RAW");
  CHECK(raw.data == text);
}

// A stand-in for the JetStream API on a server without JetStream: answers each API subject with
// canned text, so the client meets answers no real server sends.
struct FakeApi {
  tern::test::ServerProcess server;
  std::unique_ptr<tern::Connection> responder, conn;
  tern::Subscription sub;
  std::map<std::string, std::string> answers;  // subject -> answer; set before any request

  FakeApi() {
    REQUIRE(server.start());
    responder = tern::test::connect_or_fail(server.url());
    conn = tern::test::connect_or_fail(server.url());
  }
  void start(const std::string& pattern = "$JS.API.>") {
    auto s = responder->subscribe(pattern, [this](tern::Msg& m) {
      auto it = answers.find(m.subject);
      (void)responder->publish(m.reply, it == answers.end() ? "{}" : it->second);
    });
    REQUIRE(s.is_ok());
    sub = std::move(*s);
    REQUIRE(responder->flush(2s).is_ok());
  }
};

// Regression: an "error" object whose fields had other types made json::value() throw out of
// libtern; numbers past 64 bits (read as doubles) were converted with undefined behaviour.
TEST_CASE("API answers of the wrong shape are errors not exceptions and huge numbers saturate", "[jetstream]") {
  FakeApi api;
  const std::string p = "$JS.API.";
  api.answers[p + "STREAM.INFO.BADERR"] = R"({"error":{"code":"404","err_code":[10059],"description":7}})";
  api.answers[p + "STREAM.INFO.HUGEERR"] = R"({"error":{"code":1e300,"err_code":-1e300,"description":"big"}})";
  api.answers[p + "STREAM.INFO.HUGE"] =
      R"({"config":{"name":"HUGE","max_msgs":1e300,"max_bytes":-1e300,"max_msg_size":99999999999,
          "num_replicas":1e20,"max_age":18446744073709551615,"max_consumers":9223372036854775808,
          "subjects":["a",5,null,"b"],"retention":7,"storage":"tape"},
          "state":{"messages":1e30,"bytes":123456789012345678901234567890,"first_seq":-5,
                   "last_seq":18446744073709551615,"num_deleted":-1e300,"consumer_count":-1e30}})";
  api.answers[p + "STREAM.INFO.NOCONFIG"] = R"({"config":"x"})";
  api.answers[p + "STREAM.INFO.ARRAY"] = R"([1,2,3])";
  api.answers[p + "STREAM.INFO.TEXT"] = "not json";
  api.answers[p + "STREAM.INFO.DEEP"] =
      R"({"config":{"name":"DEEP","description":)" + std::string(100000, '[') + std::string(100000, ']') + "}}";
  api.answers[p + "CONSUMER.INFO.S.C"] =
      R"({"config":{"durable_name":5,"backoff":[1e300,"x",-1,2000000000],"ack_policy":7,"max_deliver":"3"},
          "delivered":"x","ack_floor":{"stream_seq":1e300},"num_pending":"lots","num_ack_pending":1e19})";
  api.answers[p + "INFO"] = R"({"memory":"x","limits":[],"api":{"total":-1,"errors":1.5e19}})";
  api.answers[p + "STREAM.MSG.GET.S"] = R"({"message":{"subject":5,"seq":"x","data":"!!notbase64"}})";
  api.answers[p + "STREAM.NAMES"] = R"({"total":"x","streams":[1,"A",null,{"a":1},"B"]})";
  api.answers[p + "STREAM.LIST"] = R"({"total":1,"streams":[{"config":5}]})";
  api.answers[p + "STREAM.DELETE.S"] = R"({"success":"yes"})";
  api.answers[p + "STREAM.PURGE.S"] = R"({"success":true,"purged":-3})";
  api.start();
  JetStream js(*api.conn);

  auto bad_err = js.stream_info("BADERR");
  REQUIRE_FALSE(bad_err.is_ok());
  require_api_error(bad_err.status(), 0, 0, "unknown error");

  auto huge_err = js.stream_info("HUGEERR");
  REQUIRE_FALSE(huge_err.is_ok());
  CHECK(error_code(huge_err.status()) == ErrorCode::JetStreamApi);
  CHECK(tern::api_error(huge_err.status())->description == "big");

  auto huge = js.stream_info("HUGE");
  INFO(describe(huge ? tern::Status::ok() : huge.status()));
  REQUIRE(huge.is_ok());
  CHECK(huge->config.max_msgs == INT64_MAX);
  CHECK(huge->config.max_bytes == INT64_MIN);
  CHECK(huge->config.max_msg_size == INT32_MAX);
  CHECK(huge->config.replicas == INT32_MAX);
  CHECK(huge->config.max_age.count() == INT64_MAX);
  CHECK(huge->config.max_consumers == INT64_MAX);
  CHECK(huge->config.subjects == std::vector<std::string>{"a", "b"});
  CHECK(huge->config.retention == tern::RetentionPolicy::Limits);
  CHECK(huge->config.storage == tern::StorageType::File);
  CHECK(huge->state.messages == UINT64_MAX);
  CHECK(huge->state.bytes == UINT64_MAX);
  CHECK(huge->state.first_seq == 0);
  CHECK(huge->state.last_seq == UINT64_MAX);
  CHECK(huge->state.num_deleted == 0);
  CHECK(huge->state.consumer_count == INT64_MIN);

  for (const char* name : {"NOCONFIG", "ARRAY", "TEXT"}) {
    INFO(name);
    auto r = js.stream_info(name);
    REQUIRE_FALSE(r.is_ok());
    CHECK(error_code(r.status()) == ErrorCode::ProtocolError);
  }
  // 100000 levels of nesting: parsed and freed without recursion, a description of the wrong type.
  auto deep = js.stream_info("DEEP");
  REQUIRE(deep.is_ok());
  CHECK(deep->config.name == "DEEP");
  CHECK(deep->config.description.empty());

  auto ci = js.consumer_info("S", "C");
  REQUIRE(ci.is_ok());
  CHECK(ci->config.durable_name.empty());
  CHECK(ci->config.backoff == std::vector<std::chrono::nanoseconds>{std::chrono::nanoseconds(-1), 2s});
  CHECK(ci->config.ack_policy == tern::AckPolicy::None);
  CHECK(ci->config.max_deliver == 0);
  CHECK(ci->delivered.stream_seq == 0);
  CHECK(ci->num_pending == 0);
  CHECK(ci->num_ack_pending == INT64_MAX);

  auto acct = js.account_info();
  REQUIRE(acct.is_ok());
  CHECK(acct->memory == 0);
  CHECK(acct->max_memory == -1);
  CHECK(acct->api_total == 0);
  CHECK(acct->api_errors == 15000000000000000000ULL);

  auto msg = js.get_msg("S", 1);
  REQUIRE_FALSE(msg.is_ok());
  CHECK(error_code(msg.status()) == ErrorCode::ProtocolError);

  auto names = js.stream_names();
  REQUIRE(names.is_ok());
  CHECK(*names == std::vector<std::string>{"A", "B"});
  auto list = js.list_streams();
  REQUIRE_FALSE(list.is_ok());
  CHECK(error_code(list.status()) == ErrorCode::ProtocolError);
  CHECK(error_code(js.delete_stream("S")) == ErrorCode::ProtocolError);
  auto purged = js.purge_stream("S");
  REQUIRE(purged.is_ok());
  CHECK(*purged == 0);
}

TEST_CASE("publish acks of the wrong shape are errors not exceptions", "[jetstream]") {
  FakeApi api;
  // A "stream" that answers publishes on pub.<kind> with canned acks.
  api.answers["pub.badtypes"] = R"({"stream":5,"seq":"x"})";
  api.answers["pub.baderr"] = R"({"error":{"code":"x","err_code":{},"description":[]}})";
  api.answers["pub.hugeseq"] = R"({"stream":"S","seq":1e30,"duplicate":"yes"})";
  api.start("pub.*");
  JetStream js(*api.conn);

  auto bad_types = js.publish("pub.badtypes", "x");
  REQUIRE_FALSE(bad_types.is_ok());
  CHECK(error_code(bad_types.status()) == ErrorCode::ProtocolError);

  auto bad_err = js.publish("pub.baderr", "x");
  REQUIRE_FALSE(bad_err.is_ok());
  require_api_error(bad_err.status(), 0, 0, "unknown error");

  auto huge = js.publish("pub.hugeseq", "x");
  REQUIRE(huge.is_ok());
  CHECK(huge->seq == UINT64_MAX);
  CHECK_FALSE(huge->duplicate);

  auto fut = js.publish_async(tern::Msg("pub.baderr", "x"));
  REQUIRE(fut.is_ok());
  REQUIRE(fut->wait_for(2s) == std::future_status::ready);
  auto async_err = fut->get();
  REQUIRE_FALSE(async_err.is_ok());
  require_api_error(async_err.status(), 0, 0, "unknown error");
}
