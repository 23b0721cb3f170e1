// consumer_config: decoding a create request as nats-server 2.9.10's json.Unmarshal does, the
// defaults of setConsumerConfigDefaults, every checkConsumerCfg / workqueue / naming rule with
// the error nats answers (texts captured from /usr/sbin/nats-server 2.9.10), the update rules,
// the config echo (keys, order and defaults byte-for-byte as nats prints them), Tern's
// dead_letter extension, and Go duration formatting and parsing.
#include "server/stream/consumer_config.h"

#include <catch2/catch.hpp>
#include <limits>
#include <string>

using namespace tern::server;
using json = nlohmann::json;

namespace {

StreamConfig make_stream(const char* name, std::vector<std::string> subjects, Retention retention = Retention::kLimits) {
  StreamConfig s;
  s.name = name;
  s.subjects = std::move(subjects);
  s.retention = retention;
  REQUIRE_FALSE(check_stream_config(&s));
  return s;
}

const StreamConfig& limits_stream() {
  static const StreamConfig s = make_stream("S", {"s.>"});
  return s;
}
const StreamConfig& wq_stream() {
  static const StreamConfig s = make_stream("WQ", {"wq.>"}, Retention::kWorkQueue);
  return s;
}

// "<code>/<err_code> <description>" of the first error decode + check report; "" when accepted.
std::string outcome(const json& config, const StreamConfig& stream = limits_stream(), ConsumerConfig* out = nullptr) {
  ConsumerConfig c;
  std::optional<ApiError> e = decode_consumer_config(config, &c);
  if (!e) e = check_consumer_config(stream, &c);
  if (out) *out = c;
  if (!e) return "";
  return std::to_string(e->code) + "/" + std::to_string(e->err_code) + " " + e->description;
}

// The echoed config of an accepted create, as the compact JSON nats sends.
std::string echo(const json& config, const StreamConfig& stream = limits_stream()) {
  ConsumerConfig c;
  REQUIRE(outcome(config, stream, &c) == "");
  return consumer_config_json(c).dump();
}

ConsumerConfig defaulted(const json& config, const StreamConfig& stream = limits_stream()) {
  ConsumerConfig c;
  REQUIRE(outcome(config, stream, &c) == "");
  return c;
}

// The update check between two configs as the API would see them (both defaulted and checked).
std::string update(const json& old_cfg, const json& new_cfg) {
  auto e = check_consumer_update(defaulted(old_cfg), defaulted(new_cfg));
  if (!e) return "";
  return std::to_string(e->code) + "/" + std::to_string(e->err_code) + " " + e->description;
}

const std::string kInvalidJson = "400/10025 invalid JSON";

}  // namespace

// ---- Defaults and the echo (strings are nats-server 2.9.10's "config" objects) ----

TEST_CASE("consumer_config: an empty pull config gets nats' defaults", "[consumer_config]") {
  CHECK(echo(json::object()) ==
        R"({"deliver_policy":"all","ack_policy":"none","max_deliver":-1,"replay_policy":"instant","max_waiting":512,)"
        R"("inactive_threshold":5000000000,"num_replicas":0})");
  ConsumerConfig c = defaulted(json::object());
  CHECK(c.is_pull());
  CHECK_FALSE(c.is_durable());
  CHECK(c.ack_wait_ns == 0);  // ack none: no ack wait
  CHECK(c.max_ack_pending == 0);
  CHECK(c.inactive_threshold_ns == kDefaultEphemeralInactiveNs);
}

TEST_CASE("consumer_config: explicit ack gets ack_wait 30s and max_ack_pending 1000", "[consumer_config]") {
  CHECK(echo({{"name", "c1"}, {"ack_policy", "explicit"}}) ==
        R"({"name":"c1","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,)"
        R"("replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"inactive_threshold":5000000000,)"
        R"("num_replicas":0})");
  ConsumerConfig all = defaulted({{"ack_policy", "all"}});
  CHECK(all.ack_wait_ns == kDefaultAckWaitNs);
  CHECK(all.max_ack_pending == kDefaultMaxAckPending);
  // What nats.go's PullSubscribe sends must be kept, not capped.
  CHECK(defaulted({{"ack_policy", "explicit"}, {"max_ack_pending", 65536}}).max_ack_pending == 65536);
}

