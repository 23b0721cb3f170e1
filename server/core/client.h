#pragma once
// Anything that can own subscriptions and take messages: a network connection today,
// the JetStream internal clients later. The Router speaks to this interface only, so it
// stays independent of the event loop and of sockets.

#include <cstdint>
#include <string_view>

#include "server/core/subscription.h"

namespace tern::server {

class Client;

// One published message, as views into the publisher's read buffer: valid only for the
// duration of Router::route().
struct Message {
  Client* from = nullptr;
  std::string_view subject;
  std::string_view reply;
  std::string_view headers;  // the whole NATS/1.0 block, or empty
  std::string_view payload;
  bool has_headers = false;  // published with HPUB
};

class Client {
 public:
  virtual ~Client() = default;

  // Queues `m` for `sub`. Returns false when this client cannot take it now (closing),
  // so a queue group can pick another member. Must not remove `sub` from the Sublist.
  virtual bool deliver(Subscription& sub, const Message& m) = 0;
  // The subscription reached its UNSUB max: remove it.
  virtual void auto_unsubscribe(Subscription& sub) = 0;
  // CONNECT's echo: false means this client's own messages skip its subscriptions.
  virtual bool echo() const { return true; }
};

}  // namespace tern::server
