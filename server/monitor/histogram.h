#pragma once
// A latency histogram with fixed buckets that one thread records into and another reads, with
// no lock: every bucket, the count and the sum are relaxed atomics. The monitor exports it as a
// Prometheus histogram (prometheus.h), so buckets are reported cumulatively and never go down.
//
// A snapshot taken while record() runs may see a bucket incremented before the sum; each value
// is still monotonic, which is all Prometheus asks of a counter.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace tern::server {

class Histogram {
 public:
  struct Snapshot {
    std::vector<double> bounds;       // upper bounds (le), ascending; +Inf is implied
    std::vector<uint64_t> cumulative;  // cumulative[i]: values <= bounds[i]; one more entry for +Inf
    uint64_t count = 0;               // == cumulative.back()
    double sum = 0;
  };

  // `bounds`: ascending upper bounds, in the unit recorded (seconds for the Syncer).
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
    for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
  }
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Any thread. `v` in the bounds' unit; the sum is kept in billionths of it (ns for seconds).
  void record(double v) {
    size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_nano_.fetch_add(static_cast<uint64_t>(std::max(v, 0.0) * 1e9), std::memory_order_relaxed);
  }

  // Any thread.
  Snapshot snapshot() const {
    Snapshot s;
    s.bounds = bounds_;
    s.cumulative.resize(bounds_.size() + 1);
    uint64_t running = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      running += buckets_[i].load(std::memory_order_relaxed);
      s.cumulative[i] = running;
    }
    s.count = running;
    s.sum = static_cast<double>(sum_nano_.load(std::memory_order_relaxed)) / 1e9;
    return s;
  }

  // The Syncer's fsync buckets: 100 µs (a fast NVMe fdatasync) to 1 s (a disk in trouble).
  static std::vector<double> sync_seconds_bounds() {
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};
  }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (the last: above every bound)
  std::atomic<uint64_t> sum_nano_{0};
};

}  // namespace tern::server