TEST_CASE("consumer_config: a durable with every pull option echoes as nats does", "[consumer_config]") {
  json cfg = json::parse(R"({"durable_name":"d1","ack_policy":"all","backoff":[1000000000,2000000000],
      "max_deliver":5,"filter_subject":"s.a","description":"hi","sample_freq":"50%","max_batch":10,
      "max_expires":5000000000,"max_bytes":1024,"headers_only":true,"inactive_threshold":60000000000,
      "mem_storage":true,"num_replicas":1,"deliver_policy":"by_start_time",
      "opt_start_time":"2024-01-02T03:04:05.120+02:00"})");
  CHECK(echo(cfg) ==
        R"({"durable_name":"d1","description":"hi","deliver_policy":"by_start_time",)"
        R"("opt_start_time":"2024-01-02T03:04:05.12+02:00","ack_policy":"all","ack_wait":1000000000,"max_deliver":5,)"
        R"("backoff":[1000000000,2000000000],"filter_subject":"s.a","replay_policy":"instant","sample_freq":"50%",)"
        R"("max_waiting":512,"max_ack_pending":1000,"headers_only":true,"max_batch":10,"max_expires":5000000000,)"
        R"("max_bytes":1024,"inactive_threshold":60000000000,"num_replicas":1,"mem_storage":true})");
  ConsumerConfig c = defaulted(cfg);
  CHECK(c.is_durable());
  CHECK(c.ack_wait_ns == 1'000'000'000);  // backoff[0] overrides ack_wait
  CHECK(c.opt_start_time_ns == 1704157445120000000);  // 01:04:05.12 UTC
}

TEST_CASE("consumer_config: start sequence, replay original, and a durable's inactive threshold", "[consumer_config]") {
  CHECK(echo({{"deliver_policy", "by_start_sequence"}, {"opt_start_seq", 5}, {"replay_policy", "original"},
              {"ack_wait", 0}}) ==
        R"({"deliver_policy":"by_start_sequence","opt_start_seq":5,"ack_policy":"none","max_deliver":-1,)"
        R"("replay_policy":"original","max_waiting":512,"inactive_threshold":5000000000,"num_replicas":0})");
  // A durable without inactive_threshold never expires: nothing is stamped.
  CHECK(defaulted({{"durable_name", "D"}}).inactive_threshold_ns == 0);
  // Odd values nats accepts and echoes as sent.
  CHECK(echo({{"ack_policy", "explicit"}, {"max_ack_pending", -5}, {"max_deliver", -7}, {"ack_wait", -1}}) ==
        R"({"deliver_policy":"all","ack_policy":"explicit","ack_wait":-1,"max_deliver":-7,"replay_policy":"instant",)"
        R"("max_waiting":512,"max_ack_pending":-5,"inactive_threshold":5000000000,"num_replicas":0})");
}

TEST_CASE("consumer_config: filter subjects are echoed verbatim", "[consumer_config]") {
  CHECK(echo({{"filter_subject", ">"}}) ==
        R"({"deliver_policy":"all","ack_policy":"none","max_deliver":-1,"filter_subject":">","replay_policy":"instant",)"
        R"("max_waiting":512,"inactive_threshold":5000000000,"num_replicas":0})");
  CHECK(outcome({{"filter_subject", "s.*.x"}}) == "");
  CHECK(outcome({{"filter_subject", "s.a.b"}}) == "");
  CHECK(outcome({{"filter_subject", "*.>"}}) == "");  // wider, but covers s.>
  // A config read back from disk keeps a filter its stream no longer covers (nats' isRecovering).
  ConsumerConfig c;
  REQUIRE_FALSE(decode_consumer_config({{"durable_name", "D"}, {"filter_subject", "old.subject"}}, &c));
  CHECK(check_consumer_config(limits_stream(), &c, /*recovering=*/true) == std::nullopt);
  CHECK(c.filter_subject == "old.subject");
}

