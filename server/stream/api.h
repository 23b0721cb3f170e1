#pragma once
// ApiHandler: the internal client subscribed to `$JS.API.>` that answers the JetStream stream
// API (jetstream-api spec sections 4-5): INFO, STREAM.CREATE/UPDATE/INFO/DELETE/PURGE/NAMES/
// LIST and STREAM.MSG.GET/DELETE. JSON in and out, NATS field names; errors come from
// api_errors.h. A request on an API subject it does not serve is dropped silently (it still
// counts as delivered, so the requester gets no 503), as nats-server does.
//
// Threading: loop thread only. Answers are queued with JetStream::send, never routed from
// inside the delivery that carried the request.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proto/status.h"
#include "server/core/client.h"

namespace tern::server {

class JetStream;

class ApiHandler final : public Client {
 public:
  explicit ApiHandler(JetStream& js) : js_(js) {}
  ~ApiHandler() override;

  Status subscribe();
  bool deliver(Subscription& sub, const Message& m) override;
  void auto_unsubscribe(Subscription&) override {}

  // Handles one request; `payload` is the body after any headers. Public for tests.
  void handle(std::string_view subject, std::string_view reply, std::string_view payload);

 private:
  // $JS.API.CONSUMER.* (create forms, info, delete, names, list) and MSG.NEXT.
  void handle_consumer(const std::vector<std::string_view>& t, std::string_view reply, std::string_view payload);
  // A source stream acknowledged a redriven copy (reply subject kRedriveAckPrefix<dlq>.<seq>):
  // only now is the dead-letter copy removed, so a crash never loses it (at-least-once).
  void on_redrive_ack(std::string_view subject, std::string_view payload);
  JetStream& js_;
  std::unique_ptr<Subscription> sub_;
  std::unique_ptr<Subscription> redrive_ack_sub_;
};

// Where a redriven message's pub ack comes back: $TERN.DLQ.ACK.<dlq stream>.<dlq seq>.
inline constexpr std::string_view kRedriveAckPrefix = "$TERN.DLQ.ACK.";

}  // namespace tern::server
