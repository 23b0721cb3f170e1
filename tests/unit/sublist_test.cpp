// Unit tests for server/core/sublist: matching (protocol spec section 5 and 3.1 rule 5),
// queue groups, removal and pruning, and the match cache, including a randomized check
// against a brute-force matcher built on proto::subject_matches.

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "proto/subject.h"
#include "server/core/sublist.h"
#include "server/core/subscription.h"

using tern::server::Sublist;
using tern::server::SublistResult;
using tern::server::Subscription;

namespace {

// Owns the Subscriptions a test hands to the Sublist.
struct Subs {
  std::vector<std::unique_ptr<Subscription>> all;
  Subscription* make(std::string subject, std::string queue = "", std::string sid = "") {
    auto s = std::make_unique<Subscription>();
    s->subject = std::move(subject);
    s->queue = std::move(queue);
    s->sid = sid.empty() ? std::to_string(all.size() + 1) : std::move(sid);
    all.push_back(std::move(s));
    return all.back().get();
  }
};

// A result in a canonical form: sorted plain members, and group name -> sorted members.
struct Canon {
  std::vector<Subscription*> plain;
  std::map<std::string, std::vector<Subscription*>> queues;
  bool operator==(const Canon&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Canon& c) {
  os << "plain[";
  for (auto* s : c.plain) os << s->subject << "#" << s->sid << " ";
  os << "] queues{";
  for (const auto& [q, m] : c.queues) {
    os << q << ":[";
    for (auto* s : m) os << s->subject << "#" << s->sid << " ";
    os << "] ";
  }
  return os << "}";
}

Canon canon(const SublistResult& r) {
  Canon c;
  c.plain = r.plain;
  std::sort(c.plain.begin(), c.plain.end());
  for (const auto& g : r.queues) {
    // One group per name (spec 5 rule 3): a name may not appear twice.
    CHECK(c.queues.count(std::string(g.name)) == 0);
    CHECK_FALSE(g.members.empty());
    auto& m = c.queues[std::string(g.name)];
    for (Subscription* s : g.members) {
      CHECK(s->queue == g.name);  // the group's name is its members' queue
      m.push_back(s);
    }
    std::sort(m.begin(), m.end());
  }
  return c;
}

Canon canon_of(Sublist& sl, std::string_view subject) {
  auto r = sl.match(subject);
  REQUIRE(r != nullptr);
  return canon(*r);
}

Canon brute_force(const std::vector<Subscription*>& present, std::string_view subject) {
  Canon c;
  for (Subscription* s : present) {
    if (!tern::proto::subject_matches(s->subject, subject)) continue;
    if (s->queue.empty()) {
      c.plain.push_back(s);
    } else {
      c.queues[s->queue].push_back(s);
    }
  }
  std::sort(c.plain.begin(), c.plain.end());
  for (auto& [q, m] : c.queues) std::sort(m.begin(), m.end());
  return c;
}

Canon plain_only(std::vector<Subscription*> v) {
  Canon c;
  c.plain = std::move(v);
  std::sort(c.plain.begin(), c.plain.end());
  return c;
}

}  // namespace

TEST_CASE("sublist: literal subscriptions", "[sublist]") {
  Sublist sl;
  Subs subs;
  Subscription* a = subs.make("foo");
  Subscription* b = subs.make("foo.bar");
  Subscription* c = subs.make("foo.bar");  // two subs on one subject both match
  Subscription* d = subs.make("foo.bar.baz");
  for (Subscription* s : {a, b, c, d}) REQUIRE(sl.insert(s).is_ok());
  CHECK(sl.count() == 4);
  CHECK(canon_of(sl, "foo") == plain_only({a}));
  CHECK(canon_of(sl, "foo.bar") == plain_only({b, c}));
  CHECK(canon_of(sl, "foo.bar.baz") == plain_only({d}));
  CHECK(canon_of(sl, "foo.baz") == Canon{});
  CHECK(canon_of(sl, "bar") == Canon{});
  CHECK(canon_of(sl, "Foo") == Canon{});
  CHECK(canon_of(sl, "foo.bar.baz.qux") == Canon{});
  CHECK(sl.match("foo.baz")->empty());
  CHECK_FALSE(sl.match("foo")->empty());
}

TEST_CASE("sublist: * and > subscriptions", "[sublist]") {
  Sublist sl;
  Subs subs;
  Subscription* star = subs.make("*");
  Subscription* foo_star = subs.make("foo.*");
  Subscription* star_bar = subs.make("*.bar");
  Subscription* foo_gt = subs.make("foo.>");
  Subscription* gt = subs.make(">");
  Subscription* foo_star_baz = subs.make("foo.*.baz");
  Subscription* star_star_gt = subs.make("*.*.>");
  for (auto& s : subs.all) REQUIRE(sl.insert(s.get()).is_ok());
  CHECK(sl.count() == 7);

  CHECK(canon_of(sl, "foo") == plain_only({star, gt}));
  CHECK(canon_of(sl, "foo.bar") == plain_only({foo_star, star_bar, foo_gt, gt}));
  CHECK(canon_of(sl, "foo.baz") == plain_only({foo_star, foo_gt, gt}));
  CHECK(canon_of(sl, "x.bar") == plain_only({star_bar, gt}));
  CHECK(canon_of(sl, "foo.bar.baz") == plain_only({foo_gt, gt, foo_star_baz, star_star_gt}));
  CHECK(canon_of(sl, "foo.x.y.z") == plain_only({foo_gt, gt, star_star_gt}));
  CHECK(canon_of(sl, "a.b.c") == plain_only({gt, star_star_gt}));
}

TEST_CASE("sublist: > needs at least one token, foo.> does not match foo", "[sublist]") {
  Sublist sl;
  Subs subs;
  Subscription* foo_gt = subs.make("foo.>");
  REQUIRE(sl.insert(foo_gt).is_ok());
  CHECK(canon_of(sl, "foo") == Canon{});
  CHECK(canon_of(sl, "foo.a") == plain_only({foo_gt}));
  CHECK(canon_of(sl, "foo.a.b.c.d.e.f") == plain_only({foo_gt}));
}

TEST_CASE("sublist: published subjects with wildcard tokens reach only wildcard subscriptions", "[sublist]") {
  // Spec 3.1 rule 5: a publish to a.* or a.> reaches a.*, a.>, *.*, *.> and >, not a.b.
  Sublist sl;
  Subs subs;
  Subscription* a_star = subs.make("a.*");
  Subscription* a_gt = subs.make("a.>");
  Subscription* star_star = subs.make("*.*");
  Subscription* star_gt = subs.make("*.>");
  Subscription* gt = subs.make(">");
  Subscription* a_b = subs.make("a.b");
  Subscription* a = subs.make("a");
  Subscription* a_star_c = subs.make("a.*.c");
  for (auto& s : subs.all) REQUIRE(sl.insert(s.get()).is_ok());
  const Canon want = plain_only({a_star, a_gt, star_star, star_gt, gt});
  CHECK(canon_of(sl, "a.*") == want);
  CHECK(canon_of(sl, "a.>") == want);
  CHECK(canon_of(sl, "a.b") == plain_only({a_star, a_gt, star_star, star_gt, gt, a_b}));
  CHECK(canon_of(sl, "*") == plain_only({gt}));
  CHECK(canon_of(sl, "a.>.c") == plain_only({a_gt, star_gt, gt, a_star_c}));
  (void)a;

  // The JetStream case: consumer-create subjects carry the filter's wildcard.
  Subscription* js = subs.make("$JS.API.>");
  REQUIRE(sl.insert(js).is_ok());
  CHECK(canon_of(sl, "$JS.API.CONSUMER.CREATE.ORDERS.worker.ORDERS.*") == plain_only({js, gt, star_gt}));
  CHECK(canon_of(sl, "$JS.API.CONSUMER.CREATE.ORDERS.worker.ORDERS.>") == plain_only({js, gt, star_gt}));
  CHECK(canon_of(sl, "$JS.API.CONSUMER.CREATE.ORDERS") == plain_only({js, gt, star_gt}));
}

TEST_CASE("sublist: published subjects with empty tokens match nothing", "[sublist]") {
  Sublist sl;
  Subs subs;
  for (const char* s : {">", "*", "a.>", "*.*", "a.*.b", "*.>"}) REQUIRE(sl.insert(subs.make(s)).is_ok());
  for (std::string_view bad : {"", ".", "a..b", ".a", "a.", "..", "a.b.", "*.", ".>"}) {
    INFO("subject: '" << std::string(bad) << "'");
    CHECK(canon_of(sl, bad) == Canon{});
    CHECK(canon_of(sl, bad) == Canon{});  // and again, from the cache
  }
}

TEST_CASE("sublist: queue groups are grouped by name across subjects", "[sublist]") {
  Sublist sl;
  Subs subs;
  Subscription* q1 = subs.make("foo.*", "q");
  Subscription* q2 = subs.make("foo.bar", "q");
  Subscription* q3 = subs.make(">", "q");
  Subscription* r1 = subs.make("foo.>", "r");
  Subscription* r2 = subs.make("foo.bar", "r");
  Subscription* p1 = subs.make("foo.bar");
  Subscription* p2 = subs.make("*.bar");
  Subscription* other = subs.make("foo.baz", "q");
  for (auto& s : subs.all) REQUIRE(sl.insert(s.get()).is_ok());

  auto r = sl.match("foo.bar");
  REQUIRE(r->queues.size() == 2);  // exactly one group per name
  Canon want;
  want.plain = {p1, p2};
  std::sort(want.plain.begin(), want.plain.end());
  want.queues["q"] = {q1, q2, q3};
  want.queues["r"] = {r1, r2};
  for (auto& [n, m] : want.queues) std::sort(m.begin(), m.end());
  CHECK(canon(*r) == want);

  Canon baz;
  baz.queues["q"] = {q1, q3, other};
  baz.queues["r"] = {r1};
  for (auto& [n, m] : baz.queues) std::sort(m.begin(), m.end());
  CHECK(canon_of(sl, "foo.baz") == baz);

  Canon x;
  x.queues["q"] = {q3};
  CHECK(canon_of(sl, "x") == x);

  // Queue names are case-sensitive and distinct from plain subscriptions.
  Subscription* big_q = subs.make("x", "Q");
  REQUIRE(sl.insert(big_q).is_ok());
  x.queues["Q"] = {big_q};
  CHECK(canon_of(sl, "x") == x);
  CHECK(sl.match("x")->plain.empty());
}

TEST_CASE("sublist: removal", "[sublist]") {
  Sublist sl;
  Subs subs;
  Subscription* a = subs.make("foo.bar");
  Subscription* b = subs.make("foo.bar");
  Subscription* w = subs.make("foo.*");
  Subscription* q = subs.make("foo.bar", "q");
  Subscription* g = subs.make(">");
  for (auto& s : subs.all) REQUIRE(sl.insert(s.get()).is_ok());
  CHECK(sl.count() == 5);

  CHECK(sl.remove(a));
  CHECK(sl.count() == 4);
  Canon want = plain_only({b, w, g});
  want.queues["q"] = {q};
  CHECK(canon_of(sl, "foo.bar") == want);

  CHECK(sl.remove(q));
  CHECK(sl.count() == 3);
  CHECK(canon_of(sl, "foo.bar") == plain_only({b, w, g}));

  CHECK(sl.remove(w));
  CHECK(sl.remove(g));
  CHECK(sl.count() == 1);
  CHECK(canon_of(sl, "foo.bar") == plain_only({b}));
  CHECK(canon_of(sl, "foo.baz") == Canon{});

  CHECK(sl.remove(b));
  CHECK(sl.count() == 0);
  CHECK(canon_of(sl, "foo.bar") == Canon{});

  // A removed subscription can be inserted again.
  REQUIRE(sl.insert(a).is_ok());
  CHECK(sl.count() == 1);
  CHECK(canon_of(sl, "foo.bar") == plain_only({a}));
}

TEST_CASE("sublist: removing something not present returns false and changes nothing", "[sublist]") {
  Sublist sl;
  Subs subs;
  Subscription* in = subs.make("foo.bar");
  Subscription* in_q = subs.make("foo.bar", "q");
  REQUIRE(sl.insert(in).is_ok());
  REQUIRE(sl.insert(in_q).is_ok());

  CHECK_FALSE(sl.remove(subs.make("foo.bar")));      // same subject, other pointer
  CHECK_FALSE(sl.remove(subs.make("foo.bar", "q")));  // same subject and queue, other pointer
  CHECK_FALSE(sl.remove(subs.make("foo")));          // a prefix of a present subject
  CHECK_FALSE(sl.remove(subs.make("foo.bar.baz")));  // longer than any present subject
  CHECK_FALSE(sl.remove(subs.make("nope")));
  CHECK_FALSE(sl.remove(subs.make("*")));
  CHECK_FALSE(sl.remove(subs.make("foo.>")));
  CHECK_FALSE(sl.remove(subs.make("")));
  CHECK_FALSE(sl.remove(subs.make("foo..bar")));
  CHECK(sl.count() == 2);
  Canon want = plain_only({in});
  want.queues["q"] = {in_q};
  CHECK(canon_of(sl, "foo.bar") == want);

  CHECK(sl.remove(in));
  CHECK_FALSE(sl.remove(in));  // twice
  CHECK(sl.count() == 1);
  Sublist empty;
  CHECK_FALSE(empty.remove(in));
  CHECK(empty.count() == 0);
}

TEST_CASE("sublist: invalid subjects are refused and nothing is inserted", "[sublist]") {
  Sublist sl;
  Subs subs;
  for (const char* bad : {"", "foo..bar", ".foo", "foo.", "foo.>.bar", ">.>", "foo bar", "a\tb"}) {
    INFO("subject: '" << bad << "'");
    CHECK_FALSE(sl.insert(subs.make(bad)).is_ok());
  }
  CHECK(sl.count() == 0);
  CHECK(canon_of(sl, "foo.bar") == Canon{});
  CHECK(canon_of(sl, "foo") == Canon{});
  CHECK(canon_of(sl, "foo.x.bar") == Canon{});
}

TEST_CASE("sublist: insert and remove many leaves an empty index", "[sublist]") {
  Sublist sl;
  Subs subs;
  std::vector<Subscription*> v;
  for (int i = 0; i < 300; ++i) {
    std::string base = "t" + std::to_string(i % 17) + ".u" + std::to_string(i % 5);
    const char* tails[] = {"", ".x", ".*", ".>", ".x.y"};
    v.push_back(subs.make(base + tails[i % 5], i % 3 ? "" : "q" + std::to_string(i % 2)));
  }
  v.push_back(subs.make(">"));
  v.push_back(subs.make("*"));
  for (Subscription* s : v) REQUIRE(sl.insert(s).is_ok());
  CHECK(sl.count() == v.size());
  CHECK_FALSE(sl.match("t1.u1.x")->empty());
  std::mt19937 rng(5);
  std::shuffle(v.begin(), v.end(), rng);
  for (Subscription* s : v) REQUIRE(sl.remove(s));
  CHECK(sl.count() == 0);
  for (std::string_view s : {"t1.u1", "t1.u1.x", "t1.u1.x.y", "t3.u3.z", "x", "a.b.c.d"}) {
    INFO(std::string(s));
    CHECK(sl.match(s)->empty());
  }
  // Everything is gone, so the same subjects can be inserted again from scratch.
  for (Subscription* s : v) CHECK_FALSE(sl.remove(s));
  REQUIRE(sl.insert(v[0]).is_ok());
  CHECK(sl.count() == 1);
}

TEST_CASE("sublist: a held result is a snapshot, later matches see the change", "[sublist]") {
  Sublist sl;
  Subs subs;
  Subscription* a = subs.make("foo");
  REQUIRE(sl.insert(a).is_ok());
  auto before = sl.match("foo");
  CHECK(canon(*before) == plain_only({a}));

  Subscription* w = subs.make("*");
  REQUIRE(sl.insert(w).is_ok());
  CHECK(canon(*before) == plain_only({a}));  // unchanged
  CHECK(canon_of(sl, "foo") == plain_only({a, w}));

  auto mid = sl.match("foo");
  REQUIRE(sl.remove(a));
  CHECK(canon(*mid) == plain_only({a, w}));
  CHECK(canon_of(sl, "foo") == plain_only({w}));
}

TEST_CASE("sublist: the cache serves repeats and is invalidated by inserts and removes", "[sublist]") {
  Sublist sl;
  Subs subs;
  Subscription* lit = subs.make("a.b");
  REQUIRE(sl.insert(lit).is_ok());
  uint64_t hits0 = sl.cache_hits(), matches0 = sl.matches();
  auto r1 = sl.match("a.b");
  auto r2 = sl.match("a.b");
  CHECK(sl.matches() == matches0 + 2);
  CHECK(sl.cache_hits() == hits0 + 1);
  CHECK(r1 == r2);  // the cached result itself
  CHECK(sl.cache_size() == 1);

  // A literal insert on another subject keeps a.b's entry; one on a.b drops it.
  REQUIRE(sl.insert(subs.make("a.c")).is_ok());
  CHECK(sl.match("a.b") == r1);
  Subscription* lit2 = subs.make("a.b", "q");
  REQUIRE(sl.insert(lit2).is_ok());
  auto r3 = sl.match("a.b");
  CHECK(r3 != r1);
  Canon want = plain_only({lit});
  want.queues["q"] = {lit2};
  CHECK(canon(*r3) == want);

  // Wildcard inserts and removes invalidate the subjects they match, and only those.
  auto other = sl.match("x.y");
  Subscription* w = subs.make("a.*");
  REQUIRE(sl.insert(w).is_ok());
  CHECK(sl.match("x.y") == other);
  want.plain = {lit, w};
  std::sort(want.plain.begin(), want.plain.end());
  CHECK(canon_of(sl, "a.b") == want);
  REQUIRE(sl.remove(w));
  want.plain = {lit};
  CHECK(canon_of(sl, "a.b") == want);
  CHECK(sl.match("x.y") == other);

  // Published wildcard subjects are cached too and invalidated correctly.
  CHECK(canon_of(sl, "a.*") == Canon{});
  Subscription* gt = subs.make("a.>");
  REQUIRE(sl.insert(gt).is_ok());
  CHECK(canon_of(sl, "a.*") == plain_only({gt}));
  REQUIRE(sl.remove(gt));
  CHECK(canon_of(sl, "a.*") == Canon{});
}

TEST_CASE("sublist: the cache stays bounded by kMaxCacheEntries", "[sublist]") {
  Sublist sl;
  Subs subs;
  Subscription* gt = subs.make("s.>");
  Subscription* lit = subs.make("s.17");
  REQUIRE(sl.insert(gt).is_ok());
  REQUIRE(sl.insert(lit).is_ok());
  const size_t n = Sublist::kMaxCacheEntries * 3 + 11;
  for (size_t i = 0; i < n; ++i) {
    auto r = sl.match("s." + std::to_string(i));
    REQUIRE(sl.cache_size() <= Sublist::kMaxCacheEntries);
    if (i == 17) {
      CHECK(canon(*r) == plain_only({gt, lit}));
    } else if (i % 1000 == 3) {
      CHECK(canon(*r) == plain_only({gt}));
    }
  }
  CHECK(sl.cache_size() == Sublist::kMaxCacheEntries);
  CHECK(sl.matches() == n);
  // Still correct after evictions, and after changes.
  CHECK(canon_of(sl, "s.17") == plain_only({gt, lit}));
  CHECK(canon_of(sl, "s.5") == plain_only({gt}));
  REQUIRE(sl.remove(gt));
  CHECK(canon_of(sl, "s.17") == plain_only({lit}));
  CHECK(canon_of(sl, "s.5") == Canon{});
  CHECK(sl.cache_size() <= Sublist::kMaxCacheEntries);
}

TEST_CASE("sublist: random insert/remove/match agrees with a brute-force matcher", "[sublist]") {
  // Small token alphabet so subjects collide, wildcards overlap and the cache is hit often.
  const std::vector<std::string> sub_tokens{"a", "b", "c", "*", ">"};
  const std::vector<std::string> pub_tokens{"a", "b", "c", "d", "*", ">"};
  const std::vector<std::string> queues{"", "q1", "q2"};

  for (uint32_t seed : {1u, 2u, 3u, 2024u}) {
    std::mt19937 rng(seed);
    auto pick = [&](const auto& v) { return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)]; };
    auto subject = [&](const std::vector<std::string>& alpha, int max_depth) {
      int depth = std::uniform_int_distribution<int>(1, max_depth)(rng);
      std::string s;
      for (int i = 0; i < depth; ++i) {
        if (i) s += '.';
        s += pick(alpha);
      }
      return s;
    };