TEST_CASE("consumer_config: opt_start_time is RFC 3339 and is echoed in its own offset", "[consumer_config]") {
  auto time_echo = [](const char* t) {
    ConsumerConfig c = defaulted({{"deliver_policy", "by_start_time"}, {"opt_start_time", t}});
    return consumer_config_json(c)["opt_start_time"].get<std::string>();
  };
  CHECK(time_echo("2024-01-01T00:00:00Z") == "2024-01-01T00:00:00Z");
  // More than nine fraction digits: the rest is dropped (nats echoes this one without fraction).
  CHECK(time_echo("2024-01-01T00:00:00.000000000001Z") == "2024-01-01T00:00:00Z");
  CHECK(time_echo("1960-01-01T00:00:00.5-01:30") == "1960-01-01T00:00:00.5-01:30");
  CHECK(time_echo("2024-02-29T23:59:59.999999999+00:00") == "2024-02-29T23:59:59.999999999Z");
  CHECK(time_echo("2024-01-01T00:00:00-00:00") == "2024-01-01T00:00:00Z");
  // Go 1.19 leniencies nats 2.9.10 has (checked against it): a comma before the fraction, a
  // one-digit hour, an offset of 24 hours or more.
  CHECK(time_echo("2024-01-01T00:00:00,5Z") == "2024-01-01T00:00:00.5Z");
  CHECK(time_echo("2024-01-01T1:00:00Z") == "2024-01-01T01:00:00Z");
  CHECK(time_echo("2024-01-01T00:00:00+24:00") == "2024-01-01T00:00:00+24:00");
  CHECK(time_echo("2024-01-01T00:00:00+99:59") == "2024-01-01T00:00:00+99:59");
  CHECK(defaulted({{"deliver_policy", "by_start_time"}, {"opt_start_time", "1970-01-01T00:00:01Z"}}).opt_start_time_ns ==
        1'000'000'000);
  CHECK(defaulted({{"deliver_policy", "by_start_time"}, {"opt_start_time", "1969-12-31T23:59:59.5Z"}})
            .opt_start_time_ns == -500'000'000);
  for (const char* bad : {"2024-01-01T00:00:00", "2024-02-30T00:00:00Z", "2024-01-01 00:00:00Z", "2023-02-29T00:00:00Z",
                          "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z",
                          "2024-01-01T00:00:60Z", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00+0200",
                          "2024-01-01T00:00:00Zjunk", "24-01-01T00:00:00Z", "", "3000-01-01T00:00:00Z",
                          "2024-01-01t00:00:00z", "2024-01-01T00:00:00+05:60", "2024-01-01T:00:00Z",
                          "2024-01-01T001:00:00Z", "2024-01-01T00:00:00+5:00", "2024-01-01T",
                          // Go's zero time: nats takes it, but it is outside int64 nanoseconds.
                          "0001-01-01T00:00:00Z"}) {
    INFO(bad);
    CHECK(outcome({{"deliver_policy", "by_start_time"}, {"opt_start_time", bad}}) == kInvalidJson);
  }
  CHECK(outcome({{"opt_start_time", 5}}) == kInvalidJson);
  CHECK(outcome({{"opt_start_time", nullptr}}) == "");  // null: not set
}

// ---- Decoding: types as Go's json.Unmarshal takes them ----

TEST_CASE("consumer_config: wrong types, bad enums and out-of-range numbers are invalid JSON", "[consumer_config]") {
  const std::vector<json> bad = {
      json::array(),
      "config",
      {{"durable_name", 5}},
      {{"deliver_policy", "first"}},
      {{"deliver_policy", nullptr}},  // nats' enums refuse null
      {{"ack_policy", nullptr}},
      {{"ack_policy", "All"}},
      {{"replay_policy", "fast"}},
      {{"replay_policy", nullptr}},
      {{"max_deliver", 1.0}},
      {{"max_deliver", "1"}},
      {{"opt_start_seq", -1}},
      {{"rate_limit_bps", -1}},
      {{"ack_wait", 1e3}},
      {{"ack_wait", json::parse("9223372036854775808")}},
      {{"backoff", 5}},
      {{"backoff", {"1s"}}},
      {{"flow_control", "true"}},
      {{"headers_only", 1}},
      {{"num_replicas", true}},
      {{"sample_freq", 50}},
      {{"max_batch", json::parse("18446744073709551615")}},
      {{"dead_letter", "DLQ"}},
      {{"dead_letter", json::object()}},
      {{"dead_letter", {{"stream", 5}}}},
  };
  for (const json& j : bad) {
    INFO(j.dump());
    CHECK(outcome(j) == kInvalidJson);
  }
}

TEST_CASE("consumer_config: null and unknown keys leave defaults", "[consumer_config]") {
  CHECK(outcome(nullptr) == "");  // Go: null into a struct is a no-op
  CHECK(outcome({{"durable_name", nullptr}, {"max_deliver", nullptr}, {"backoff", nullptr}, {"whatever", {1, 2}},
                 {"metadata", {{"k", "v"}}}, {"filter_subjects", json::array()}, {"dead_letter", nullptr}}) == "");
  CHECK(echo({{"deliver_policy", "undefined"}}) == echo(json::object()));  // nats reads "undefined" as all
  CHECK(defaulted({{"opt_start_seq", json::parse("18446744073709551615")}, {"deliver_policy", "by_start_sequence"}})
            .opt_start_seq == std::numeric_limits<uint64_t>::max());
  // A null backoff element is Go's no-op: 0 (and then max_deliver must exceed the length).
  ConsumerConfig c;
  REQUIRE_FALSE(decode_consumer_config({{"backoff", {nullptr, 5}}}, &c));
  CHECK(c.backoff_ns == std::vector<int64_t>{0, 5});
}

TEST_CASE("consumer_config: create requests", "[consumer_config]") {
  CreateConsumerRequest r;
  REQUIRE_FALSE(decode_create_consumer_request(
      {{"stream_name", "S"}, {"config", {{"durable_name", "D"}}}, {"action", "create"}}, &r));
  CHECK(r.stream_name == "S");
  CHECK(r.config.durable_name == "D");
  CHECK(r.action == "create");
  REQUIRE_FALSE(decode_create_consumer_request({{"stream_name", "S"}, {"config", nullptr}}, &r));
  CHECK(r.config == ConsumerConfig{});
  CHECK(r.action.empty());
  // A null body decodes to nothing; the caller then finds the stream name mismatched (10056).
  REQUIRE_FALSE(decode_create_consumer_request(nullptr, &r));
  CHECK(r.stream_name.empty());
  for (const json& j : {json::array(), json("x"), json{{"stream_name", 1}}, json{{"config", 1}},
                        json{{"stream_name", "S"}, {"action", "upsert"}}, json{{"stream_name", "S"}, {"action", 5}},
                        json{{"stream_name", "S"}, {"config", {{"ack_policy", "maybe"}}}}}) {
    INFO(j.dump());
    auto e = decode_create_consumer_request(j, &r);
    REQUIRE(e);
    CHECK(e->err_code == 10025);
  }
}

// ---- checkConsumerCfg, in nats' order ----

TEST_CASE("consumer_config: each pull-consumer rule answers nats' error", "[consumer_config]") {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"idle_heartbeat", 1000000000}}, "400/10088 consumer idle heartbeat requires a push based consumer"},
      {{{"flow_control", true}}, "400/10089 consumer flow control requires a push based consumer"},
      {{{"max_waiting", -1}}, "400/10087 consumer max waiting needs to be positive"},
      {{{"max_batch", -1}}, "400/10114 consumer max request batch needs to be > 0"},
      {{{"max_expires", 1}}, "400/10115 consumer max request expires needs to be >= 1ms"},
      {{{"max_expires", 999999}}, "400/10115 consumer max request expires needs to be >= 1ms"},
      {{{"rate_limit_bps", 1}}, "400/10086 consumer in pull mode can not have rate limit set"},
      {{{"num_replicas", -1}}, "400/10133 replicas count cannot be negative"},
      {{{"num_replicas", 3}}, "400/10126 consumer config replica count exceeds parent stream"},
      {{{"filter_subject", "x.y"}}, "400/10093 consumer filter subject is not a valid subset of the interest subjects"},
      {{{"filter_subject", "s..a"}}, "400/10093 consumer filter subject is not a valid subset of the interest subjects"},
      {{{"filter_subject", "s"}}, "400/10093 consumer filter subject is not a valid subset of the interest subjects"},
      {{{"description", std::string(4097, 'x')}}, "400/10107 consumer description is too long, maximum allowed is 4096"},
      {{{"backoff", {1, 2}}}, "400/10116 max deliver is required to be > length of backoff values"},
      {{{"backoff", {1, 2}}, {"max_deliver", 2}}, "400/10116 max deliver is required to be > length of backoff values"},
      {{{"sample_freq", "-5"}}, "400/10095 failed to parse consumer sampling configuration: <nil>"},
      {{{"sample_freq", "abc%"}},
       R"(400/10095 failed to parse consumer sampling configuration: strconv.Atoi: parsing "abc": invalid syntax)"},
      {{{"sample_freq", "99999999999999999999"}},
       R"(400/10095 failed to parse consumer sampling configuration: strconv.Atoi: parsing "99999999999999999999": value out of range)"},
      {{{"sample_freq", "%"}},
       R"(400/10095 failed to parse consumer sampling configuration: strconv.Atoi: parsing "": invalid syntax)"},
      {{{"name", "a"}, {"durable_name", "b"}}, "400/10132 Consumer Durable and Name have to be equal if both are provided"},
      {{{"direct", true}}, "400/10090 consumer direct requires a push based consumer"},
  };
  for (const auto& [cfg, want] : cases) {
    INFO(cfg.dump());
    CHECK(outcome(cfg) == want);
  }
  CHECK(outcome({{"description", std::string(4096, 'x')}}) == "");
  CHECK(outcome({{"backoff", {1, 2}}, {"max_deliver", 3}}) == "");
  CHECK(outcome({{"sample_freq", "100%"}}) == "");
  CHECK(outcome({{"sample_freq", "+7"}}) == "");
  CHECK(outcome({{"max_expires", 1000000}}) == "");
  CHECK(outcome({{"num_replicas", 1}}) == "");
  CHECK(outcome({{"name", "a"}, {"durable_name", "a"}}) == "");
}

