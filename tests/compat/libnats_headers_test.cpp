// Compat: message headers (HPUB/HMSG) as an application using the NATS C client sees them.
//
// libnats 3.x keeps header keys case-sensitive and sends them as written, so the server
// must pass the header block through byte for byte (spec protocol.md sections 3.2, 3.6, 4).

#include <nats/nats.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tests/compat/libnats_support.h"
#include "tests/support/server_process.h"

using namespace tern::test::libnats;
using namespace std::chrono_literals;
using tern::test::ServerProcess;

namespace {

Msg make_msg(const char* subject, const std::string& data, const char* reply = nullptr) {
  natsMsg* m = nullptr;
  REQUIRE(natsMsg_Create(&m, subject, reply, data.data(), static_cast<int>(data.size())) == NATS_OK);
  return Msg(m);
}

// All values of `key`, in order; empty when the key is absent.
std::vector<std::string> values_of(natsMsg* m, const char* key) {
  const char** values = nullptr;
  int count = 0;
  std::vector<std::string> out;
  natsStatus s = natsMsgHeader_Values(m, key, &values, &count);
  if (s == NATS_NOT_FOUND) return out;
  REQUIRE(s == NATS_OK);
  for (int i = 0; i < count; ++i) out.emplace_back(values[i] ? values[i] : "");
  std::free(static_cast<void*>(values));
  return out;
}

std::vector<std::string> keys_of(natsMsg* m) {
  const char** keys = nullptr;
  int count = 0;
  std::vector<std::string> out;
  natsStatus s = natsMsgHeader_Keys(m, &keys, &count);
  if (s == NATS_NOT_FOUND) return out;
  REQUIRE(s == NATS_OK);
  for (int i = 0; i < count; ++i) out.emplace_back(keys[i]);
  std::free(static_cast<void*>(keys));
  std::sort(out.begin(), out.end());
  return out;
}

std::string header(natsMsg* m, const char* key) {
  const char* v = nullptr;
  REQUIRE(natsMsgHeader_Get(m, key, &v) == NATS_OK);
  return v ? v : "";
}

}  // namespace

TEST_CASE("libnats: headers set with Set and Add arrive with the same keys, values and multi-values",
          "[compat][libnats][headers]") {
  ServerProcess server;
  start(server);
  Conn pub = connect(server);
  Conn subc = connect(server);
  Sub sub = subscribe_sync(subc.get(), "hdr.basic");
  flush(subc.get());

  Msg out = make_msg("hdr.basic", "payload with headers");
  REQUIRE(natsMsgHeader_Set(out.get(), "Single", "one") == NATS_OK);
  REQUIRE(natsMsgHeader_Set(out.get(), "Replaced", "old") == NATS_OK);
  REQUIRE(natsMsgHeader_Set(out.get(), "Replaced", "new") == NATS_OK);
  REQUIRE(natsMsgHeader_Add(out.get(), "Multi", "a") == NATS_OK);
  REQUIRE(natsMsgHeader_Add(out.get(), "Multi", "b") == NATS_OK);
  REQUIRE(natsMsgHeader_Add(out.get(), "Multi", "c") == NATS_OK);
  REQUIRE(natsMsgHeader_Set(out.get(), "With-Spaces", "value with  spaces: and colon") == NATS_OK);
  REQUIRE(natsConnection_PublishMsg(pub.get(), out.get()) == NATS_OK);
  flush(pub.get());

  Msg in = next_msg(sub.get());
  CHECK(data_of(in.get()) == "payload with headers");
  CHECK(keys_of(in.get()) == std::vector<std::string>{"Multi", "Replaced", "Single", "With-Spaces"});
  CHECK(header(in.get(), "Single") == "one");
  CHECK(header(in.get(), "Replaced") == "new");
  CHECK(values_of(in.get(), "Replaced") == std::vector<std::string>{"new"});
  CHECK(header(in.get(), "Multi") == "a");  // Get returns the first value
  CHECK(values_of(in.get(), "Multi") == std::vector<std::string>{"a", "b", "c"});
  CHECK(header(in.get(), "With-Spaces") == "value with  spaces: and colon");
  const char* missing = nullptr;
  CHECK(natsMsgHeader_Get(in.get(), "Absent", &missing) == NATS_NOT_FOUND);
}

