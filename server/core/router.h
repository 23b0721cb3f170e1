#pragma once
// PUB -> matching subscriptions -> delivery (protocol spec section 5, delivery rules).
// Every plain subscription gets a copy; each queue group gets one copy, to one member
// picked at random (falling over to the next member if that one cannot take it).

#include <cstdint>

#include "server/core/client.h"
#include "server/core/sublist.h"

namespace tern::server {

class Router {
 public:
  Sublist& sublist() { return sublist_; }

  // Returns how many subscriptions received the message (echo-suppressed ones don't count).
  size_t route(const Message& m) { return route_to(m.subject, m); }
  // Delivers `m` to the subscriptions matching `match_subject` instead of m.subject: a JetStream
  // pull delivery goes to the request's reply subject but its MSG line names the message's own
  // subject (jetstream-api spec section 9.5).
  size_t route_to(std::string_view match_subject, const Message& m);
  // Does any subscription match `subject`? (A pull request whose requester went away.)
  bool has_interest(std::string_view subject) { return !sublist_.match(subject)->empty(); }

 private:
  bool deliver_one(Subscription* sub, const Message& m);
  uint64_t next_random();

  Sublist sublist_;
  uint64_t rng_ = 0x9E3779B97F4A7C15ull;
};

}  // namespace tern::server
