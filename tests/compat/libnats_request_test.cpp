// Compat: request/reply and "no responders" as an application using the NATS C client sees it.
//
// natsConnection_Request uses one wildcard inbox subscription (_INBOX.<nuid>.*) for all
// requests and a literal reply subject per request, so these cases also prove wildcard
// delivery with the published subject in the MSG line (spec protocol.md section 7).

#include <nats/nats.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/compat/libnats_support.h"
#include "tests/support/server_process.h"

using namespace tern::test::libnats;
using namespace std::chrono_literals;
using tern::test::ServerProcess;

namespace {

int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
}

// Replies "re:<request>" to every request and remembers the reply subjects it saw.
struct EchoResponder {
  std::mutex mu;
  std::vector<std::string> reply_subjects;
  std::vector<std::string> requests;
  std::atomic<int> handled{0};
  bool empty_reply = false;

  static void on_msg(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<EchoResponder*>(closure);
    const char* reply = natsMsg_GetReply(msg);
    std::string body = "re:" + data_of(msg);
    {
      std::lock_guard<std::mutex> lock(self->mu);
      self->reply_subjects.emplace_back(reply ? reply : "");
      self->requests.push_back(data_of(msg));
    }
    if (reply != nullptr) {
      if (self->empty_reply) {
        natsConnection_Publish(nc, reply, nullptr, 0);
      } else {
        natsConnection_Publish(nc, reply, body.data(), static_cast<int>(body.size()));
      }
    }
    ++self->handled;
    natsMsg_Destroy(msg);
  }
};

Sub serve(natsConnection* nc, const char* subject, EchoResponder& responder, const char* queue = nullptr) {
  natsSubscription* s = nullptr;
  if (queue != nullptr) {
    REQUIRE(natsConnection_QueueSubscribe(&s, nc, subject, queue, EchoResponder::on_msg, &responder) == NATS_OK);
  } else {
    REQUIRE(natsConnection_Subscribe(&s, nc, subject, EchoResponder::on_msg, &responder) == NATS_OK);
  }
  flush(nc);
  return Sub(s);
}

}  // namespace

TEST_CASE("libnats: Request gets the reply of a responder on another connection, which sees an _INBOX reply subject",
          "[compat][libnats][request]") {
  ServerProcess server;
  start(server);
  EchoResponder responder;
  Conn rc = connect(server);
  Conn nc = connect(server);
  Sub service = serve(rc.get(), "svc.echo", responder);

  Msg reply = request(nc.get(), "svc.echo", "ping");
  CHECK(data_of(reply.get()) == "re:ping");

  std::lock_guard<std::mutex> lock(responder.mu);
  REQUIRE(responder.reply_subjects.size() == 1);
  const std::string& rs = responder.reply_subjects[0];
  INFO("reply subject: " << rs);
  CHECK(rs.rfind("_INBOX.", 0) == 0);
  CHECK(rs.size() > std::string("_INBOX.").size());
  // The reply arrives on the literal reply subject, not the inbox wildcard pattern.
  CHECK(std::string(natsMsg_GetSubject(reply.get())) == rs);
  CHECK(responder.requests[0] == "ping");
}

TEST_CASE("libnats: 50 sequential requests each get their own matching reply", "[compat][libnats][request]") {
  ServerProcess server;
  start(server);
  EchoResponder responder;
  Conn rc = connect(server);
  Conn nc = connect(server);
  Sub service = serve(rc.get(), "svc.seq", responder);

  for (int i = 0; i < 50; ++i) {
    std::string body = "n" + std::to_string(i);
    natsMsg* r = nullptr;
    REQUIRE(natsConnection_Request(&r, nc.get(), "svc.seq", body.data(), static_cast<int>(body.size()), 2000) ==
            NATS_OK);
    Msg reply(r);
    CHECK(data_of(reply.get()) == "re:" + body);
  }
  std::lock_guard<std::mutex> lock(responder.mu);
  CHECK(responder.requests.size() == 50);
  // One muxed inbox: every reply subject shares the same prefix, with a distinct last token.
  const std::string& first = responder.reply_subjects.front();
  const std::string prefix = first.substr(0, first.rfind('.') + 1);
  for (const auto& rs : responder.reply_subjects) CHECK(rs.rfind(prefix, 0) == 0);
}

