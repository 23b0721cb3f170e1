#pragma once
// The monitoring endpoint (`-m PORT`): nats-server's /varz, /connz, /subsz, /jsz, /healthz, with
// its field names and paging rules (nats-server 2.9.10 server/monitor.go), plus /metrics in the
// Prometheus text format (Tern's extension).
//
// Threading: cpp-httplib serves requests on its own threads, which never touch loop-owned state.
// A handler posts a MonitorQuery to the loop (a mutex-protected queue + uv_async_send); the loop
// copies what the query needs into a MonitorSnapshot (plain values, no JSON; connz sorted and
// paged there so only one page's subscription lists are copied) and fulfils the job's promise;
// the handler waits at most kSnapshotTimeout (then 503 "server busy") and builds the JSON or the
// Prometheus text on its own thread. The Syncer's fsync histogram is read with atomics.
//
// Lifetime: created and started on the loop thread after the listener is bound; stop() runs on
// the loop thread before the loop's handles close: it answers queued jobs (503), stops the HTTP
// server, joins its threads and closes the async handle.

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/status.h"
#include "server/config/options.h"
#include "server/monitor/histogram.h"
#include "server/stream/consumer_state.h"
#include "server/stream/consumer_config.h"
#include "server/stream/store.h"
#include "server/stream/stream_config.h"

namespace tern::server {

class Server;

// What one request needs from the loop.
struct MonitorQuery {
  // /connz
  bool conns = false;
  std::string sort = "cid";  // validated by the HTTP side
  int offset = 0;
  int limit = 1024;
  uint64_t cid = 0;       // > 0: only this connection
  bool conn_subs = false;  // subscriptions_list or _detail for the page
  bool closed = false;     // state=closed: Tern keeps no closed connections (an empty list)
  // /subsz
  bool sub_list = false;
  std::string test;  // only subscriptions this literal subject would reach
  int sub_offset = 0;
  int sub_limit = 1024;
  // /jsz, /metrics
  bool streams = false;
  bool consumers = false;
  bool configs = false;
};

struct MonitorSub {
  std::string subject, queue, sid;
  uint64_t msgs = 0, max = 0, cid = 0;
};

struct MonitorConn {
  uint64_t cid = 0;
  std::string ip;
  int port = 0;
  int64_t start_ns = 0, last_activity_ns = 0;
  uint64_t rtt_ns = 0, pending = 0;
  uint64_t in_msgs = 0, out_msgs = 0, in_bytes = 0, out_bytes = 0;
  size_t num_subs = 0;
  std::string name, lang, version;
  std::vector<MonitorSub> subs;  // only for the page, only when asked
};

struct MonitorConsumer {
  std::string name;
  int64_t created_ns = 0;
  std::optional<ConsumerConfig> config;
  SequencePair delivered, ack_floor;
  int64_t last_delivery_ns = 0, last_ack_ns = 0;
  uint64_t num_ack_pending = 0, num_redelivered = 0, num_waiting = 0, num_pending = 0;
};

struct MonitorStream {
  std::string name;
  int64_t created_ns = 0;
  std::optional<StreamConfig> config;
  StoreState state;
  size_t consumer_count = 0;
  std::vector<MonitorConsumer> consumers;
};

struct MonitorSnapshot {
  int64_t now_ns = 0;
  // Server counters (ServerStats) and sizes.
  uint64_t in_msgs = 0, in_bytes = 0, out_msgs = 0, out_bytes = 0, slow_consumers = 0, total_connections = 0;
  size_t connections = 0;
  // Sublist.
  size_t subscriptions = 0, num_cache = 0, max_fanout = 0;
  uint64_t inserts = 0, removes = 0, matches = 0, cache_hits = 0;
  double avg_fanout = 0;
  std::vector<MonitorSub> subs;  // /subsz?subs=1: the requested page
  // /connz: the requested page, after sort; conns_total counts before paging.
  std::vector<MonitorConn> conns;
  size_t conns_total = 0;
  // JetStream.
  bool js = false;
  uint64_t js_memory = 0, js_storage = 0, js_reserved_memory = 0, js_reserved_storage = 0;
  uint64_t api_total = 0, api_errors = 0;
  size_t num_streams = 0, num_consumers = 0;
  uint64_t messages = 0, bytes = 0;
  std::vector<MonitorStream> streams;
  std::optional<Histogram::Snapshot> sync_seconds;
};

// Loop thread: copies what `q` asks for out of the server.
MonitorSnapshot collect_snapshot(Server& server, const MonitorQuery& q);

// Things that do not change while the server runs, captured once when the monitor starts.
struct MonitorIdentity {
  std::string server_id, server_name, version, go, host;
  int port = 0;
  Options opts;
  int64_t start_ns = 0;
  bool jetstream = false;
  int64_t js_max_memory = 0, js_max_storage = 0;
  std::string js_store_dir;
};

class Monitor {
 public:
  static constexpr std::chrono::milliseconds kSnapshotTimeout{2000};  // then 503: the loop is stuck
  using Collect = std::function<MonitorSnapshot(const MonitorQuery&)>;

  // `collect` runs on the loop thread of `loop`.
  Monitor(uv_loop_t* loop, MonitorIdentity id, Collect collect);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Loop thread. Binds http_host (or host):http_port (-1: any free port) and starts serving.
  Status start();
  // Loop thread. Idempotent.
  void stop();
  int port() const { return port_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// nats-server's myUptime(): whole seconds as "1y2d3h4m5s", leading zero units left out.
std::string nats_uptime(int64_t ns);

}  // namespace tern::server
