#include "server/core/router.h"

namespace tern::server {

uint64_t Router::next_random() {
  // xorshift64*: queue member choice needs spread, not cryptographic strength.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return rng_ * 2685821657736338717ull;
}

bool Router::deliver_one(Subscription* sub, const Message& m) {
  if (sub->closed) return false;
  Client* c = sub->client;
  if (c == m.from && !c->echo()) return false;
  if (!c->deliver(*sub, m)) return false;
  ++sub->delivered;
  if (sub->max_msgs && sub->delivered >= sub->max_msgs) c->auto_unsubscribe(*sub);
  return true;
}

size_t Router::route_to(std::string_view match_subject, const Message& m) {
  // Hold the result: a delivery may unsubscribe or close a client, which changes the index.
  std::shared_ptr<const SublistResult> r = sublist_.match(match_subject);
  size_t delivered = 0;
  for (Subscription* sub : r->plain) delivered += deliver_one(sub, m);
  for (const SublistResult::Group& g : r->queues) {
    size_t n = g.members.size();
    size_t start = static_cast<size_t>(next_random() % n);
    for (size_t i = 0; i < n; ++i) {
      if (deliver_one(g.members[(start + i) % n], m)) {
        ++delivered;
        break;
      }
    }
  }
  return delivered;
}

}  // namespace tern::server