TEST_CASE("libnats: header keys keep their case end to end and keys differing only in case stay distinct",
          "[compat][libnats][headers]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  Sub sub = subscribe_sync(nc.get(), "hdr.case");
  flush(nc.get());

  Msg out = make_msg("hdr.case", "x");
  REQUIRE(natsMsgHeader_Set(out.get(), "Trace-Id", "upper") == NATS_OK);
  REQUIRE(natsMsgHeader_Set(out.get(), "trace-id", "lower") == NATS_OK);
  REQUIRE(natsMsgHeader_Set(out.get(), "X-lowerCamel", "mixed") == NATS_OK);
  REQUIRE(natsConnection_PublishMsg(nc.get(), out.get()) == NATS_OK);
  flush(nc.get());

  Msg in = next_msg(sub.get());
  CHECK(keys_of(in.get()) == std::vector<std::string>{"Trace-Id", "X-lowerCamel", "trace-id"});
  CHECK(header(in.get(), "Trace-Id") == "upper");
  CHECK(header(in.get(), "trace-id") == "lower");
  CHECK(header(in.get(), "X-lowerCamel") == "mixed");
}

TEST_CASE("libnats: a message with headers and an empty payload arrives with its headers and no data",
          "[compat][libnats][headers]") {
  ServerProcess server;
  start(server);
  Conn pub = connect(server);
  Conn subc = connect(server);
  Sub sub = subscribe_sync(subc.get(), "hdr.empty");
  flush(subc.get());

  Msg out = make_msg("hdr.empty", "");
  REQUIRE(natsMsgHeader_Set(out.get(), "Only", "headers") == NATS_OK);
  REQUIRE(natsConnection_PublishMsg(pub.get(), out.get()) == NATS_OK);
  flush(pub.get());

  Msg in = next_msg(sub.get());
  CHECK(natsMsg_GetDataLength(in.get()) == 0);
  CHECK(header(in.get(), "Only") == "headers");
  CHECK_FALSE(natsMsg_IsNoResponders(in.get()));
}

TEST_CASE("libnats: header and plain messages interleave on one subscription in publish order",
          "[compat][libnats][headers]") {
  ServerProcess server;
  start(server);
  Conn pub = connect(server);
  Conn subc = connect(server);
  Sub sub = subscribe_sync(subc.get(), "hdr.mixed");
  flush(subc.get());

  for (int i = 0; i < 20; ++i) {
    std::string body = "m" + std::to_string(i);
    if (i % 2 == 0) {
      Msg out = make_msg("hdr.mixed", body);
      REQUIRE(natsMsgHeader_Set(out.get(), "Seq", std::to_string(i).c_str()) == NATS_OK);
      REQUIRE(natsConnection_PublishMsg(pub.get(), out.get()) == NATS_OK);
    } else {
      REQUIRE(natsConnection_Publish(pub.get(), "hdr.mixed", body.data(), static_cast<int>(body.size())) == NATS_OK);
    }
  }
  flush(pub.get());

  for (int i = 0; i < 20; ++i) {
    Msg in = next_msg(sub.get());
    CHECK(data_of(in.get()) == "m" + std::to_string(i));
    if (i % 2 == 0) {
      CHECK(header(in.get(), "Seq") == std::to_string(i));
    } else {
      CHECK(keys_of(in.get()).empty());
    }
  }
}

TEST_CASE("libnats: headers and payload survive a wildcard subscription and a queue subscription",
          "[compat][libnats][headers]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  Sub wild = subscribe_sync(nc.get(), "hdr.>");
  Sub queue = queue_subscribe_sync(nc.get(), "hdr.wild.x", "grp");
  flush(nc.get());

  Msg out = make_msg("hdr.wild.x", "body");
  REQUIRE(natsMsgHeader_Add(out.get(), "K", "v1") == NATS_OK);
  REQUIRE(natsMsgHeader_Add(out.get(), "K", "v2") == NATS_OK);
  REQUIRE(natsConnection_PublishMsg(nc.get(), out.get()) == NATS_OK);
  flush(nc.get());

  for (natsSubscription* s : {wild.get(), queue.get()}) {
    Msg in = next_msg(s);
    CHECK(std::string(natsMsg_GetSubject(in.get())) == "hdr.wild.x");
    CHECK(data_of(in.get()) == "body");
    CHECK(values_of(in.get(), "K") == std::vector<std::string>{"v1", "v2"});
  }
}

