// Unit tests for server/stream/ack_tracker: ack floors and pending counts (semantics R-8) under
// random ack orders checked against a brute-force model, ack-all, ack none, snapshots, and the
// redelivery schedule with backoff including lazy deletion.

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "server/stream/ack_tracker.h"

using tern::server::ack_deadline_ns;
using tern::server::AckTracker;
using tern::server::RedeliverySchedule;

TEST_CASE("ack tracker: in-order acks move the floor one by one", "[consumer]") {
  AckTracker t;
  for (uint64_t s = 1; s <= 5; ++s) CHECK(t.deliver_new(s, 100) == s);
  CHECK(t.num_ack_pending() == 5);
  CHECK(t.floor().stream_seq == 0);
  REQUIRE(t.ack(1));
  CHECK(t.floor().stream_seq == 1);
  CHECK(t.floor().consumer_seq == 1);
  REQUIRE(t.ack(2));
  CHECK(t.floor().stream_seq == 2);
  REQUIRE(t.ack(4));
  CHECK(t.floor().stream_seq == 2);  // 3 still pending
  REQUIRE(t.ack(3));
  CHECK(t.floor().stream_seq == 4);
  CHECK(t.floor().consumer_seq == 4);
  CHECK_FALSE(t.ack(3));  // already acked: no change
  REQUIRE(t.ack(5));
  CHECK(t.num_ack_pending() == 0);
  CHECK(t.floor() == t.delivered());
}

TEST_CASE("ack tracker: floor under random ack orders matches a brute-force model", "[consumer]") {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; ++round) {
    AckTracker t;
    // Deliver a sparse set of stream seqs (a filtered consumer skips some).
    std::vector<uint64_t> seqs;
    std::map<uint64_t, uint64_t> dseq_of;
    uint64_t s = 0;
    int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      s += 1 + rng() % 3;
      seqs.push_back(s);
      dseq_of[s] = t.deliver_new(s, 1);
    }
    // Some redeliveries: consumer seqs get gaps, first-delivery seqs stay.
    for (int i = 0; i < n / 4; ++i) {
      uint64_t r = seqs[rng() % seqs.size()];
      uint64_t count = 0;
      t.redeliver(r, 2, &count);
      CHECK(count >= 2);
    }
    std::set<uint64_t> pending(seqs.begin(), seqs.end());
    std::vector<uint64_t> order = seqs;
    std::shuffle(order.begin(), order.end(), rng);
    uint64_t last_floor = t.floor().stream_seq;
    for (uint64_t a : order) {
      REQUIRE(t.ack(a));
      pending.erase(a);
      CHECK(t.num_ack_pending() == pending.size());
      uint64_t f = t.floor().stream_seq;
      CHECK(f >= last_floor);  // never goes back
      last_floor = f;
      if (pending.empty()) {
        CHECK(t.floor() == t.delivered());
      } else {
        // Everything at or below the floor is acknowledged...
        CHECK(f < *pending.begin());
        // ...and, as in nats, the floor sits right below the lowest pending message when the
        // oldest delivery was the one acked.
        if (f > 0) CHECK(!pending.count(f));
      }
    }
    CHECK(t.num_redelivered() == 0);  // acks clear redelivery counts
  }
}

TEST_CASE("ack tracker: floor reaches lowest pending minus one once the oldest is acked", "[consumer]") {
  AckTracker t;
  t.deliver_new(2, 1);  // d1
  t.deliver_new(5, 1);  // d2
  t.deliver_new(9, 1);  // d3
  REQUIRE(t.ack(2));
  CHECK(t.floor().stream_seq == 4);  // next pending is 5
  CHECK(t.floor().consumer_seq == 1);
  REQUIRE(t.ack(9));
  CHECK(t.floor().stream_seq == 4);
  REQUIRE(t.ack(5));
  CHECK(t.floor().stream_seq == 9);
  CHECK(t.floor().consumer_seq == 3);
}

TEST_CASE("ack tracker: ack all covers everything up to the sequence", "[consumer]") {
  AckTracker t;
  for (uint64_t s = 1; s <= 10; ++s) t.deliver_new(s, 1);
  std::vector<uint64_t> acked;
  t.ack_upto(6, 6, [&](uint64_t s) { acked.push_back(s); });
  CHECK(acked == std::vector<uint64_t>{1, 2, 3, 4, 5, 6});
  CHECK(t.num_ack_pending() == 4);
  CHECK(t.floor().stream_seq == 6);
  acked.clear();
  t.ack_upto(4, 4, [&](uint64_t s) { acked.push_back(s); });  // below the floor: ignored
  CHECK(acked.empty());
  t.ack_upto(10, 10, [&](uint64_t s) { acked.push_back(s); });
  CHECK(acked.size() == 4);
  CHECK(t.num_ack_pending() == 0);
  CHECK(t.floor() == t.delivered());
}

TEST_CASE("ack tracker: ack none tracks nothing and the floor follows deliveries", "[consumer]") {
  AckTracker t(false);
  t.start_at(3);
  t.deliver_new(3, 1);
  t.deliver_new(4, 1);
  CHECK(t.num_ack_pending() == 0);
  CHECK(t.floor().stream_seq == 4);
  CHECK(t.floor().consumer_seq == 2);
  CHECK_FALSE(t.ack(4));
}