TEST_CASE("consumer_config: deliver policy conflicts use nats' exact words", "[consumer_config]") {
  const std::string p = "400/10094 consumer delivery policy is deliver ";
  const json t = "2024-01-01T00:00:00Z";
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"opt_start_seq", 1}}, p + "all, but optional start sequence is also set"},
      {{{"opt_start_time", t}}, p + "all, but optional start time is also set"},
      {{{"deliver_policy", "last"}, {"opt_start_seq", 1}}, p + "last, but optional start sequence is also set"},
      {{{"deliver_policy", "last"}, {"opt_start_time", t}}, p + "last, but optional start time is also set"},
      {{{"deliver_policy", "new"}, {"opt_start_seq", 1}}, p + "new, but optional start sequence is also set"},
      {{{"deliver_policy", "new"}, {"opt_start_time", t}}, p + "new, but optional start time is also set"},
      {{{"deliver_policy", "last_per_subject"}, {"opt_start_seq", 1}, {"filter_subject", "s.a"}},
       p + "last per subject, but optional start sequence is also set"},
      {{{"deliver_policy", "last_per_subject"}, {"opt_start_time", t}, {"filter_subject", "s.a"}},
       p + "last per subject, but optional start time is also set"},
      {{{"deliver_policy", "last_per_subject"}}, p + "last per subject, but optional filter subject is not set"},
      {{{"deliver_policy", "by_start_sequence"}}, p + "by start sequence, but optional start sequence is not set"},
      {{{"deliver_policy", "by_start_sequence"}, {"opt_start_seq", 1}, {"opt_start_time", t}},
       p + "by start sequence, but optional start time is also set"},
      {{{"deliver_policy", "by_start_time"}}, p + "by start time, but optional start time is not set"},
      // nats 2.9.10 really says "start start sequence" here.
      {{{"deliver_policy", "by_start_time"}, {"opt_start_seq", 3}, {"opt_start_time", t}},
       p + "by start time, but optional start start sequence is also set"},
  };
  for (const auto& [cfg, want] : cases) {
    INFO(cfg.dump());
    CHECK(outcome(cfg) == want);
  }
  CHECK(outcome({{"deliver_policy", "last_per_subject"}, {"filter_subject", "s.a"}}) == "");
  CHECK(outcome({{"deliver_policy", "last"}}) == "");
  CHECK(outcome({{"deliver_policy", "new"}}) == "");
}

