// collect_snapshot(): the loop-thread half of a monitoring request (monitor.h). It copies plain
// values only; sorting and paging /connz happen here so that only one page's subscription lists
// are copied.
#include <algorithm>

#include "proto/subject.h"
#include "server/monitor/monitor.h"
#include "server/net/connection.h"
#include "server/net/server.h"
#include "server/stream/jetstream.h"

namespace tern::server {

namespace {

MonitorSub sub_info(const Subscription& s) {
  MonitorSub m;
  m.subject = s.subject;
  m.queue = s.queue;
  m.sid = s.sid;
  m.msgs = s.delivered;
  m.max = s.max_msgs;
  // Internal clients (streams, consumers, the JetStream API) have no connection id: 0.
  if (auto* c = dynamic_cast<const Connection*>(s.client)) m.cid = c->id();
  return m;
}

// nats-server's sort orders (monitor_sort_opts.go): cid and start ascending, uptime ascending,
// everything else descending. A stable sort over the cid order keeps ties deterministic.
void sort_conns(std::vector<std::pair<const Connection*, MonitorConn>>& rows, const std::string& by) {
  auto desc = [&](auto key) {
    std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) { return key(a.second) > key(b.second); });
  };
  if (by == "subs") desc([](const MonitorConn& c) { return c.num_subs; });
  else if (by == "pending") desc([](const MonitorConn& c) { return c.pending; });
  else if (by == "msgs_to") desc([](const MonitorConn& c) { return c.out_msgs; });
  else if (by == "msgs_from") desc([](const MonitorConn& c) { return c.in_msgs; });
  else if (by == "bytes_to") desc([](const MonitorConn& c) { return c.out_bytes; });
  else if (by == "bytes_from") desc([](const MonitorConn& c) { return c.in_bytes; });
  else if (by == "last") desc([](const MonitorConn& c) { return c.last_activity_ns; });
  // nats' "idle" compares last activity minus start, descending (sic).
  else if (by == "idle") desc([](const MonitorConn& c) { return c.last_activity_ns - c.start_ns; });
  // Ascending uptime: the newest connection first.
  else if (by == "uptime") desc([](const MonitorConn& c) { return c.start_ns; });
}

}  // namespace

MonitorSnapshot collect_snapshot(Server& server, const MonitorQuery& q) {
  MonitorSnapshot out;
  out.now_ns = now_ns();
  const ServerStats& st = server.stats();
  out.in_msgs = st.in_msgs, out.in_bytes = st.in_bytes, out.out_msgs = st.out_msgs, out.out_bytes = st.out_bytes;
  out.slow_consumers = st.slow_consumers;
  out.total_connections = st.total_connections;

  // Connections: last activity is loop time (ms); convert it to wall time against "now".
  uint64_t loop_now_ms = uv_now(server.loop());
  std::vector<std::pair<const Connection*, MonitorConn>> rows;
  for (const auto& [p, c] : server.connections()) {
    if (c->closed()) continue;  // closing: nats-server has already dropped it from its list
    ++out.connections;
    if (!q.conns || q.closed || (q.cid && c->id() != q.cid)) continue;
    MonitorConn m;
    m.cid = c->id();
    m.ip = c->ip();
    m.port = c->port();
    m.start_ns = c->start_ns();
    uint64_t idle_ms = loop_now_ms > c->last_activity_ms() ? loop_now_ms - c->last_activity_ms() : 0;
    m.last_activity_ns = std::max(m.start_ns, out.now_ns - static_cast<int64_t>(idle_ms) * 1'000'000);
    m.rtt_ns = c->rtt_ns();
    m.pending = c->pending_bytes();
    m.in_msgs = c->in_msgs(), m.out_msgs = c->out_msgs(), m.in_bytes = c->in_bytes(), m.out_bytes = c->out_bytes();
    m.num_subs = c->subscriptions().size();
    m.name = c->name(), m.lang = c->lang(), m.version = c->version();
    rows.emplace_back(c.get(), std::move(m));
  }
  if (q.conns) {
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.cid < b.second.cid; });
    sort_conns(rows, q.sort);
    out.conns_total = rows.size();
    size_t from = std::min(rows.size(), static_cast<size_t>(std::max(q.offset, 0)));
    size_t to = std::min(rows.size(), from + static_cast<size_t>(std::max(q.limit, 0)));
    for (size_t i = from; i < to; ++i) {
      MonitorConn& m = rows[i].second;
      if (q.conn_subs) {
        for (const auto& [sid, sub] : rows[i].first->subscriptions()) m.subs.push_back(sub_info(*sub));
        std::sort(m.subs.begin(), m.subs.end(), [](const MonitorSub& a, const MonitorSub& b) {
          return a.sid.size() != b.sid.size() ? a.sid.size() < b.sid.size() : a.sid < b.sid;  // numeric sids in order
        });
      }
      out.conns.push_back(std::move(m));
    }
  }

  Sublist& sl = server.router().sublist();
  out.subscriptions = sl.count();
  out.num_cache = sl.cache_size();
  out.inserts = sl.inserts(), out.removes = sl.removes(), out.matches = sl.matches(), out.cache_hits = sl.cache_hits();
  Sublist::FanoutStats fan = sl.cache_fanout();
  out.max_fanout = fan.max;
  out.avg_fanout = fan.avg;
  if (q.sub_list) {
    size_t index = 0, from = static_cast<size_t>(std::max(q.sub_offset, 0));
    size_t to = from + static_cast<size_t>(std::max(q.sub_limit, 0));
    sl.for_each([&](const Subscription& s) {
      if (!q.test.empty() && !proto::subject_matches(s.subject, q.test)) return;
      if (index >= from && index < to) out.subs.push_back(sub_info(s));
      ++index;
    });
  }

  if (JetStream* js = server.jetstream()) {
    out.js = true;
    out.js_reserved_memory = js->reserved(StorageType::kMemory);
    out.js_reserved_storage = js->reserved(StorageType::kFile);
    out.api_total = js->api_total;
    out.api_errors = js->api_errors;
    for (auto& [name, s] : js->streams()) {
      StoreState state = s->store().state();
      (s->config().storage == StorageType::kMemory ? out.js_memory : out.js_storage) += state.bytes;
      ++out.num_streams;
      out.num_consumers += s->consumers().size();
      out.messages += state.msgs;
      out.bytes += state.bytes;
      if (!q.streams) continue;
      MonitorStream ms;
      ms.name = name;
      ms.created_ns = s->created_ns();
      if (q.configs) ms.config = s->config();
      ms.state = std::move(state);
      ms.consumer_count = s->consumers().size();
      if (q.consumers) {
        for (auto& [cname, c] : s->consumers()) {
          MonitorConsumer mc;
          mc.name = cname;
          mc.created_ns = c->created_ns();
          if (q.configs) mc.config = c->config();
          mc.delivered = c->delivered();
          mc.ack_floor = c->ack_floor();
          mc.last_delivery_ns = c->last_delivery_ns();
          mc.last_ack_ns = c->last_ack_ns();
          mc.num_ack_pending = c->num_ack_pending();
          mc.num_redelivered = c->num_redelivered();
          mc.num_waiting = c->num_waiting();
          mc.num_pending = c->num_pending();
          ms.consumers.push_back(std::move(mc));
        }
      }
      out.streams.push_back(std::move(ms));
    }
    if (const Histogram* h = js->sync_latency()) out.sync_seconds = h->snapshot();
  }
  return out;
}

}  // namespace tern::server
