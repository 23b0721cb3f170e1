// The lock-free latency histogram the Syncer records into and the monitor reads.
#include <catch2/catch.hpp>
#include <thread>

#include "server/config/options.h"
#include "server/monitor/histogram.h"

using namespace tern::server;

TEST_CASE("histogram: two threads record, the totals add up", "[monitor][histogram]") {
  Histogram h(Histogram::sync_seconds_bounds());
  constexpr int kEach = 100000;
  auto writer = [&](double v) {
    for (int i = 0; i < kEach; ++i) h.record(v);
  };
  uint64_t last_count = 0;
  std::thread a(writer, 0.0002), b(writer, 0.3);
  // A reader meanwhile: counts never go down and the buckets stay cumulative.
  for (int i = 0; i < 1000; ++i) {
    Histogram::Snapshot s = h.snapshot();
    CHECK(s.count >= last_count);
    last_count = s.count;
    for (size_t k = 1; k < s.cumulative.size(); ++k) REQUIRE(s.cumulative[k] >= s.cumulative[k - 1]);
  }
  a.join();
  b.join();
  Histogram::Snapshot s = h.snapshot();
  CHECK(s.count == 2 * kEach);
  CHECK(s.cumulative.size() == s.bounds.size() + 1);
  CHECK(s.cumulative.back() == s.count);
  // 0.0002 falls in le=0.00025; 0.3 in le=0.5.
  CHECK(s.cumulative[0] == 0);  // le=0.0001
  CHECK(s.cumulative[1] == kEach);
  CHECK(s.cumulative[10] == kEach);      // le=0.25
  CHECK(s.cumulative[11] == 2 * kEach);  // le=0.5
  CHECK(s.sum == Approx(kEach * 0.0002 + kEach * 0.3).epsilon(1e-6));
}

TEST_CASE("monitor config: http takes a port or host:port", "[monitor][options]") {
  std::vector<std::string> warnings;
  Options o;
  REQUIRE(apply_config_text("http: 8222\n", "t.conf", o, warnings).is_ok());
  CHECK(o.http_port == 8222);
  CHECK(o.http_host.empty());
  REQUIRE(apply_config_text("http: \"127.0.0.2:8333\"\n", "t.conf", o, warnings).is_ok());
  CHECK(o.http_port == 8333);
  CHECK(o.http_host == "127.0.0.2");
  CHECK(warnings.empty());  // "http" is no longer an unsupported key
  CHECK_FALSE(apply_config_text("http: \"nohost:port\"\n", "t.conf", o, warnings).is_ok());
}
