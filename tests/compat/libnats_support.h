#pragma once
// Shared by the libnats compat tests: RAII owners for libnats handles, natsStatus printing for
// Catch2, and the connect/subscribe/publish/flush steps every case repeats. Each step REQUIREs
// NATS_OK, so a case stops at the first step that did not work.
//
// nats_Close() is never called: it tears the library down for the whole process.

#include <nats/nats.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/server_process.h"

namespace Catch {
// Failed CHECKs on a natsStatus print its text and number, e.g. "Timeout (<n>)".
template <>
struct StringMaker<natsStatus> {
  static std::string convert(natsStatus s) {
    return std::string(natsStatus_GetText(s)) + " (" + std::to_string(s) + ")";
  }
};
}  // namespace Catch

namespace tern::test::libnats {

// unique_ptr deleter calling the libnats destroy function Fn.
template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using Conn = std::unique_ptr<natsConnection, Deleter<natsConnection_Destroy>>;
using Sub = std::unique_ptr<natsSubscription, Deleter<natsSubscription_Destroy>>;
using Msg = std::unique_ptr<natsMsg, Deleter<natsMsg_Destroy>>;
using Opts = std::unique_ptr<natsOptions, Deleter<natsOptions_Destroy>>;
using Stats = std::unique_ptr<natsStatistics, Deleter<natsStatistics_Destroy>>;
using Inbox = std::unique_ptr<natsInbox, Deleter<natsInbox_Destroy>>;

// Starts `server` with `args`; REQUIREs that it came up, naming the binary if not.
inline void start(ServerProcess& server, const std::vector<std::string>& args = {}) {
  INFO("server: " << server_binary());
  REQUIRE(server.start(args));
}

// A connection to `server` with libnats' default options.
inline Conn connect(const ServerProcess& server) {
  natsConnection* nc = nullptr;
  REQUIRE(natsConnection_ConnectTo(&nc, server.url().c_str()) == NATS_OK);
  return Conn(nc);
}

// Options with the server's URL (or `url` when given, e.g. one carrying credentials) and a
// 2 s connect timeout, for a test to add to.
inline Opts options_for(const ServerProcess& server, const std::string& url = {}) {
  natsOptions* o = nullptr;
  REQUIRE(natsOptions_Create(&o) == NATS_OK);
  Opts opts(o);
  REQUIRE(natsOptions_SetURL(o, url.empty() ? server.url().c_str() : url.c_str()) == NATS_OK);
  REQUIRE(natsOptions_SetTimeout(o, 2000) == NATS_OK);
  return opts;
}

inline Conn connect_with(natsOptions* opts) {
  natsConnection* nc = nullptr;
  REQUIRE(natsConnection_Connect(&nc, opts) == NATS_OK);
  return Conn(nc);
}

// Subscribes without flushing: call flush() before relying on the server having the SUB.
inline Sub subscribe_sync(natsConnection* nc, const char* subject) {
  natsSubscription* s = nullptr;
  REQUIRE(natsConnection_SubscribeSync(&s, nc, subject) == NATS_OK);
  return Sub(s);
}

// A queue subscription in `queue`, not flushed either.
inline Sub queue_subscribe_sync(natsConnection* nc, const char* subject, const char* queue) {
  natsSubscription* s = nullptr;
  REQUIRE(natsConnection_QueueSubscribeSync(&s, nc, subject, queue) == NATS_OK);
  return Sub(s);
}

// An async subscription calling `cb` with `closure` on libnats' delivery thread; not flushed.
// `closure` must outlive the returned Sub.
inline Sub subscribe_async(natsConnection* nc, const char* subject, natsMsgHandler cb, void* closure) {
  natsSubscription* s = nullptr;
  REQUIRE(natsConnection_Subscribe(&s, nc, subject, cb, closure) == NATS_OK);
  return Sub(s);
}

// Waits for the next message; REQUIREs that one arrives within `timeout_ms`.
inline Msg next_msg(natsSubscription* sub, int64_t timeout_ms = 2000) {
  natsMsg* m = nullptr;
  REQUIRE(natsSubscription_NextMsg(&m, sub, timeout_ms) == NATS_OK);
  return Msg(m);
}

// The payload of `m` as bytes (may contain NULs).
inline std::string data_of(const natsMsg* m) {
  return std::string(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
}

inline void publish(natsConnection* nc, const char* subject, const std::string& data) {
  REQUIRE(natsConnection_Publish(nc, subject, data.data(), static_cast<int>(data.size())) == NATS_OK);
}

// A PING/PONG round trip: everything this connection sent before has been processed by the
// server, and everything the server queued to it before the PONG has arrived.
inline void flush(natsConnection* nc) { REQUIRE(natsConnection_FlushTimeout(nc, 2000) == NATS_OK); }

// natsConnection_RequestString; REQUIREs a reply (NATS_OK) within `timeout_ms` and returns it.
inline Msg request(natsConnection* nc, const char* subject, const char* text, int64_t timeout_ms = 2000) {
  natsMsg* r = nullptr;
  REQUIRE(natsConnection_RequestString(&r, nc, subject, text, timeout_ms) == NATS_OK);
  return Msg(r);
}

}  // namespace tern::test::libnats
