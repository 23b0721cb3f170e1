// stream_config: decoding a stream config as nats-server's json.Unmarshal does (types, ranges,
// enums), the defaults and validation of checkStreamCfg with the error each rule yields, subject
// overlap, and the update rules.
#include "server/stream/stream_config.h"

#include <catch2/catch.hpp>
#include <limits>
#include <string>

using namespace tern::server;
using json = nlohmann::json;

namespace {

// Decodes `j` (REQUIREd to work) and runs check_stream_config; the error, if any.
std::optional<ApiError> checked(const json& j, StreamConfig* out = nullptr) {
  StreamConfig c;
  auto e = decode_stream_config(j, &c);
  REQUIRE_FALSE(e);
  auto err = check_stream_config(&c);
  if (out) *out = c;
  return err;
}

// The description of a 10052 error (500), "" for no error, or "<code/err_code>" for another one.
std::string invalid_config(const json& j) {
  auto e = checked(j);
  if (!e) return "";
  if (e->code != 500 || e->err_code != 10052)
    return "<" + std::to_string(e->code) + "/" + std::to_string(e->err_code) + ">";
  return e->description;
}

// The err_code decode_stream_config answers with (0: decoded).
int decode_err(const json& j) {
  StreamConfig c;
  auto e = decode_stream_config(j, &c);
  return e ? e->err_code : 0;
}

json with(json base, const char* key, json value) {
  base[key] = std::move(value);
  return base;
}

const json kBase = {{"name", "S"}};

}  // namespace

TEST_CASE("stream_config: an empty config decodes to NATS defaults", "[stream_config]") {
  StreamConfig c;
  REQUIRE_FALSE(checked(kBase, &c));
  CHECK(c.name == "S");
  CHECK(c.subjects == std::vector<std::string>{"S"});  // no subjects: the name
  CHECK(c.retention == Retention::kLimits);
  CHECK(c.storage == StorageType::kFile);
  CHECK(c.discard == DiscardPolicy::kOld);
  CHECK(c.max_consumers == -1);
  CHECK(c.max_msgs == -1);
  CHECK(c.max_bytes == -1);
  CHECK(c.max_msgs_per_subject == -1);
  CHECK(c.max_msg_size == -1);
  CHECK(c.max_age_ns == 0);
  CHECK(c.num_replicas == 1);
  CHECK(c.duplicate_window_ns == kDefaultDuplicateWindowNs);
  CHECK(c.compression == Compression::kNone);
  CHECK_FALSE(c.no_ack);
  CHECK_FALSE(c.sealed);
}

TEST_CASE("stream_config: null and unknown keys keep the defaults", "[stream_config]") {
  StreamConfig c;
  json j = {{"name", "S"},          {"max_msgs", nullptr},    {"subjects", nullptr},
            {"retention", nullptr}, {"whatever", {{"a", 1}}}, {"placement", {{"cluster", "x"}}}};
  REQUIRE_FALSE(checked(j, &c));
  CHECK(c.max_msgs == -1);
  CHECK(c.subjects == std::vector<std::string>{"S"});
  CHECK(c.retention == Retention::kLimits);
}

TEST_CASE("stream_config: enums decode NATS spellings and refuse others as invalid JSON", "[stream_config]") {
  StreamConfig c;
  REQUIRE_FALSE(checked(with(kBase, "retention", "interest"), &c));
  CHECK(c.retention == Retention::kInterest);
  REQUIRE_FALSE(checked(with(kBase, "retention", "workqueue"), &c));
  CHECK(c.retention == Retention::kWorkQueue);
  REQUIRE_FALSE(checked(with(kBase, "storage", "memory"), &c));
  CHECK(c.storage == StorageType::kMemory);
  REQUIRE_FALSE(checked(with(kBase, "discard", "new"), &c));
  CHECK(c.discard == DiscardPolicy::kNew);
  REQUIRE_FALSE(checked(with(kBase, "discard", "NEW"), &c));  // nats lower-cases discard
  CHECK(c.discard == DiscardPolicy::kNew);
  CHECK(decode_err(with(kBase, "retention", "Limits")) == 10025);
  CHECK(decode_err(with(kBase, "retention", "bogus")) == 10025);
  CHECK(decode_err(with(kBase, "storage", "disk")) == 10025);
  CHECK(decode_err(with(kBase, "storage", "MEMORY")) == 10025);
  CHECK(decode_err(with(kBase, "discard", "oldest")) == 10025);
  CHECK(decode_err(with(kBase, "retention", 1)) == 10025);
}

