#pragma once
// NUIDs as nats.go makes them: 22 base-62 characters, a random 12-character prefix and a
// 10-character sequence that grows by a random step, so ids are unique without a lock
// shared between processes. Not thread-safe: each owner guards its own Nuid.

#include <cstdint>
#include <random>
#include <string>

namespace tern::detail {

class Nuid {
 public:
  Nuid();
  std::string next();

 private:
  void randomize_prefix();
  void reset_sequence();
  std::mt19937_64 rng_;
  std::string prefix_;
  uint64_t seq_ = 0;
  uint64_t inc_ = 0;
};

}  // namespace tern::detail