TEST_CASE("ack tracker: redelivery counts and drop after max deliveries", "[consumer]") {
  AckTracker t;
  t.deliver_new(1, 1);
  t.deliver_new(2, 1);
  uint64_t count = 0;
  CHECK(t.redeliver(1, 5, &count) == 3);
  CHECK(count == 2);
  CHECK(t.delivery_count(1) == 2);
  CHECK(t.num_redelivered() == 1);
  CHECK(t.find(1)->first_dseq == 1);  // floors use the first delivery
  CHECK(t.find(1)->ts_ns == 5);
  REQUIRE(t.drop(1));
  CHECK(t.num_ack_pending() == 1);
  CHECK(t.num_redelivered() == 1);   // 2.9 keeps the count after a max-deliver drop
  CHECK(t.floor().stream_seq == 0);  // and the floor does not move
  REQUIRE(t.ack(2));
  CHECK(t.floor() == t.delivered());
}

TEST_CASE("ack tracker: snapshot and restore round trip", "[consumer]") {
  AckTracker t;
  for (uint64_t s = 1; s <= 6; ++s) t.deliver_new(s, static_cast<int64_t>(s) * 10);
  uint64_t count;
  t.redeliver(3, 99, &count);
  t.ack(1);
  t.ack(5);
  AckTracker u;
  u.restore(t.snapshot());
  CHECK(u.delivered() == t.delivered());
  CHECK(u.floor() == t.floor());
  CHECK(u.num_ack_pending() == t.num_ack_pending());
  CHECK(u.delivery_count(3) == 2);
  CHECK(u.find(3)->ts_ns == 99);
  CHECK(u.snapshot() == t.snapshot());
}

TEST_CASE("ack tracker: purge clears pending and lifts the floor", "[consumer]") {
  AckTracker t;
  for (uint64_t s = 1; s <= 4; ++s) t.deliver_new(s, 1);
  t.clear_pending(10);
  CHECK(t.num_ack_pending() == 0);
  CHECK(t.delivered().stream_seq == 10);
  CHECK(t.floor() == t.delivered());
}

TEST_CASE("redelivery deadline: ack_wait, or the backoff step for the delivery count", "[consumer]") {
  std::vector<int64_t> none;
  CHECK(ack_deadline_ns(1000, 1, 500, none) == 1500);
  CHECK(ack_deadline_ns(1000, 7, 500, none) == 1500);
  std::vector<int64_t> backoff{100, 200, 400};
  CHECK(ack_deadline_ns(1000, 1, 100, backoff) == 1100);
  CHECK(ack_deadline_ns(1000, 2, 100, backoff) == 1200);
  CHECK(ack_deadline_ns(1000, 3, 100, backoff) == 1400);
  CHECK(ack_deadline_ns(1000, 9, 100, backoff) == 1400);  // the last step repeats
}

TEST_CASE("redelivery schedule: deadlines come out in time order with lazy deletion", "[consumer]") {
  RedeliverySchedule q;
  std::map<uint64_t, uint32_t> live_gen;  // seq -> current generation (absent: acked)
  auto live = [&](const RedeliverySchedule::Deadline& d) {
    auto it = live_gen.find(d.sseq);
    return it != live_gen.end() && it->second == d.gen;
  };
  // In-order deadlines (FIFO path) and earlier ones (heap path: backoff, NAK delay).
  for (uint64_t s = 1; s <= 5; ++s) {
    live_gen[s] = 0;
    q.push({static_cast<int64_t>(s * 100), s, 0});
  }
  live_gen[6] = 0;
  q.push({50, 6, 0});
  live_gen.erase(2);  // acked
  live_gen[3] = 1;    // rescheduled (+WPI): the old entry is stale
  q.push({1000, 3, 1});
  CHECK(q.next(live) == 50);
  std::vector<uint64_t> due;
  q.pop_due(400, live, [&](const RedeliverySchedule::Deadline& d) { due.push_back(d.sseq); });
  CHECK(due == std::vector<uint64_t>{6, 1, 4});
  CHECK(q.next(live) == 500);
  due.clear();
  q.pop_due(10'000, live, [&](const RedeliverySchedule::Deadline& d) { due.push_back(d.sseq); });
  CHECK(due == std::vector<uint64_t>{5, 3});
  CHECK_FALSE(q.next(live).has_value());
  CHECK(q.size() == 0);
}

TEST_CASE("redelivery schedule: backoff schedule over repeated redeliveries", "[consumer]") {
  // A message is redelivered at each backoff step after its previous delivery.
  std::vector<int64_t> backoff{1000, 2000, 5000};
  AckTracker t;
  RedeliverySchedule q;
  int64_t now = 0;
  t.deliver_new(1, now);
  auto live = [&](const RedeliverySchedule::Deadline& d) {
    auto* p = t.find(d.sseq);
    return p && p->gen == d.gen;
  };
  auto push = [&] {
    auto* p = t.find(1);
    q.push({ack_deadline_ns(p->ts_ns, t.delivery_count(1), backoff[0], backoff), 1, p->gen});
  };
  push();
  std::vector<int64_t> times;
  for (int i = 0; i < 4; ++i) {
    auto at = q.next(live);
    REQUIRE(at.has_value());
    now = *at;
    times.push_back(now);
    q.pop_due(now, live, [&](const RedeliverySchedule::Deadline&) {});
    uint64_t count;
    t.redeliver(1, now, &count);
    push();
  }
  CHECK(times == std::vector<int64_t>{1000, 3000, 8000, 13000});
  REQUIRE(t.ack(1));
  CHECK_FALSE(q.next(live).has_value());  // the acked message's deadline is stale
}
