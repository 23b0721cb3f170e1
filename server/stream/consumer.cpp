#include "server/stream/consumer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "proto/subject.h"
#include "server/stream/jetstream.h"
#include "server/stream/stream.h"

namespace tern::server {
namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;
using namespace std::string_view_literals;

constexpr std::string_view kPendingMsgsHdr = "Nats-Pending-Messages";
constexpr std::string_view kPendingBytesHdr = "Nats-Pending-Bytes";

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A unique id for advisories (nats uses a NUID: 22 base62 characters).
std::string event_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  static const char* kChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string id(22, '0');
  for (char& c : id) c = kChars[rng() % 62];
  return id;
}

int64_t now_ms_() { return now_ns() / 1'000'000; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Construction, persistence

Consumer::Consumer(Stream& stream, JetStream& js, const ConsumerConfig& cfg, std::string name, int64_t created_ns,
                   const ConsumerState* restored)
    : stream_(stream),
      js_(js),
      cfg_(cfg),
      name_(std::move(name)),
      created_ns_(created_ns),
      track_acks_(cfg.ack_policy != AckPolicy::kNone),
      acks_(cfg.ack_policy != AckPolicy::kNone) {
  if (!cfg_.filter_subject.empty() && cfg_.filter_subject != ">") {
    store_filter_ = cfg_.filter_subject;
    filter_wildcard_ = !proto::is_literal_subject(store_filter_);
  }
  // Consumers of file streams persist, ephemerals too (R-12.6: recovered, then deleted after their
  // inactive_threshold); mem_storage consumers live in memory only.
  if (stream_.file_store() && !cfg_.mem_storage) dir_ = stream_.dir() + "/obs/" + name_;
  ack_prefix_ = "$JS.ACK." + stream_.config().name + "." + name_ + ".";
  timer_ = new uv_timer_t;
  uv_timer_init(js_.loop(), timer_);
  timer_->data = this;
  last_active_ns_ = now_ns();
  if (restored) {
    acks_.restore(*restored);
    next_seq_ = restored->delivered.stream_seq + 1;
    StoreState st = stream_.store().state();
    if (next_seq_ < st.first_seq) next_seq_ = st.first_seq;
    for (const auto& [seq, p] : acks_.pending()) schedule(seq);
    npc_ = num_pending_exact();
  } else {
    select_start();
  }
  arm_timer();
}

Consumer::~Consumer() {
  js_.cancel_run(this);
  if (ack_sub_) {
    js_.router().sublist().remove(ack_sub_.get());
    ack_sub_->closed = true;
  }
  if (timer_) {
    timer_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    timer_ = nullptr;
  }
}

Status Consumer::subscribe() {
  ack_sub_ = std::make_unique<Subscription>();
  ack_sub_->client = this;
  ack_sub_->subject = ack_prefix_ + "*.*.*.*.*";
  ack_sub_->sid = "ack";
  if (!js_.router().sublist().insert(ack_sub_.get())) return Status::error("cannot subscribe to " + ack_sub_->subject);
  return Status::ok();
}

void Consumer::stop(bool remove_files) {
  if (stopped_) return;
  stopped_ = true;
  for (const Waiting& w : waiting_) send_status(w.reply, "409 Consumer Deleted", nullptr);
  waiting_.clear();
  js_.cancel_run(this);
  if (timer_) uv_timer_stop(timer_);
  if (remove_files && persistent()) {
    js_.state_writer().forget(dir_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void Consumer::shutdown() {
  save_state(true);
  stopped_ = true;
  waiting_.clear();
  js_.cancel_run(this);
  if (timer_) {
    timer_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    timer_ = nullptr;
  }
}

Status Consumer::persist_config() const {
  if (!persistent()) return Status::ok();
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::error("cannot create " + dir_ + ": " + ec.message());
  ojson meta;
  meta["name"] = name_;
  meta["created"] = created_ns_;
  meta["config"] = consumer_config_json(cfg_);
  return write_file_durably(dir_ + "/config.json", meta.dump(-1, ' ', false, ojson::error_handler_t::replace));
}

void Consumer::update(const ConsumerConfig& cfg) {
  bool wait_changed = cfg.ack_wait_ns != cfg_.ack_wait_ns || cfg.backoff_ns != cfg_.backoff_ns;
  bool filter_changed = cfg.filter_subject != cfg_.filter_subject;
  cfg_ = cfg;
  if (filter_changed) {
    store_filter_.clear();
    filter_wildcard_ = false;
    if (!cfg_.filter_subject.empty() && cfg_.filter_subject != ">") {
      store_filter_ = cfg_.filter_subject;
      filter_wildcard_ = !proto::is_literal_subject(store_filter_);
    }
    npc_ = num_pending_exact();
  }
  if (wait_changed) {
    // pending deadlines follow the new ack_wait.
    sched_.clear();
    for (auto& [seq, p] : acks_.pending()) {
      (void)p;
      if (!rdq_.count(seq)) schedule(seq);
    }
    arm_timer();
  }
  (void)persist_config();
  want_run();
}

void Consumer::select_start() {
  Store& store = stream_.store();
  StoreState st = store.state();
  uint64_t first = st.first_seq == 0 ? 1 : st.first_seq;
  uint64_t start = first;
  switch (cfg_.deliver_policy) {
    case DeliverPolicy::kAll:
      break;
    case DeliverPolicy::kLast: {
      auto m = store.load_last(store_filter_);
      start = m ? m->seq : st.last_seq + 1;
      break;
    }
    case DeliverPolicy::kNew:
      start = st.last_seq + 1;
      break;
    case DeliverPolicy::kByStartSequence:
      start = std::clamp<uint64_t>(cfg_.opt_start_seq, first, st.last_seq + 1);
      break;
    case DeliverPolicy::kByStartTime: {
      // Timestamps grow with sequences: binary search over [first, last].
      uint64_t lo = first, hi = st.last_seq + 1;
      while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        auto m = store.load_next({}, mid);
        if (!m) {
          hi = mid;
          continue;
        }
        if (m->ts >= cfg_.opt_start_time_ns)
          hi = mid;
        else
          lo = m->seq + 1;
      }
      start = lo;
      break;
    }
    case DeliverPolicy::kLastPerSubject: {
      for (const auto& [subject, n] : store.subjects_state(store_filter_)) {
        (void)n;
        if (auto m = store.load_last(subject)) lss_.push_back(m->seq);
      }
      std::sort(lss_.begin(), lss_.end());
      start = st.last_seq + 1;
      break;
    }
  }
  next_seq_ = start;
  acks_.start_at(lss_.empty() ? start : lss_.front());
  npc_ = num_pending_exact();
}

uint64_t Consumer::num_pending_exact() { return stream_.store().num_pending(store_filter_, next_seq_) + lss_.size(); }

bool Consumer::filter_matches(std::string_view subject) const {
  if (store_filter_.empty()) return true;
  if (!filter_wildcard_) return subject == store_filter_;
  return proto::subject_matches(store_filter_, subject);
}

bool Consumer::needs(uint64_t seq, std::string_view subject) const {
  if (!filter_matches(subject)) return false;
  if (seq <= acks_.floor().stream_seq) return false;
  if (seq >= next_seq_) return true;
  if (acks_.find(seq)) return true;
  for (const DeadLetterInFlight& d : dlq_in_flight_)
    if (d.sseq == seq) return false;
  return std::find(lss_.begin(), lss_.end(), seq) != lss_.end();
}

ojson Consumer::info() {
  int64_t now = now_ns();
  if (!stopped_) expire_waiting(now, false);
  npc_ = num_pending_exact();
  ojson j;
  j["stream_name"] = stream_.config().name;
  j["name"] = name_;
  j["created"] = format_time_ns(created_ns_);
  j["config"] = consumer_config_json(cfg_);
  ojson d;
  d["consumer_seq"] = acks_.delivered().consumer_seq;
  d["stream_seq"] = acks_.delivered().stream_seq;
  if (last_delivery_ns_) d["last_active"] = format_time_ns(last_delivery_ns_);
  j["delivered"] = std::move(d);
  ojson f;
  f["consumer_seq"] = acks_.floor().consumer_seq;
  f["stream_seq"] = acks_.floor().stream_seq;
  if (last_ack_ns_) f["last_active"] = format_time_ns(last_ack_ns_);
  j["ack_floor"] = std::move(f);
  j["num_ack_pending"] = acks_.num_ack_pending();
  j["num_redelivered"] = acks_.num_redelivered();
  j["num_waiting"] = waiting_.size();
  j["num_pending"] = npc_;
  return j;
}

// ---------------------------------------------------------------------------------------------
// State snapshots

void Consumer::mark_dirty() {
  if (dirty_ || !persistent()) return;
  dirty_ = true;
  js_.want_tick();
}

void Consumer::resolve_dead_letters() {
  std::erase_if(dlq_in_flight_, [&](const DeadLetterInFlight& d) {
    Stream* s = js_.find(d.stream);
    if (!s || !s->file_store()) return true;
    return s->file_store()->durable_seq() >= d.dlq_seq;
  });
}

void Consumer::save_state(bool force) {
  if (!persistent() || (!dirty_ && !force)) return;
  int64_t now = now_ms_();
  // The snapshot copies every pending entry on the loop, so space snapshots out as pending
  // grows (50 ms + 1 ms per 2000 pending: 100 ms at 100k): the copy stays a small, bounded
  // share of the loop's time, at the price of redelivering a little more after a crash.
  int64_t interval = kStateIntervalMs + static_cast<int64_t>(acks_.num_ack_pending() / 2000);
  if (!force && now - last_save_ms_ < interval) return;
  resolve_dead_letters();
  ConsumerState s = acks_.snapshot();
  // A message handed to the dead-letter stream counts as pending until its copy is durable.
  for (const DeadLetterInFlight& d : dlq_in_flight_) {
    s.pending.emplace(d.sseq, PendingEntry{d.dseq, now_ns()});
    if (s.ack_floor.stream_seq >= d.sseq) s.ack_floor = {d.dseq > 0 ? d.dseq - 1 : 0, d.sseq - 1};
  }
  js_.state_writer().submit(dir_, std::move(s));
  last_save_ms_ = now;
  dirty_ = !dlq_in_flight_.empty();
}

// ---------------------------------------------------------------------------------------------
// Pull requests

void Consumer::touch() { last_active_ns_ = now_ns(); }

void Consumer::want_run() {
  if (!stopped_ && !waiting_.empty()) js_.want_run(this);
}

void Consumer::send_status(const std::string& reply, std::string_view line, const Waiting* w) {
  std::string hdr = "NATS/1.0 ";
  hdr.append(line);
  hdr.append("\r\n");
  if (w) {
    hdr.append(kPendingMsgsHdr);
    hdr.append(": ");
    append_uint(hdr, static_cast<uint64_t>(std::max<int64_t>(w->batch, 0)));
    hdr.append("\r\n");
    hdr.append(kPendingBytesHdr);
    hdr.append(": ");
    append_uint(hdr, static_cast<uint64_t>(std::max<int64_t>(w->max_bytes, 0)));
    hdr.append("\r\n");
  }
  hdr.append("\r\n");
  js_.send_headers(reply, std::move(hdr));
}

void Consumer::request_next(std::string_view reply_view, std::string_view payload) {
  // A reply inside $JS. would route a delivery into the API or another consumer from inside run().
  if (reply_view.empty() || stopped_ || reply_view.starts_with("$JS.")) return;
  std::string reply(reply_view);
  int64_t now = now_ns();
  touch();
  Waiting w;
  w.reply = reply;
  int64_t expires = 0;
  std::string_view req = trim(payload);
  if (!req.empty() && req.front() == '{') {
    auto j = json::parse(req, nullptr, false);
    auto bad = [&](std::string_view why) { send_status(reply, "400 Bad Request - " + std::string(why), nullptr); };
    if (j.is_discarded() || !j.is_object()) return bad("invalid JSON");
    auto get_int = [&](const char* key, int64_t* out) {
      auto it = j.find(key);
      if (it == j.end() || it->is_null()) return true;
      if (!it->is_number_integer()) return false;
      *out = it->get<int64_t>();
      return true;
    };
    int64_t hb = 0;
    if (!get_int("batch", &w.batch) || !get_int("expires", &expires) || !get_int("max_bytes", &w.max_bytes) ||
        !get_int("idle_heartbeat", &hb))
      return bad("json: cannot unmarshal value into Go struct field JSApiConsumerGetNextRequest");
    if (auto it = j.find("no_wait"); it != j.end() && !it->is_null()) {
      if (!it->is_boolean())
        return bad(
            "json: cannot unmarshal value into Go struct field JSApiConsumerGetNextRequest.no_wait of type bool");
      w.no_wait = it->get<bool>();
    }
    if (hb > 0) {
      if (hb * 2 > expires) return bad("heartbeat value too large");
      w.hb_ns = hb;
      w.next_hb_ns = now + hb;
    }
    if (expires > 0) w.expires_ns = now + expires;
  } else if (!req.empty()) {
    int64_t n = 0;
    auto r = std::from_chars(req.data(), req.data() + req.size(), n);
    w.batch = (r.ec == std::errc() && r.ptr == req.data() + req.size()) ? n : 1;
  }
  if (cfg_.max_batch > 0 && w.batch > cfg_.max_batch)
    return send_status(reply, "409 Exceeded MaxRequestBatch of " + std::to_string(cfg_.max_batch), nullptr);
  if (expires > 0 && cfg_.max_expires_ns > 0 && expires > cfg_.max_expires_ns)
    return send_status(reply, "409 Exceeded MaxRequestExpires of " + go_duration_string(cfg_.max_expires_ns), nullptr);
  if (w.max_bytes > 0 && cfg_.max_bytes > 0 && w.max_bytes > cfg_.max_bytes)
    return send_status(reply, "409 Exceeded MaxRequestMaxBytes of " + std::to_string(cfg_.max_bytes), nullptr);
  if (w.batch <= 0) w.batch = 1;  // what nats' wait queue effectively does with 0 or less
  if (static_cast<int64_t>(waiting_.size()) >= cfg_.max_waiting) expire_waiting(now, false);
  if (w.no_wait) {
    if (npc_ > 0 && lss_.empty() && !stream_.store().load_next(store_filter_, next_seq_)) npc_ = 0;
    uint64_t available = npc_ + rdq_.size();
    if (available == 0 && w.expires_ns == 0) return send_status(reply, "404 No Messages", nullptr);
    if (available > 0) {
      expire_waiting(now, false);
      uint64_t asked = 0;
      for (const Waiting& o : waiting_) asked += static_cast<uint64_t>(o.batch);
      if (available < asked) return send_status(reply, "408 Requests Pending", nullptr);
    }
  }
  if (static_cast<int64_t>(waiting_.size()) >= cfg_.max_waiting)
    return send_status(reply, "409 Exceeded MaxWaiting", nullptr);
  bool timed = w.expires_ns || w.hb_ns;
  waiting_.push_back(std::move(w));
  js_.want_run(this);
  if (timed) arm_timer();
}

bool Consumer::expire_waiting(int64_t now, bool end_of_stream) {
  bool removed = false;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    Waiting& w = *it;
    if ((end_of_stream && w.no_wait && w.delivered > 0) || (w.expires_ns && now >= w.expires_ns)) {
      send_status(w.reply, "408 Request Timeout", &w);
      it = waiting_.erase(it);
      removed = true;
      continue;
    }
    if (!end_of_stream) {
      if (!js_.router().has_interest(w.reply)) {
        it = waiting_.erase(it);
        removed = true;
        continue;
      }
      if (w.hb_ns && now >= w.next_hb_ns) {
        std::string hdr = "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: ";
        append_uint(hdr, acks_.delivered().consumer_seq);
        hdr.append("\r\nNats-Last-Stream: ");
        append_uint(hdr, acks_.delivered().stream_seq);
        hdr.append("\r\n\r\n");
        js_.send_headers(w.reply, std::move(hdr));
        w.next_hb_ns = now + w.hb_ns;
      }
    }
    ++it;
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// Delivery

bool Consumer::next_msg(StoredMsg* out, uint64_t* dc, bool* redelivery, bool* stalled) {
  Store& store = stream_.store();
  *stalled = false;
  // Redeliveries first, in stream-sequence order, never blocked by max_ack_pending.
  while (!rdq_.empty()) {
    uint64_t seq = *rdq_.begin();
    if (!acks_.find(seq)) {
      rdq_.erase(rdq_.begin());
      continue;
    }
    uint64_t count = acks_.delivery_count(seq) + 1;
    if (cfg_.max_deliver > 0 && count > static_cast<uint64_t>(cfg_.max_deliver)) {
      rdq_.erase(rdq_.begin());
      max_deliveries_reached(seq, count);
      continue;
    }
    auto m = store.load(seq);
    if (!m) {
      rdq_.erase(rdq_.begin());
      acks_.drop(seq);
      continue;
    }
    *out = std::move(*m);
    *dc = count;
    *redelivery = true;
    return true;
  }
  *redelivery = false;
  *dc = 1;
  if (track_acks_ && cfg_.max_ack_pending > 0 && acks_.num_ack_pending() >= static_cast<size_t>(cfg_.max_ack_pending)) {
    *stalled = true;
    return false;
  }
  while (!lss_.empty()) {
    auto m = store.load(lss_.front());
    if (m) {
      *out = std::move(*m);
      return true;
    }
    lss_.pop_front();
    if (npc_) --npc_;
  }
  auto m = store.load_next(store_filter_, next_seq_);
  if (!m) {
    npc_ = 0;  // exact: nothing matching is left ahead
    return false;
  }
  *out = std::move(*m);
  return true;
}

void Consumer::run() {
  if (stopped_) return;
  int64_t now = now_ns();
  StoredMsg msg;
  Router& router = js_.router();
  while (!waiting_.empty()) {
    uint64_t dc = 1;
    bool redelivery = false, stalled = false;
    if (!next_msg(&msg, &dc, &redelivery, &stalled)) {
      if (!stalled) expire_waiting(now, true);  // no_wait one-shots that got something end now
      break;
    }
    uint64_t seq = msg.seq;
    uint64_t dseq = acks_.delivered().consumer_seq + 1;
    uint64_t pending_after = redelivery ? npc_ : (npc_ > 0 ? npc_ - 1 : 0);
    ack_buf_.assign(ack_prefix_);
    append_uint(ack_buf_, dc);
    ack_buf_.push_back('.');
    append_uint(ack_buf_, seq);
    ack_buf_.push_back('.');
    append_uint(ack_buf_, dseq);
    ack_buf_.push_back('.');
    append_uint(ack_buf_, static_cast<uint64_t>(msg.ts));
    ack_buf_.push_back('.');
    append_uint(ack_buf_, pending_after);
    int64_t size = static_cast<int64_t>(msg.subject.size() + ack_buf_.size() + msg.headers.size() + msg.payload.size());
    // Pick the request (nats' nextWaiting): max_bytes budget, expiry.
    Waiting* w = nullptr;
    while (!waiting_.empty()) {
      Waiting& f = waiting_.front();
      if (f.expires_ns && now >= f.expires_ns) {
        send_status(f.reply, "408 Request Timeout", &f);
        waiting_.pop_front();
        continue;
      }
      if (f.max_bytes > 0) {
        if (size <= f.max_bytes) {
          f.max_bytes -= size;
          if (f.max_bytes == 0) f.batch = 1;
        } else {
          send_status(f.reply, "409 Message Size Exceeds MaxBytes", &f);
          waiting_.pop_front();
          continue;
        }
      }
      w = &f;
      break;
    }
    if (!w) break;  // nothing committed: the message stays next-to-deliver

    // Commit the delivery.
    if (redelivery) {
      rdq_.erase(seq);
      uint64_t count = 0;
      acks_.redeliver(seq, now, &count);
    } else {
      if (!lss_.empty() && lss_.front() == seq) {
        lss_.pop_front();
      } else {
        next_seq_ = seq + 1;
      }
      acks_.deliver_new(seq, now);
      if (npc_) --npc_;
    }
    last_delivery_ns_ = now;
    last_active_ns_ = now;
    if (track_acks_) schedule(seq);
    mark_dirty();

    Message m;
    m.from = this;
    m.subject = msg.subject;
    m.reply = ack_buf_;
    m.headers = msg.headers;
    m.has_headers = !msg.headers.empty();
    m.payload = msg.payload;
    std::string headers_only;
    if (cfg_.headers_only) {
      // nats' convertToHeadersOnly: the payload goes, its size comes as Nats-Msg-Size.
      headers_only = msg.headers.size() >= 4 ? msg.headers.substr(0, msg.headers.size() - 2) : "NATS/1.0\r\n";
      headers_only += "Nats-Msg-Size: " + std::to_string(msg.payload.size()) + "\r\n\r\n";
      m.headers = headers_only;
      m.has_headers = true;
      m.payload = {};
    }
    size_t n = router.route_to(w->reply, m);
    if (n == 0) {
      // Nobody listens on the reply any more: the request goes, the message is due again.
      waiting_.pop_front();
      if (track_acks_) {
        rdq_.insert(seq);
        if (auto* p = acks_.find(seq)) ++p->gen;
      }
      continue;
    }
    if (!track_acks_) acked(seq);
    w->delivered++;
    w->batch--;
    if (w->hb_ns) w->next_hb_ns = now + w->hb_ns;
    if (w->batch <= 0) {
      waiting_.pop_front();
    } else if (waiting_.size() > 1) {
      // Round-robin: a request that wants more goes behind the others.
      Waiting moved = std::move(waiting_.front());
      waiting_.pop_front();
      waiting_.push_back(std::move(moved));
    }
  }
  arm_timer();
}

void Consumer::schedule(uint64_t sseq) {
  AckTracker::Pending* p = acks_.find(sseq);
  if (!p) return;
  int64_t at = ack_deadline_ns(p->ts_ns, acks_.delivery_count(sseq), cfg_.ack_wait_ns, cfg_.backoff_ns);
  sched_.push({at, sseq, p->gen});
  if (timer_at_ == 0 || at < timer_at_) arm_timer();
}

void Consumer::arm_timer() {
  if (!timer_ || stopped_) return;
  auto live = [this](const RedeliverySchedule::Deadline& d) {
    const AckTracker::Pending* p = acks_.find(d.sseq);
    return p && p->gen == d.gen;
  };
  int64_t next = 0;
  auto take = [&](int64_t at) {
    if (at > 0 && (next == 0 || at < next)) next = at;
  };
  if (auto at = sched_.next(live)) take(*at);
  for (const Waiting& w : waiting_) {
    take(w.expires_ns);
    take(w.next_hb_ns);
  }
  // Inactivity counts only while no request waits; a waiting request re-arms on leaving.
  if (cfg_.inactive_threshold_ns > 0 && waiting_.empty()) take(last_active_ns_ + cfg_.inactive_threshold_ns);
  if (next == 0) {
    if (timer_at_) uv_timer_stop(timer_);
    timer_at_ = 0;
    return;
  }
  if (next == timer_at_ && uv_is_active(reinterpret_cast<uv_handle_t*>(timer_))) return;
  timer_at_ = next;
  int64_t delay_ns = next - now_ns();
  uint64_t delay_ms = delay_ns <= 0 ? 0 : static_cast<uint64_t>((delay_ns + 999'999) / 1'000'000);
  uv_timer_start(timer_, on_timer, delay_ms, 0);
}

void Consumer::on_timer(uv_timer_t* t) {
  auto* c = static_cast<Consumer*>(t->data);
  if (!c) return;
  JetStream& js = c->js_;
  c->timer_at_ = 0;
  c->fire(now_ns());  // may delete c (inactive ephemeral)
  js.flush_turn();
}

void Consumer::fire(int64_t now) {
  if (stopped_) return;
  auto live = [this](const RedeliverySchedule::Deadline& d) {
    const AckTracker::Pending* p = acks_.find(d.sseq);
    return p && p->gen == d.gen;
  };
  bool due = false;
  sched_.pop_due(now, live, [&](const RedeliverySchedule::Deadline& d) {
    rdq_.insert(d.sseq);
    if (auto* p = acks_.find(d.sseq)) ++p->gen;  // on the redelivery queue: no deadline any more
    due = true;
  });
  expire_waiting(now, false);
  if (cfg_.inactive_threshold_ns > 0 && waiting_.empty() && now - last_active_ns_ >= cfg_.inactive_threshold_ns) {
    spdlog::debug("JetStream consumer '{} > {}' inactive: deleted", stream_.config().name, name_);
    stream_.delete_consumer(name_);  // destroys this
    return;
  }
  if (due || !rdq_.empty())
    run();
  else
    arm_timer();
}

// ---------------------------------------------------------------------------------------------
// Stream events

void Consumer::on_stored(uint64_t seq, std::string_view subject) {
  (void)seq;
  if (!filter_matches(subject)) return;
  ++npc_;
  if (!waiting_.empty()) js_.want_run(this);
}

void Consumer::on_removed(uint64_t seq) {
  if (acks_.find(seq)) {
    acks_.drop(seq);
    rdq_.erase(seq);
    mark_dirty();
  }
  if (seq >= next_seq_) npc_ = num_pending_exact();
}

void Consumer::on_purged(uint64_t first_seq) {
  rdq_.clear();
  sched_.clear();
  std::erase_if(lss_, [&](uint64_t s) { return s < first_seq; });
  if (next_seq_ < first_seq) next_seq_ = first_seq;
  acks_.clear_pending(first_seq > 0 ? first_seq - 1 : 0);
  npc_ = num_pending_exact();
  mark_dirty();
  arm_timer();
}

void Consumer::acked(uint64_t sseq) { stream_.message_acked(sseq); }

// ---------------------------------------------------------------------------------------------
// Acks

bool Consumer::deliver(Subscription&, const Message& m) {
  if (!stopped_) process_ack(m.subject, m.reply, m.payload);
  return true;
}

void Consumer::process_ack(std::string_view subject, std::string_view reply, std::string_view body) {
  // $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>: the subscription guarantees the
  // prefix and 9 tokens; the last five must be numbers.
  std::string_view rest = subject.substr(ack_prefix_.size());
  uint64_t nums[5];
  for (int i = 0; i < 5; ++i) {
    size_t dot = rest.find('.');
    std::string_view tok = i < 4 ? rest.substr(0, dot) : rest;
    if (!parse_u64(tok, &nums[i])) return;
    if (i < 4) {
      if (dot == std::string_view::npos) return;
      rest.remove_prefix(dot + 1);
    }
  }
  uint64_t sseq = nums[1], dseq = nums[2];
  int64_t now = now_ns();
  last_active_ns_ = now;
  bool skip_reply = false;
  auto ack_one = [&]() {
    if (cfg_.ack_policy == AckPolicy::kExplicit) {
      bool was_full = cfg_.max_ack_pending > 0 && acks_.num_ack_pending() >= static_cast<size_t>(cfg_.max_ack_pending);
      if (acks_.ack(sseq)) {
        rdq_.erase(sseq);
        last_ack_ns_ = now;
        acked(sseq);
        mark_dirty();
        if (was_full || !rdq_.empty()) want_run();
      }
    } else if (cfg_.ack_policy == AckPolicy::kAll) {
      size_t before = acks_.num_ack_pending();
      acks_.ack_upto(sseq, dseq, [&](uint64_t s) {
        rdq_.erase(s);
        acked(s);
      });
      if (acks_.num_ack_pending() != before) {
        last_ack_ns_ = now;
        mark_dirty();
        want_run();
      }
    }
    // Keep the deadline queue short when acks come in order.
    sched_.trim([this](const RedeliverySchedule::Deadline& d) {
      const AckTracker::Pending* p = acks_.find(d.sseq);
      return p && p->gen == d.gen;
    });
  };

  if (body.empty() || body == "+ACK"sv || body == "+OK"sv) {
    ack_one();
  } else if (body.starts_with("+NXT"sv)) {
    ack_one();
    skip_reply = true;
    request_next(reply, body.substr(4));
  } else if (body.starts_with("-NAK"sv)) {
    AckTracker::Pending* p = acks_.find(sseq);
    if (p && track_acks_) {
      int64_t delay = 0;
      std::string_view arg = trim(body.substr(4));
      if (!arg.empty()) {
        if (arg.front() == '{') {
          auto j = json::parse(arg, nullptr, false);
          if (!j.is_discarded() && j.is_object())
            if (auto it = j.find("delay"); it != j.end() && it->is_number_integer()) delay = it->get<int64_t>();
        } else if (auto d = parse_go_duration(arg)) {
          delay = *d;
        }
      }
      ++p->gen;
      if (delay > 0) {
        p->ts_ns = now + delay - cfg_.ack_wait_ns;  // restart-safe approximation of the deadline
        rdq_.erase(sseq);
        sched_.push({now + delay, sseq, p->gen});
        arm_timer();
      } else {
        rdq_.insert(sseq);
        want_run();
      }
      ojson a;
      a["stream"] = stream_.config().name;
      a["consumer"] = name_;
      a["consumer_seq"] = dseq;
      a["stream_seq"] = sseq;
      a["deliveries"] = acks_.delivery_count(sseq);
      advisory("MSG_NAKED", "io.nats.jetstream.advisory.v1.nak", std::move(a));
      mark_dirty();
    }
  } else if (body == "+WPI"sv) {
    AckTracker::Pending* p = acks_.find(sseq);
    if (p && track_acks_ && !rdq_.count(sseq)) {
      p->ts_ns = now;
      ++p->gen;
      schedule(sseq);
      mark_dirty();
    }
  } else if (body == "+TERM"sv || body.starts_with("+TERM "sv)) {
    if (track_acks_ && acks_.find(sseq)) terminate(sseq, dseq, trim(body.substr(5)));
  }
  if (!reply.empty() && !skip_reply) js_.send(std::string(reply), std::string());
}

void Consumer::terminate(uint64_t sseq, uint64_t dseq, std::string_view reason) {
  uint64_t deliveries = acks_.delivery_count(sseq);
  ojson a;
  a["stream"] = stream_.config().name;
  a["consumer"] = name_;
  a["consumer_seq"] = dseq;
  a["stream_seq"] = sseq;
  a["deliveries"] = deliveries;
  if (!reason.empty()) a["reason"] = std::string(reason);
  advisory("MSG_TERMINATED", "io.nats.jetstream.advisory.v1.terminated", std::move(a));
  uint64_t first_dseq = acks_.find(sseq) ? acks_.find(sseq)->first_dseq : dseq;
  dead_letter(sseq, first_dseq, deliveries, "terminated");
  if (acks_.ack(sseq)) {
    rdq_.erase(sseq);
    last_ack_ns_ = now_ns();
    acked(sseq);
    mark_dirty();
    want_run();
  }
}

void Consumer::max_deliveries_reached(uint64_t sseq, uint64_t count) {
  uint64_t deliveries = count - 1;
  acks_.bump_count(sseq);  // the attempt counts (num_redelivered keeps it, as in 2.9)
  if (deliveries == static_cast<uint64_t>(cfg_.max_deliver)) {
    ojson a;
    a["stream"] = stream_.config().name;
    a["consumer"] = name_;
    a["stream_seq"] = sseq;
    a["deliveries"] = deliveries;
    advisory("MAX_DELIVERIES", "io.nats.jetstream.advisory.v1.max_deliver", std::move(a));
  }
  const AckTracker::Pending* p = acks_.find(sseq);
  uint64_t first_dseq = p ? p->first_dseq : 0;
  if (dead_letter(sseq, first_dseq, deliveries, "max_deliveries")) {
    // Handled: an ack for this consumer (floor, retention).
    if (acks_.ack(sseq)) {
      acked(sseq);
    }
  } else {
    acks_.drop(sseq);
  }
  mark_dirty();
}

bool Consumer::dead_letter(uint64_t sseq, uint64_t dseq, uint64_t deliveries, const char* reason) {
  if (cfg_.dead_letter_stream.empty()) return false;
  Stream* dlq = js_.find(cfg_.dead_letter_stream);
  if (!dlq) {
    spdlog::warn("JetStream consumer '{} > {}': dead letter stream '{}' not found; message {} not copied",
                 stream_.config().name, name_, cfg_.dead_letter_stream, sseq);
    return false;
  }
  auto m = stream_.store().load(sseq);
  if (!m) return false;
  std::string hdrs;
  if (m->headers.size() >= 4 && m->headers.ends_with("\r\n\r\n"))
    hdrs = m->headers.substr(0, m->headers.size() - 2);
  else
    hdrs = "NATS/1.0\r\n";
  auto add = [&](std::string_view k, std::string_view v) {
    hdrs.append(k);
    hdrs.append(": ");
    hdrs.append(v);
    hdrs.append("\r\n");
  };
  add("Tern-DLQ-Stream", stream_.config().name);
  add("Tern-DLQ-Consumer", name_);
  add("Tern-DLQ-Sequence", std::to_string(sseq));
  add("Tern-DLQ-Subject", m->subject);
  add("Tern-DLQ-Deliveries", std::to_string(deliveries));
  add("Tern-DLQ-Reason", reason);
  hdrs.append("\r\n");
  auto stored = dlq->store_direct(m->subject, hdrs, m->payload);
  if (!stored) {
    spdlog::warn("JetStream consumer '{} > {}': cannot store message {} in dead letter stream '{}': {}",
                 stream_.config().name, name_, sseq, cfg_.dead_letter_stream, stored.status().message());
    return false;
  }
  if (persistent() && dlq->file_store()) dlq_in_flight_.push_back({sseq, dseq, dlq->config().name, *stored});
  return true;
}

void Consumer::advisory(std::string_view kind, std::string_view type, ojson body) {
  ojson j;
  j["type"] = std::string(type);
  j["id"] = event_id();
  j["timestamp"] = format_time_ns(now_ns());
  for (auto& [k, v] : body.items()) j[k] = v;
  std::string subject = "$JS.EVENT.ADVISORY.CONSUMER.";
  subject.append(kind);
  subject += "." + stream_.config().name + "." + name_;
  js_.send(std::move(subject), j.dump(-1, ' ', false, ojson::error_handler_t::replace));
}

// ---------------------------------------------------------------------------------------------
// StateWriter

struct StateWriter::Impl {
  std::mutex mu;
  std::condition_variable cv;
  std::condition_variable idle_cv;
  std::map<std::string, ConsumerState> queue;  // GUARDED_BY(mu): newest snapshot per dir
  std::string writing;                         // GUARDED_BY(mu): dir being written now
  bool stopping = false;
  std::thread thread;
};

StateWriter::StateWriter() : impl_(std::make_unique<Impl>()) {
  impl_->thread = std::thread([this] { loop(); });
}

StateWriter::~StateWriter() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

void StateWriter::submit(const std::string& dir, ConsumerState state) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->queue[dir] = std::move(state);
  }
  impl_->cv.notify_one();
}

void StateWriter::forget(const std::string& dir) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->queue.erase(dir);
  impl_->idle_cv.wait(lock, [&] { return impl_->writing != dir; });
}

void StateWriter::drain() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->idle_cv.wait(lock, [&] { return impl_->queue.empty() && impl_->writing.empty(); });
}

void StateWriter::loop() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  for (;;) {
    impl_->cv.wait(lock, [&] { return impl_->stopping || !impl_->queue.empty(); });
    if (impl_->queue.empty()) {
      if (impl_->stopping) return;
      continue;
    }
    auto node = impl_->queue.extract(impl_->queue.begin());
    impl_->writing = node.key();
    lock.unlock();
    Status st = save_consumer_state(*posix_file_system(), node.key(), node.mapped());
    if (!st) spdlog::error("JetStream: cannot save consumer state in {}: {}", node.key(), st.message());
    lock.lock();
    impl_->writing.clear();
    impl_->idle_cv.notify_all();
  }
}

}  // namespace tern::server