TEST_CASE("libnats: a large header block (many keys, 2 KiB value) with a 64 KiB payload round-trips",
          "[compat][libnats][headers]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  Sub sub = subscribe_sync(nc.get(), "hdr.large");
  flush(nc.get());

  std::string body(64 * 1024, 'p');
  std::string long_value(2048, 'v');
  Msg out = make_msg("hdr.large", body);
  for (int i = 0; i < 50; ++i) {
    REQUIRE(natsMsgHeader_Set(out.get(), ("Key-" + std::to_string(i)).c_str(), std::to_string(i * i).c_str()) ==
            NATS_OK);
  }
  REQUIRE(natsMsgHeader_Set(out.get(), "Long", long_value.c_str()) == NATS_OK);
  REQUIRE(natsConnection_PublishMsg(nc.get(), out.get()) == NATS_OK);
  flush(nc.get());

  Msg in = next_msg(sub.get());
  CHECK(data_of(in.get()) == body);
  CHECK(keys_of(in.get()).size() == 51);
  for (int i = 0; i < 50; ++i) CHECK(header(in.get(), ("Key-" + std::to_string(i)).c_str()) == std::to_string(i * i));
  CHECK(header(in.get(), "Long") == long_value);
}

TEST_CASE("libnats: header size counts toward max_payload on the client side", "[compat][libnats][headers]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  const int64_t max = natsConnection_GetMaxPayload(nc.get());
  REQUIRE(max == 1048576);
  std::string body(static_cast<size_t>(max) - 10, 'd');  // fits alone, not with the header block
  Msg out = make_msg("hdr.max", body);
  REQUIRE(natsMsgHeader_Set(out.get(), "Some", "header") == NATS_OK);
  CHECK(natsConnection_PublishMsg(nc.get(), out.get()) == NATS_MAX_PAYLOAD);
  CHECK(natsConnection_Status(nc.get()) == NATS_CONN_STATUS_CONNECTED);
}

namespace {

// Replies to each request with the request's "Ask" header echoed as "Answer", plus a fixed multi-value.
void header_responder(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  const char* reply = natsMsg_GetReply(msg);
  const char* ask = nullptr;
  natsMsgHeader_Get(msg, "Ask", &ask);
  natsMsg* out = nullptr;
  if (reply != nullptr && natsMsg_Create(&out, reply, nullptr, "answered", 8) == NATS_OK) {
    natsMsgHeader_Set(out, "Answer", ask ? ask : "(none)");
    natsMsgHeader_Add(out, "Via", "responder-1");
    natsMsgHeader_Add(out, "Via", "responder-2");
    natsConnection_PublishMsg(nc, out);
    natsMsg_Destroy(out);
  }
  natsMsg_Destroy(msg);
}

}  // namespace

TEST_CASE("libnats: RequestMsg carries headers to the responder and the reply's headers back",
          "[compat][libnats][headers]") {
  ServerProcess server;
  start(server);
  Conn rc = connect(server);
  Conn nc = connect(server);
  Sub service = subscribe_async(rc.get(), "hdr.svc", header_responder, nullptr);
  flush(rc.get());

  Msg req = make_msg("hdr.svc", "question");
  REQUIRE(natsMsgHeader_Set(req.get(), "Ask", "what time is it") == NATS_OK);
  natsMsg* r = nullptr;
  REQUIRE(natsConnection_RequestMsg(&r, nc.get(), req.get(), 2000) == NATS_OK);
  Msg reply(r);
  CHECK(data_of(reply.get()) == "answered");
  CHECK(header(reply.get(), "Answer") == "what time is it");
  CHECK(values_of(reply.get(), "Via") == std::vector<std::string>{"responder-1", "responder-2"});
  CHECK_FALSE(natsMsg_IsNoResponders(reply.get()));
}

TEST_CASE("libnats: RequestMsg with headers and nobody subscribed returns NATS_NO_RESPONDERS",
          "[compat][libnats][headers]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  Msg req = make_msg("hdr.nobody", "question");
  REQUIRE(natsMsgHeader_Set(req.get(), "Ask", "anyone") == NATS_OK);
  natsMsg* r = nullptr;
  auto t0 = std::chrono::steady_clock::now();
  CHECK(natsConnection_RequestMsg(&r, nc.get(), req.get(), 5000) == NATS_NO_RESPONDERS);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  if (r != nullptr) natsMsg_Destroy(r);
}
