#include "client/nuid.h"

namespace tern::detail {
namespace {

constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr uint64_t kBase = 62;
constexpr size_t kPrefixLen = 12;
constexpr size_t kSeqLen = 10;
constexpr uint64_t kMaxSeq = 839299365868340224ULL;  // 62^10: the sequence's range
constexpr uint64_t kMinInc = 33, kMaxInc = 333;      // nats.go's step range

}  // namespace

Nuid::Nuid() : rng_(std::random_device{}()) {
  randomize_prefix();
  reset_sequence();
}

void Nuid::randomize_prefix() {
  prefix_.resize(kPrefixLen);
  for (auto& c : prefix_) c = kDigits[rng_() % kBase];
}

void Nuid::reset_sequence() {
  seq_ = rng_() % kMaxSeq;
  inc_ = kMinInc + rng_() % (kMaxInc - kMinInc);
}

std::string Nuid::next() {
  seq_ += inc_;
  if (seq_ >= kMaxSeq) {
    randomize_prefix();
    reset_sequence();
  }
  std::string out = prefix_;
  out.resize(kPrefixLen + kSeqLen);
  uint64_t s = seq_;
  for (size_t i = kPrefixLen + kSeqLen; i > kPrefixLen; --i) {
    out[i - 1] = kDigits[s % kBase];
    s /= kBase;
  }
  return out;
}

}  // namespace tern::detail