    Sublist sl;
    Subs subs;
    std::vector<Subscription*> present, absent;
    size_t matches_checked = 0, invalid_refused = 0;
    for (int step = 0; step < 6000; ++step) {
      int what = std::uniform_int_distribution<int>(0, 9)(rng);
      if (what < 3) {
        // Insert a new subscription or re-insert a removed one.
        Subscription* s;
        if (!absent.empty() && rng() % 3 == 0) {
          size_t k = std::uniform_int_distribution<size_t>(0, absent.size() - 1)(rng);
          s = absent[k];
          absent.erase(absent.begin() + static_cast<long>(k));
        } else {
          s = subs.make(subject(sub_tokens, 4), pick(queues));
        }
        bool valid = tern::proto::is_valid_subscribe_subject(s->subject);
        INFO("step " << step << " insert '" << s->subject << "' q='" << s->queue << "'");
        REQUIRE(sl.insert(s).is_ok() == valid);
        if (valid) {
          present.push_back(s);
        } else {
          ++invalid_refused;
        }
      } else if (what < 5) {
        if (present.empty()) continue;
        size_t k = std::uniform_int_distribution<size_t>(0, present.size() - 1)(rng);
        Subscription* s = present[k];
        INFO("step " << step << " remove '" << s->subject << "' q='" << s->queue << "'");
        REQUIRE(sl.remove(s));
        present.erase(present.begin() + static_cast<long>(k));
        absent.push_back(s);
        REQUIRE_FALSE(sl.remove(s));
      } else {
        // Match a literal subject, or one with wildcard tokens, or (rarely) an empty token.
        std::string subj;
        int kind = std::uniform_int_distribution<int>(0, 19)(rng);
        if (kind == 0) {
          subj = subject(pub_tokens, 3) + "..a";
        } else if (kind == 1) {
          subj = "." + subject(pub_tokens, 2);
        } else if (kind < 8) {
          subj = subject(pub_tokens, 5);
        } else {
          subj = subject({"a", "b", "c", "d"}, 5);
        }
        INFO("step " << step << " match '" << subj << "'");
        Canon got = canon_of(sl, subj);
        REQUIRE(got == brute_force(present, subj));
        ++matches_checked;
      }
      REQUIRE(sl.count() == present.size());
    }
    INFO("seed " << seed);
    CHECK(matches_checked > 2500);
    CHECK(invalid_refused > 0);
    CHECK(sl.cache_hits() > 100);  // the cache was exercised, not bypassed

    // Drain: everything removes, and nothing matches afterwards.
    for (Subscription* s : present) REQUIRE(sl.remove(s));
    CHECK(sl.count() == 0);
    for (std::string_view s : {"a", "a.b", "a.b.c.d", "*", ">", "a.*.>"}) CHECK(sl.match(s)->empty());
  }
}