TEST_CASE("libnats: concurrent requests from 4 threads on one connection each get the right reply",
          "[compat][libnats][request]") {
  ServerProcess server;
  start(server);
  EchoResponder responder;
  Conn rc = connect(server);
  Conn nc = connect(server);
  Sub service = serve(rc.get(), "svc.concurrent", responder);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::atomic<int> ok{0};
  std::mutex failures_mu;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string body = std::to_string(t) + "/" + std::to_string(i);
        natsMsg* r = nullptr;
        natsStatus s =
            natsConnection_Request(&r, nc.get(), "svc.concurrent", body.data(), static_cast<int>(body.size()), 2000);
        std::string got = (s == NATS_OK) ? data_of(r) : std::string("status ") + natsStatus_GetText(s);
        if (r != nullptr) natsMsg_Destroy(r);
        if (got == "re:" + body) {
          ++ok;
        } else {
          std::lock_guard<std::mutex> lock(failures_mu);
          failures.push_back(body + " -> " + got);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& f : failures) UNSCOPED_INFO(f);
  CHECK(failures.empty());
  CHECK(ok == kThreads * kPerThread);
}

TEST_CASE("libnats: Request with nobody subscribed returns NATS_NO_RESPONDERS quickly, not a timeout",
          "[compat][libnats][request]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);

  auto t0 = std::chrono::steady_clock::now();
  natsMsg* r = nullptr;
  natsStatus s = natsConnection_RequestString(&r, nc.get(), "svc.nobody", "hello?", 5000);
  const int64_t ms = elapsed_ms(t0);
  if (r != nullptr) natsMsg_Destroy(r);
  CHECK(s == NATS_NO_RESPONDERS);
  CHECK(r == nullptr);
  CHECK(ms < 1000);

  // The connection is still usable afterwards, and a later responder is found.
  EchoResponder responder;
  Sub service = serve(nc.get(), "svc.nobody", responder);
  Msg reply = request(nc.get(), "svc.nobody", "now?");
  CHECK(data_of(reply.get()) == "re:now?");
}

TEST_CASE("libnats: a responder that unsubscribed leaves requests with NATS_NO_RESPONDERS",
          "[compat][libnats][request]") {
  ServerProcess server;
  start(server);
  EchoResponder responder;
  Conn rc = connect(server);
  Conn nc = connect(server);
  Sub service = serve(rc.get(), "svc.gone", responder);
  request(nc.get(), "svc.gone", "a");

  REQUIRE(natsSubscription_Unsubscribe(service.get()) == NATS_OK);
  flush(rc.get());
  auto t0 = std::chrono::steady_clock::now();
  natsMsg* r = nullptr;
  CHECK(natsConnection_RequestString(&r, nc.get(), "svc.gone", "b", 5000) == NATS_NO_RESPONDERS);
  CHECK(elapsed_ms(t0) < 1000);
  if (r != nullptr) natsMsg_Destroy(r);
}

TEST_CASE("libnats: PublishRequest to nobody makes NextMsg on the reply inbox return NATS_NO_RESPONDERS",
          "[compat][libnats][request]") {
  ServerProcess server;
  start(server);
  Conn nc = connect(server);
  natsInbox* ib = nullptr;
  REQUIRE(natsInbox_Create(&ib) == NATS_OK);
  Inbox inbox(ib);
  Sub replies = subscribe_sync(nc.get(), inbox.get());
  flush(nc.get());

  REQUIRE(natsConnection_PublishRequestString(nc.get(), "svc.absent", inbox.get(), "anyone?") == NATS_OK);
  auto t0 = std::chrono::steady_clock::now();
  natsMsg* m = nullptr;
  natsStatus s = natsSubscription_NextMsg(&m, replies.get(), 3000);
  if (m != nullptr) natsMsg_Destroy(m);
  CHECK(s == NATS_NO_RESPONDERS);
  CHECK(elapsed_ms(t0) < 1000);
}