TEST_CASE("stream_config: wrong JSON types are invalid JSON (10025, 400)", "[stream_config]") {
  StreamConfig c;
  auto e = decode_stream_config(json::array(), &c);
  REQUIRE(e);
  CHECK(e->code == 400);
  CHECK(e->err_code == 10025);
  CHECK(e->description == "invalid JSON");
  CHECK(decode_err("S") == 10025);
  CHECK(decode_err(42) == 10025);
  CHECK(decode_err(with(kBase, "name", 1)) == 10025);
  CHECK(decode_err(with(kBase, "description", true)) == 10025);
  CHECK(decode_err(with(kBase, "subjects", "foo")) == 10025);  // a string, not a list
  CHECK(decode_err(with(kBase, "subjects", json::array({"a", 1}))) == 10025);
  CHECK(decode_err(with(kBase, "max_msgs", "10")) == 10025);
  CHECK(decode_err(with(kBase, "max_bytes", true)) == 10025);
  CHECK(decode_err(with(kBase, "no_ack", 1)) == 10025);
  CHECK(decode_err(with(kBase, "sealed", "true")) == 10025);
  CHECK(decode_err(with(kBase, "deny_delete", json::object())) == 10025);
  CHECK(decode_err(with(kBase, "compression", 1)) == 10025);
}

TEST_CASE("stream_config: integer fields take integers in range only", "[stream_config]") {
  CHECK(decode_err(with(kBase, "max_msgs", 1.5)) == 10025);
  CHECK(decode_err(with(kBase, "max_msgs", 10.0)) == 10025);  // a float, even a whole one
  CHECK(decode_err(json::parse(R"({"name":"S","max_bytes":1e3})")) == 10025);
  // int64 bounds
  CHECK(decode_err(with(kBase, "max_bytes", std::numeric_limits<int64_t>::max())) == 0);
  CHECK(decode_err(with(kBase, "max_bytes", std::numeric_limits<int64_t>::min())) == 0);
  CHECK(decode_err(with(kBase, "max_bytes", uint64_t{1} << 63)) == 10025);
  CHECK(decode_err(json::parse(R"({"name":"S","max_age":99999999999999999999})")) == 10025);
  // max_msg_size is an int32 in nats
  CHECK(decode_err(with(kBase, "max_msg_size", int64_t{2147483647})) == 0);
  CHECK(decode_err(with(kBase, "max_msg_size", int64_t{2147483648})) == 10025);
  CHECK(decode_err(with(kBase, "max_msg_size", int64_t{-2147483648})) == 0);
  CHECK(decode_err(with(kBase, "max_msg_size", int64_t{-2147483649})) == 10025);
  StreamConfig c;
  REQUIRE_FALSE(decode_stream_config(with(kBase, "max_msg_size", 1024), &c));
  CHECK(c.max_msg_size == 1024);
}

TEST_CASE("stream_config: name and description rules", "[stream_config]") {
  const std::string bad_name = "stream name is required and can not contain '.', '*', '>'";
  CHECK(invalid_config(json::object()) == bad_name);
  CHECK(invalid_config(with(kBase, "name", "")) == bad_name);
  for (const char* n : {"a.b", "a*", "a>", "a b", "a\tb", "a\nb", "a\rb", "a\fb"})
    CHECK(invalid_config(with(kBase, "name", n)) == bad_name);
  CHECK(invalid_config(with(kBase, "name", std::string(255, 'n'))) == "");
  CHECK(invalid_config(with(kBase, "name", std::string(256, 'n'))) ==
        "stream name is too long, maximum allowed is 255");
  CHECK(invalid_config(with(kBase, "description", std::string(4096, 'd'))) == "");
  CHECK(invalid_config(with(kBase, "description", std::string(4097, 'd'))) ==
        "stream description is too long, maximum allowed is 4096");
  CHECK(is_valid_stream_name("ORDERS-1_x"));
  CHECK_FALSE(is_valid_stream_name("a.b"));
}

TEST_CASE("stream_config: replicas", "[stream_config]") {
  CHECK(invalid_config(with(kBase, "num_replicas", 1)) == "");
  CHECK(invalid_config(with(kBase, "num_replicas", 6)) == "maximum replicas is 5");
  auto e = checked(with(kBase, "num_replicas", -1));
  REQUIRE(e);
  CHECK(e->code == 400);
  CHECK(e->err_code == 10133);
  CHECK(e->description == "replicas count cannot be negative");
  e = checked(with(kBase, "num_replicas", 3));  // valid for nats, but Tern is one server
  REQUIRE(e);
  CHECK(e->code == 500);
  CHECK(e->err_code == 10074);
  CHECK(e->description == "replicas > 1 not supported in non-clustered mode");
}