TEST_CASE("consumer_config: the first error is the one nats reports", "[consumer_config]") {
  // replicas before backoff before description before the pull rules before filter and policy.
  CHECK(outcome({{"num_replicas", -1}, {"backoff", {1}}, {"idle_heartbeat", 1}}) ==
        "400/10133 replicas count cannot be negative");
  CHECK(outcome({{"backoff", {1}}, {"description", std::string(5000, 'x')}}) ==
        "400/10116 max deliver is required to be > length of backoff values");
  CHECK(outcome({{"rate_limit_bps", 1}, {"max_waiting", -1}}) ==
        "400/10086 consumer in pull mode can not have rate limit set");
  CHECK(outcome({{"idle_heartbeat", 1}, {"filter_subject", "x"}}) ==
        "400/10088 consumer idle heartbeat requires a push based consumer");
  CHECK(outcome({{"filter_subject", "x"}, {"deliver_policy", "by_start_sequence"}}) ==
        "400/10093 consumer filter subject is not a valid subset of the interest subjects");
  CHECK(outcome({{"deliver_policy", "by_start_sequence"}, {"sample_freq", "x"}}).rfind("400/10094 ", 0) == 0);
}

TEST_CASE("consumer_config: workqueue streams need explicit ack and deliver all", "[consumer_config]") {
  CHECK(outcome(json::object(), wq_stream()) == "400/10084 consumer in pull mode requires ack policy");
  CHECK(outcome({{"ack_policy", "all"}}, wq_stream()) == "400/10098 workqueue stream requires explicit ack");
  CHECK(outcome({{"ack_policy", "explicit"}, {"deliver_policy", "new"}}, wq_stream()) ==
        "400/10101 consumer must be deliver all on workqueue stream");
  CHECK(outcome({{"ack_policy", "explicit"}}, wq_stream()) == "");
  CHECK(outcome({{"ack_policy", "explicit"}, {"filter_subject", "wq.a"}}, wq_stream()) == "");
  // A push consumer with ack none on a workqueue stream gets past 10084 to 10098.
  CHECK(outcome({{"deliver_subject", "dlv"}}, wq_stream()) == "400/10098 workqueue stream requires explicit ack");
}

