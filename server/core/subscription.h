#pragma once

#include <cstdint>
#include <string>

namespace tern::server {

class Client;

// One SUB of one client. Owned by its Client; the Sublist only points at it.
struct Subscription {
  Client* client = nullptr;
  std::string subject;
  std::string queue;  // empty: a plain subscription
  std::string sid;
  uint64_t max_msgs = 0;   // auto-unsubscribe after this many deliveries; 0 = never
  uint64_t delivered = 0;
  bool closed = false;     // removed from the Sublist; deliveries in flight skip it
};

}  // namespace tern::server