TEST_CASE("stream_config: max_age and duplicate_window", "[stream_config]") {
  constexpr int64_t kMs = 1'000'000;
  CHECK(invalid_config(with(kBase, "max_age", 99 * kMs)) == "max age needs to be >= 100ms");
  CHECK(invalid_config(with(kBase, "max_age", 100 * kMs)) == "");
  CHECK(invalid_config(with(kBase, "duplicate_window", -1)) == "duplicates window can not be negative");
  CHECK(invalid_config(with(kBase, "duplicate_window", 99 * kMs)) == "duplicates window needs to be >= 100ms");
  json j = with(with(kBase, "max_age", 1000 * kMs), "duplicate_window", 2000 * kMs);
  CHECK(invalid_config(j) == "duplicates window can not be larger then max age");
  // The default window shrinks to a shorter max_age.
  StreamConfig c;
  REQUIRE_FALSE(checked(with(kBase, "max_age", 1000 * kMs), &c));
  CHECK(c.duplicate_window_ns == 1000 * kMs);
  REQUIRE_FALSE(checked(with(kBase, "max_age", 3600'000 * kMs), &c));
  CHECK(c.duplicate_window_ns == kDefaultDuplicateWindowNs);
}

TEST_CASE("stream_config: rollup, discard-new-per-subject and create-time flags", "[stream_config]") {
  json j = with(with(kBase, "deny_purge", true), "allow_rollup_hdrs", true);
  CHECK(invalid_config(j) == "roll-ups require the purge permission");
  CHECK(invalid_config(with(kBase, "discard_new_per_subject", true)) ==
        "discard new per subject requires discard new policy to be set");
  j = with(with(kBase, "discard_new_per_subject", true), "discard", "new");
  CHECK(invalid_config(j) == "discard new per subject requires max msgs per subject > 0");
  CHECK(invalid_config(with(j, "max_msgs_per_subject", 1)) == "");
}

TEST_CASE("stream_config: subject rules", "[stream_config]") {
  StreamConfig c;
  REQUIRE_FALSE(checked(with(kBase, "subjects", {"a.*", "b.>"}), &c));
  CHECK(c.subjects == std::vector<std::string>{"a.*", "b.>"});
  CHECK(invalid_config(with(kBase, "subjects", {"a", "a"})) == "duplicate subjects detected");
  for (const char* s : {"$JS.API.>", "$JS.API.STREAM.CREATE.S", "$JS.API.*", ">", "$JS.>", "*.API.x"})
    CHECK(invalid_config(with(kBase, "subjects", {s})) == "subjects overlap with jetstream api");
  CHECK(invalid_config(with(kBase, "subjects", {"$JS.ACK.x"})) == "");
  for (const char* s : {"a..b", "a.>.b", "", "a b", ".a"})
    CHECK(invalid_config(with(kBase, "subjects", {s})) == "invalid subject");
  CHECK(invalid_config(with(kBase, "subjects", {"a.*", "a.b"})) == "subject \"a.*\" overlaps with \"a.b\"");
  CHECK(invalid_config(with(kBase, "subjects", {"a.>", "a.b.c"})) == "subject \"a.>\" overlaps with \"a.b.c\"");
  CHECK(invalid_config(with(kBase, "subjects", {"a.*", "b.*"})) == "");
}

TEST_CASE("stream_config: subjects_collide", "[stream_config]") {
  CHECK(subjects_collide("a.b", "a.b"));
  CHECK_FALSE(subjects_collide("a.b", "a.c"));
  CHECK(subjects_collide("a.*", "a.b"));
  CHECK(subjects_collide("a.b", "a.*"));
  CHECK(subjects_collide("a.*", "*.b"));
  CHECK_FALSE(subjects_collide("a.*", "a.b.c"));
  CHECK(subjects_collide("a.>", "a.b.c"));
  CHECK_FALSE(subjects_collide("a.>", "a"));
  CHECK(subjects_collide(">", "x.y"));
  CHECK(subjects_collide("*.*", "a.>"));
  CHECK_FALSE(subjects_collide("a.b.c", "a.b"));
  CHECK_FALSE(subjects_collide("*", "a.b"));
}

TEST_CASE("stream_config: compression (Tern extension)", "[stream_config]") {
  StreamConfig c;
  REQUIRE_FALSE(checked(with(kBase, "compression", "lz4"), &c));
  CHECK(c.compression == Compression::kLz4);
  REQUIRE_FALSE(checked(with(kBase, "compression", "zstd"), &c));
  CHECK(c.compression == Compression::kZstd);
  REQUIRE_FALSE(checked(with(kBase, "compression", "none"), &c));
  CHECK(c.compression == Compression::kNone);
  REQUIRE_FALSE(checked(with(kBase, "compression", ""), &c));
  CHECK(c.compression == Compression::kNone);
  auto e = decode_stream_config(with(kBase, "compression", "s2"), &c);
  REQUIRE(e);
  CHECK(e->err_code == 10052);
  CHECK(e->description == R"(compression "s2" is not supported by tern: use "none", "lz4" or "zstd")");
  CHECK(decode_err(with(kBase, "compression", "LZ4")) == 10025);
  CHECK(decode_err(with(kBase, "compression", "gzip")) == 10025);
  CHECK(stream_config_json(c)["compression"] == "none");
}

TEST_CASE("stream_config: unsupported features are refused, empty forms are fine", "[stream_config]") {
  StreamConfig c;
  auto e = decode_stream_config(with(kBase, "mirror", {{"name", "O"}}), &c);
  REQUIRE(e);
  CHECK(e->err_code == 10052);
  CHECK(e->description == "mirror is not supported by tern");
  e = decode_stream_config(with(kBase, "sources", json::array({{{"name", "O"}}})), &c);
  REQUIRE(e);
  CHECK(e->description == "sources is not supported by tern");
  e = decode_stream_config(with(kBase, "template_owner", "T"), &c);
  REQUIRE(e);
  CHECK(e->description == "template_owner is not supported by tern");
  CHECK(decode_err(with(kBase, "sources", json::array())) == 0);
  CHECK(decode_err(with(kBase, "mirror", nullptr)) == 0);
}

TEST_CASE("stream_config: update rules", "[stream_config]") {
  StreamConfig old;
  REQUIRE_FALSE(checked(with(kBase, "subjects", {"a"}), &old));
  auto update = [&](const json& j) -> std::string {
    StreamConfig c;
    if (auto e = checked(j, &c)) return "<check: " + e->description + ">";
    auto e = check_stream_update(old, &c);
    return e ? e->description : "";
  };
  json base = with(kBase, "subjects", {"a"});
  // What may change.
  CHECK(update(base) == "");
  CHECK(update(with(base, "subjects", {"a", "b.*"})) == "");
  CHECK(update(with(base, "max_msgs", 10)) == "");
  CHECK(update(with(base, "max_bytes", 1000)) == "");
  CHECK(update(with(base, "max_age", 1'000'000'000)) == "");
  CHECK(update(with(base, "discard", "new")) == "");
  CHECK(update(with(base, "description", "d")) == "");
  CHECK(update(with(base, "deny_delete", true)) == "");
  CHECK(update(with(base, "allow_rollup_hdrs", true)) == "");
  // What may not.
  CHECK(update(with(base, "name", "T")) == "stream configuration name must match original");
  CHECK(update(with(base, "max_consumers", 5)) == "stream configuration update can not change MaxConsumers");
  CHECK(update(with(base, "storage", "memory")) == "stream configuration update can not change storage type");
  CHECK(update(with(base, "retention", "workqueue")) == "stream configuration update can not change retention policy");
  CHECK(update(with(base, "compression", "zstd")) == "stream configuration update can not change compression");
  // One-way flags.
  old.deny_delete = old.deny_purge = true;
  CHECK(update(base) == "stream configuration update can not cancel deny message deletes");
  CHECK(update(with(base, "deny_delete", true)) == "stream configuration update can not cancel deny purge");
  old.deny_delete = old.deny_purge = false;
  old.sealed = true;
  CHECK(update(base) == "stream configuration update can not unseal a sealed stream");
  old.sealed = false;
  // Sealing forces the sealed settings.
  StreamConfig c;
  REQUIRE_FALSE(checked(with(with(base, "sealed", true), "max_age", 1'000'000'000), &c));
  REQUIRE_FALSE(check_stream_update(old, &c));
  CHECK(c.sealed);
  CHECK(c.max_age_ns == 0);
  CHECK(c.discard == DiscardPolicy::kNew);
  CHECK(c.deny_delete);
  CHECK(c.deny_purge);
  CHECK_FALSE(c.allow_rollup_hdrs);
}

TEST_CASE("stream_config: stream_config_json round-trips through decode and check", "[stream_config]") {
  json j = {{"name", "S"},         {"subjects", {"a.*", "b"}}, {"retention", "interest"}, {"max_msgs", 5},
            {"max_bytes", 4096},   {"max_age", 5'000'000'000}, {"storage", "memory"},     {"discard", "new"},
            {"deny_delete", true}, {"description", "hello"},   {"max_msg_size", 100},     {"no_ack", true}};
  StreamConfig c;
  REQUIRE_FALSE(checked(j, &c));
  json out = json::parse(stream_config_json(c).dump());
  CHECK(out["max_msgs_per_subject"] == -1);
  CHECK(out["num_replicas"] == 1);
  CHECK(out["duplicate_window"] == 5'000'000'000);
  StreamConfig again;
  REQUIRE_FALSE(checked(out, &again));
  CHECK(again == c);
}