TEST_CASE("consumer_config: consumer names", "[consumer_config]") {
  CHECK(outcome({{"name", "a.b"}}) == "400/10103 durable name can not contain '.', '*', '>'");
  for (const char* bad : {"a*", "a>", "a b", "a\tb"}) {
    INFO(bad);
    CHECK(outcome({{"durable_name", bad}}) == "400/10103 durable name can not contain '.', '*', '>'");
  }
  CHECK(outcome({{"durable_name", std::string(256, 'd')}}) ==
        "400/10102 consumer name is too long, maximum allowed is 255");
  CHECK(outcome({{"name", std::string(256, 'n')}}) == "400/10102 consumer name is too long, maximum allowed is 255");
  CHECK(outcome({{"durable_name", std::string(255, 'd')}}) == "");
  CHECK(outcome({{"durable_name", "a/b"}}) == "400/10127 Consumer name can not contain path separators");
  CHECK(outcome({{"name", "a\\b"}}) == "400/10127 Consumer name can not contain path separators");
  // The name rules come after the workqueue rules, as in nats.
  CHECK(outcome({{"durable_name", "a.b"}, {"ack_policy", "all"}}, wq_stream()) ==
        "400/10098 workqueue stream requires explicit ack");
}

TEST_CASE("consumer_config: push consumer rules (Tern serves pull, kept for the right error)", "[consumer_config]") {
  CHECK(outcome({{"deliver_subject", "d.*"}}) == "400/10079 consumer deliver subject has wildcards");
  CHECK(outcome({{"deliver_subject", "d..x"}}) == "400/10112 invalid push consumer deliver subject");
  CHECK(outcome({{"deliver_subject", "s.x"}}) == "400/10081 consumer deliver subject forms a cycle");
  CHECK(outcome({{"deliver_subject", "d"}, {"max_waiting", 5}}) == "400/10080 consumer in push mode can not set max waiting");
  CHECK(outcome({{"deliver_subject", "d"}, {"max_ack_pending", 5}}) ==
        "400/10082 consumer requires ack policy for max ack pending");
  CHECK(outcome({{"deliver_subject", "d"}, {"idle_heartbeat", 1000}}) ==
        "400/10083 consumer idle heartbeat needs to be >= 100ms");
  CHECK(outcome({{"deliver_subject", "d"}, {"flow_control", true}}) ==
        "400/10108 consumer with flow control also needs heartbeats");
  ConsumerConfig c = defaulted({{"deliver_subject", "d"}});
  CHECK_FALSE(c.is_pull());
  CHECK(c.max_waiting == 0);  // no pull default for push
}

// ---- Tern's dead_letter extension ----

TEST_CASE("consumer_config: dead_letter names a stream and is echoed only when set", "[consumer_config]") {
  ConsumerConfig c = defaulted({{"durable_name", "D"}, {"ack_policy", "explicit"}, {"dead_letter", {{"stream", "DLQ"}}}});
  CHECK(c.dead_letter_stream == "DLQ");
  auto j = consumer_config_json(c);
  CHECK(j.back() == nlohmann::ordered_json{{"stream", "DLQ"}});  // last, after nats' keys
  CHECK(j["dead_letter"]["stream"] == "DLQ");
  CHECK_FALSE(consumer_config_json(defaulted({{"durable_name", "D"}})).contains("dead_letter"));
  // Round trip through the echo (which is also how Tern persists a config).
  ConsumerConfig back;
  REQUIRE_FALSE(decode_consumer_config(json::parse(j.dump()), &back));
  REQUIRE_FALSE(check_consumer_config(limits_stream(), &back));
  CHECK(back == c);

  CHECK(outcome({{"dead_letter", {{"stream", ""}}}}) == "500/10012 dead_letter stream name is required");
  for (const char* bad : {"a.b", "a*", "a>", "a b", "a/b", "a\\b"}) {
    INFO(bad);
    CHECK(outcome({{"dead_letter", {{"stream", bad}}}}).rfind("500/10012 dead_letter stream name can not contain", 0) == 0);
  }
  CHECK(outcome({{"dead_letter", {{"stream", std::string(256, 'x')}}}}) ==
        "500/10012 dead_letter stream name is too long, maximum allowed is 255");
  CHECK(outcome({{"dead_letter", {{"stream", "S"}}}}) == "500/10012 dead letter stream can not be the consumer's stream");
  CHECK(outcome({{"dead_letter", {{"stream", "DLQ"}, {"other", 1}}}}) == "");  // unknown keys inside: ignored
}