TEST_CASE("libnats: no-responders status reaches an async reply subscription as an empty 503 message",
          "[compat][libnats][request]") {
  ServerProcess server;
  start(server);
  struct Seen {
    std::mutex mu;
    std::condition_variable cv;
    bool got = false;
    bool no_responders = false;
    int data_len = -1;
    std::string status;
  } seen;
  auto on_msg = [](natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<Seen*>(closure);
    std::lock_guard<std::mutex> lock(self->mu);
    self->got = true;
    self->no_responders = natsMsg_IsNoResponders(msg);
    self->data_len = natsMsg_GetDataLength(msg);
    const char* status = nullptr;
    if (natsMsgHeader_Get(msg, "Status", &status) == NATS_OK && status != nullptr) self->status = status;
    natsMsg_Destroy(msg);
    self->cv.notify_all();
  };
  Conn nc = connect(server);
  Sub replies = subscribe_async(nc.get(), "my.replies.>", on_msg, &seen);
  flush(nc.get());
  // The reply subject matches the publisher's wildcard subscription: the server must find it.
  REQUIRE(natsConnection_PublishRequestString(nc.get(), "svc.absent", "my.replies.1", "x") == NATS_OK);
  flush(nc.get());

  std::unique_lock<std::mutex> lock(seen.mu);
  REQUIRE(seen.cv.wait_for(lock, 2s, [&] { return seen.got; }));
  CHECK(seen.no_responders);
  CHECK(seen.data_len == 0);
  CHECK(seen.status == "503");
}

TEST_CASE("libnats: a subscribed responder that never replies makes Request time out with NATS_TIMEOUT",
          "[compat][libnats][request]") {
  ServerProcess server;
  start(server);
  Conn rc = connect(server);
  Conn nc = connect(server);
  Sub silent = subscribe_sync(rc.get(), "svc.silent");
  flush(rc.get());

  auto t0 = std::chrono::steady_clock::now();
  natsMsg* r = nullptr;
  CHECK(natsConnection_RequestString(&r, nc.get(), "svc.silent", "hello", 300) == NATS_TIMEOUT);
  const int64_t ms = elapsed_ms(t0);
  CHECK(r == nullptr);
  CHECK(ms >= 250);
  CHECK(ms < 2000);
  // The request did reach the silent subscriber, with a reply subject.
  natsMsg* m = nullptr;
  REQUIRE(natsSubscription_NextMsg(&m, silent.get(), 1000) == NATS_OK);
  Msg req(m);
  CHECK(natsMsg_GetReply(req.get()) != nullptr);
}

TEST_CASE("libnats: an empty reply is returned as an empty message, not as no-responders",
          "[compat][libnats][request]") {
  ServerProcess server;
  start(server);
  EchoResponder responder;
  responder.empty_reply = true;
  Conn rc = connect(server);
  Conn nc = connect(server);
  Sub service = serve(rc.get(), "svc.empty", responder);
  Msg reply = request(nc.get(), "svc.empty", "give me nothing");
  CHECK(natsMsg_GetDataLength(reply.get()) == 0);
  CHECK_FALSE(natsMsg_IsNoResponders(reply.get()));
}

TEST_CASE("libnats: requests to a queue group of 3 responders are each handled exactly once",
          "[compat][libnats][request]") {
  ServerProcess server;
  start(server);
  constexpr int kRequests = 60;
  EchoResponder r1, r2, r3;
  Conn c1 = connect(server);
  Conn c2 = connect(server);
  Conn c3 = connect(server);
  Conn nc = connect(server);
  Sub s1 = serve(c1.get(), "svc.pool", r1, "pool");
  Sub s2 = serve(c2.get(), "svc.pool", r2, "pool");
  Sub s3 = serve(c3.get(), "svc.pool", r3, "pool");

  for (int i = 0; i < kRequests; ++i) {
    std::string body = std::to_string(i);
    natsMsg* r = nullptr;
    REQUIRE(natsConnection_Request(&r, nc.get(), "svc.pool", body.data(), static_cast<int>(body.size()), 2000) ==
            NATS_OK);
    Msg reply(r);
    CHECK(data_of(reply.get()) == "re:" + body);
  }
  for (natsConnection* c : {c1.get(), c2.get(), c3.get()}) flush(c);
  INFO("handled: " << r1.handled << ", " << r2.handled << ", " << r3.handled);
  CHECK(r1.handled + r2.handled + r3.handled == kRequests);
  CHECK(r1.handled > 0);
  CHECK(r2.handled > 0);
  CHECK(r3.handled > 0);
}

TEST_CASE("libnats: a responder on the requester's own connection answers the request", "[compat][libnats][request]") {
  ServerProcess server;
  start(server);
  EchoResponder responder;
  Conn nc = connect(server);
  Sub service = serve(nc.get(), "svc.self", responder);
  Msg reply = request(nc.get(), "svc.self", "me");
  CHECK(data_of(reply.get()) == "re:me");
}