TEST_CASE("consumer_config: features Tern does not have are refused, not ignored", "[consumer_config]") {
  CHECK(outcome({{"filter_subjects", {"s.a", "s.b"}}}) == "500/10012 filter_subjects is not supported by tern: use filter_subject");
  CHECK(outcome({{"direct", true}, {"deliver_subject", "d"}}) == "500/10012 direct consumers are not supported by tern");
}

// ---- Equality and updates ----

TEST_CASE("consumer_config: the same create twice compares equal (idempotent create)", "[consumer_config]") {
  json cfg = {{"durable_name", "D"}, {"ack_policy", "explicit"}, {"filter_subject", "s.a"},
              {"deliver_policy", "by_start_time"}, {"opt_start_time", "2024-01-01T00:00:00.5+01:00"}};
  CHECK(defaulted(cfg) == defaulted(cfg));
  CHECK(update(cfg, cfg) == "");
  // Defaults spelled out equal defaults left out.
  json spelled = cfg;
  spelled["ack_wait"] = 30000000000;
  spelled["max_ack_pending"] = 1000;
  spelled["max_waiting"] = 512;
  spelled["max_deliver"] = -1;
  CHECK(defaulted(spelled) == defaulted(cfg));
  // An ephemeral re-created with its stamped inactive threshold is the same consumer.
  CHECK(defaulted({{"name", "e"}}) == defaulted({{"name", "e"}, {"inactive_threshold", 5000000000}}));
  // The echo of a config decodes back to the same config.
  ConsumerConfig c = defaulted(cfg), back;
  REQUIRE_FALSE(decode_consumer_config(json::parse(consumer_config_json(c).dump()), &back));
  REQUIRE_FALSE(check_consumer_config(limits_stream(), &back));
  CHECK(back == c);
}

TEST_CASE("consumer_config: forbidden updates answer nats' 10012 texts", "[consumer_config]") {
  const json base = {{"durable_name", "D"}, {"ack_policy", "explicit"}};
  auto with = [&](json extra) {
    json j = base;
    for (auto& [k, v] : extra.items()) j[k] = v;
    return j;
  };
  const std::string p = "500/10012 ";
  CHECK(update(base, with({{"deliver_policy", "new"}})) == p + "deliver policy can not be updated");
  CHECK(update(with({{"deliver_policy", "by_start_sequence"}, {"opt_start_seq", 1}}),
               with({{"deliver_policy", "by_start_sequence"}, {"opt_start_seq", 2}})) ==
        p + "start sequence can not be updated");
  CHECK(update(with({{"deliver_policy", "by_start_time"}, {"opt_start_time", "2024-01-01T00:00:00Z"}}),
               with({{"deliver_policy", "by_start_time"}, {"opt_start_time", "2024-01-01T00:00:01Z"}})) ==
        p + "start time can not be updated");
  CHECK(update(base, with({{"ack_policy", "all"}})) == p + "ack policy can not be updated");
  CHECK(update(base, with({{"replay_policy", "original"}})) == p + "replay policy can not be updated");
  CHECK(update(base, with({{"max_waiting", 10}})) == p + "max waiting can not be updated");
  // Order: deliver policy is looked at first.
  CHECK(update(base, with({{"deliver_policy", "new"}, {"ack_policy", "all"}})) == p + "deliver policy can not be updated");

  // Push configs for the texts that need them (check_consumer_update takes defaulted configs).
  ConsumerConfig pull = defaulted(base);
  ConsumerConfig push = defaulted({{"durable_name", "D"}, {"ack_policy", "explicit"}, {"deliver_subject", "d"}});
  auto e = check_consumer_update(pull, push);
  REQUIRE(e);
  CHECK(e->description == "max waiting can not be updated");  // 512 vs 0 comes first, as in nats
  pull.max_waiting = 0;
  e = check_consumer_update(pull, push);
  REQUIRE(e);
  CHECK(e->description == "can not update pull consumer to push based");
  e = check_consumer_update(push, pull);
  REQUIRE(e);
  CHECK(e->description == "can not update push consumer to pull based");
  ConsumerConfig hb = push;
  hb.idle_heartbeat_ns = 5'000'000'000;
  e = check_consumer_update(push, hb);
  REQUIRE(e);
  CHECK(e->err_code == 10012);
  CHECK(e->description == "heart beats can not be updated");
  ConsumerConfig fc = push;
  fc.flow_control = true;
  e = check_consumer_update(push, fc);
  REQUIRE(e);
  CHECK(e->description == "flow control can not be updated");
  ConsumerConfig moved = push;
  moved.deliver_subject = "d2";
  CHECK_FALSE(check_consumer_update(push, moved));  // push to push: allowed
}

TEST_CASE("consumer_config: permitted updates", "[consumer_config]") {
  const json base = {{"durable_name", "D"}, {"ack_policy", "explicit"}, {"filter_subject", "s.a"}};
  for (const json& extra : std::vector<json>{{{"description", "new"}},
                                             {{"ack_wait", 1000000000}},
                                             {{"max_deliver", 3}},
                                             {{"backoff", {1000000000, 2000000000}}, {"max_deliver", 3}},
                                             {{"max_ack_pending", 5}},
                                             {{"sample_freq", "10%"}},
                                             {{"inactive_threshold", 60000000000}},
                                             {{"headers_only", true}},
                                             {{"max_batch", 5}},
                                             {{"max_expires", 2000000000}},
                                             {{"max_bytes", 100}},
                                             {{"filter_subject", "s.b"}},  // nats 2.9.10 does not refuse it
                                             {{"dead_letter", {{"stream", "DLQ"}}}}}) {
    json j = base;
    for (auto& [k, v] : extra.items()) j[k] = v;
    INFO(j.dump());
    CHECK(update(base, j) == "");
  }
  // The backoff rule holds on update too.
  ConsumerConfig old = defaulted(base), bad = defaulted(base);
  bad.backoff_ns = {1, 2, 3};
  bad.max_deliver = 3;
  auto e = check_consumer_update(old, bad);
  REQUIRE(e);
  CHECK(e->err_code == 10116);
}

// ---- Go durations ----

TEST_CASE("consumer_config: go_duration_string is Go's Duration.String", "[consumer_config]") {
  const std::vector<std::pair<int64_t, std::string>> cases = {
      {0, "0s"},
      {1, "1ns"},
      {999, "999ns"},
      {1000, "1\xc2\xb5s"},
      {1500, "1.5\xc2\xb5s"},
      {1'000'000, "1ms"},
      {100'000'000, "100ms"},
      {1'500'000, "1.5ms"},
      {1'000'000'000, "1s"},
      {1'500'000'000, "1.5s"},
      {5'000'000'000, "5s"},
      {60'000'000'000, "1m0s"},
      {90'000'000'000, "1m30s"},
      {3'600'000'000'000, "1h0m0s"},
      {3'723'000'000'001, "1h2m3.000000001s"},
      {-1'500'000'000, "-1.5s"},
      {-1, "-1ns"},
      {std::numeric_limits<int64_t>::max(), "2562047h47m16.854775807s"},
      {std::numeric_limits<int64_t>::min(), "-2562047h47m16.854775808s"},
  };
  for (const auto& [ns, want] : cases) {
    INFO(ns);
    CHECK(go_duration_string(ns) == want);
  }
}

TEST_CASE("consumer_config: parse_go_duration is Go's time.ParseDuration", "[consumer_config]") {
  const std::vector<std::pair<std::string, int64_t>> good = {
      {"0", 0},
      {"-0", 0},
      {"5s", 5'000'000'000},
      {"+5s", 5'000'000'000},
      {"-5s", -5'000'000'000},
      {"1.5s", 1'500'000'000},
      {".5s", 500'000'000},
      {"1.s", 1'000'000'000},
      {"300ms", 300'000'000},
      {"2m", 120'000'000'000},
      {"1h30m", 5'400'000'000'000},
      {"1h2m3s4ms5us6ns", 3'723'004'005'006},
      {"10\xc2\xb5s", 10'000},  // U+00B5
      {"10\xce\xbcs", 10'000},  // U+03BC
      {"100ns", 100},
      {"0.000000001s", 1},
      {"9223372036854775807ns", std::numeric_limits<int64_t>::max()},
      {"-9223372036854775808ns", std::numeric_limits<int64_t>::min()},
      {"2562047h47m16.854775807s", std::numeric_limits<int64_t>::max()},
  };
  for (const auto& [text, ns] : good) {
    INFO(text);
    auto got = parse_go_duration(text);
    REQUIRE(got);
    CHECK(*got == ns);
  }
  for (const char* bad : {"", "-", "+", "s", "5", "5x", "1.5", ".s", "5 s", "1e3s", "9223372036854775808ns",
                          "2562048h", "5sm", "-.s", "1..5s", "\xc2\xb5s"}) {
    INFO(bad);
    CHECK_FALSE(parse_go_duration(bad));
  }
  // Round trip: what Go prints, Go parses.
  for (int64_t ns : {int64_t{1}, int64_t{1500}, int64_t{1'500'000}, int64_t{90'000'000'000},
                     int64_t{3'723'000'000'001}, int64_t{-42}}) {
    INFO(ns);
    auto back = parse_go_duration(go_duration_string(ns));
    REQUIRE(back);
    CHECK(*back == ns);
  }
}
