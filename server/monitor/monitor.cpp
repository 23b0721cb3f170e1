#include "server/monitor/monitor.h"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "proto/subject.h"
#include "proto/wire_errors.h"
#include "server/config/go_duration.h"
#include "server/monitor/prometheus.h"
#include "server/stream/stream.h"

namespace tern::server {

using ojson = nlohmann::ordered_json;

namespace {

constexpr int kHttpThreads = 4;          // concurrent requests; more wait in the kernel's backlog
constexpr time_t kKeepAliveSeconds = 1;  // an idle keep-alive connection holds a thread; stop() waits for it
constexpr const char* kGlobalAccount = "$G";
// nats-server reports the global account's reserved bytes as uint64(-1): its limits are dynamic (-1).
constexpr uint64_t kUnlimitedReserved = ~uint64_t{0};

const char* const kSortOptions[] = {"cid",        "start", "subs", "pending", "msgs_to", "msgs_from",
                                    "bytes_to",   "bytes_from", "last", "idle", "uptime", "stop", "reason"};

// ---- Go-compatible formatting -----------------------------------------------------------

// A number as Go's encoding/json writes a float64 that holds a whole value: without ".0".
ojson go_float(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15) return static_cast<int64_t>(v);
  return v;
}

std::string time_json(int64_t ns) { return format_time_ns(ns); }

// ---- Query parameters, decoded with nats-server's rules and error texts -----------------

struct BadRequest {
  std::string text;
};

std::string param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : std::string();
}

// strconv.ParseBool.
bool decode_bool(const httplib::Request& req, const char* name) {
  std::string v = param(req, name);
  if (v.empty()) return false;
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"})
    if (v == t) return true;
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"})
    if (v == f) return false;
  throw BadRequest{"Error decoding boolean for '" + std::string(name) + "': strconv.ParseBool: parsing " +
                   proto::go_quote(v) + ": invalid syntax"};
}

template <class T>
T decode_number(const httplib::Request& req, const char* name, const char* go_type, const char* go_func) {
  std::string v = param(req, name);
  if (v.empty()) return 0;
  std::string_view digits = v;
  if (std::is_signed_v<T> && digits.starts_with('+')) digits.remove_prefix(1);
  T out{};
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  if (ec != std::errc() || p != digits.data() + digits.size()) {
    throw BadRequest{std::string("Error decoding ") + go_type + " for '" + name + "': strconv." + go_func +
                     ": parsing " + proto::go_quote(v) + ": " +
                     (ec == std::errc::result_out_of_range ? "value out of range" : "invalid syntax")};
  }
  return out;
}

int decode_int(const httplib::Request& req, const char* name) { return decode_number<int>(req, name, "int", "Atoi"); }

// ---- Process figures for /varz ----------------------------------------------------------

int64_t resident_bytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

// utime + stime of this process, in seconds.
double cpu_seconds() {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');  // the command name may contain spaces
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15 (1-based) of proc(5)
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

std::string nats_uptime(int64_t ns) {
  int64_t tsecs = std::max<int64_t>(ns, 0) / 1'000'000'000;
  int64_t tmins = tsecs / 60, thrs = tmins / 60, tdays = thrs / 24, tyrs = tdays / 365;
  auto s = [](int64_t v) { return std::to_string(v); };
  if (tyrs > 0) return s(tyrs) + "y" + s(tdays % 365) + "d" + s(thrs % 24) + "h" + s(tmins % 60) + "m" + s(tsecs % 60) + "s";
  if (tdays > 0) return s(tdays) + "d" + s(thrs % 24) + "h" + s(tmins % 60) + "m" + s(tsecs % 60) + "s";
  if (thrs > 0) return s(thrs) + "h" + s(tmins % 60) + "m" + s(tsecs % 60) + "s";
  if (tmins > 0) return s(tmins) + "m" + s(tsecs % 60) + "s";
  return s(tsecs) + "s";
}

// ---- The HTTP side ----------------------------------------------------------------------

struct Monitor::Impl {
  struct Job {
    MonitorQuery query;
    std::promise<std::optional<MonitorSnapshot>> done;  // nullopt: the server is stopping
  };

  uv_loop_t* loop;
  uv_async_t async{};
  MonitorIdentity id;
  Collect collect;

  std::mutex mu;
  std::deque<std::shared_ptr<Job>> jobs;  // GUARDED_BY(mu)
  bool stopping = false;                  // GUARDED_BY(mu)
  bool started = false;                   // loop thread only
  bool stopped = false;                   // loop thread only

  httplib::Server http;
  std::thread thread;

  std::mutex stats_mu;
  std::map<std::string, uint64_t> req_stats;  // GUARDED_BY(stats_mu); sorted, as Go marshals a map
  double last_cpu = 0;                        // GUARDED_BY(stats_mu)
  int64_t last_cpu_ns = 0;                    // GUARDED_BY(stats_mu)

  Impl(uv_loop_t* l, MonitorIdentity i, Collect c) : loop(l), id(std::move(i)), collect(std::move(c)) {
    last_cpu_ns = id.start_ns;
  }

  // ---- Loop side

  static void on_async(uv_async_t* h) {
    auto* self = static_cast<Impl*>(h->data);
    std::deque<std::shared_ptr<Job>> todo;
    {
      std::lock_guard lock(self->mu);
      todo.swap(self->jobs);
    }
    for (auto& job : todo) job->done.set_value(self->collect(job->query));
  }

  // ---- HTTP side

  // Runs `q` on the loop. nullopt: the loop did not answer in time, or the server is stopping.
  std::optional<MonitorSnapshot> snapshot(const MonitorQuery& q) {
    auto job = std::make_shared<Job>();
    job->query = q;
    auto fut = job->done.get_future();
    {
      std::lock_guard lock(mu);
      if (stopping) return std::nullopt;
      jobs.push_back(job);
      uv_async_send(&async);  // under mu: stop() closes the handle only after setting stopping
    }
    if (fut.wait_for(kSnapshotTimeout) != std::future_status::ready) return std::nullopt;
    return fut.get();
  }

  void count(const std::string& path) {
    std::lock_guard lock(stats_mu);
    ++req_stats[path];
  }

  void reply_json(const httplib::Request& req, httplib::Response& res, const ojson& j, bool indent = true) {
    std::string body = j.dump(indent ? 2 : -1, ' ', false, ojson::error_handler_t::replace);
    if (std::string cb = param(req, "callback"); !cb.empty()) {  // JSONP, as nats-server's ResponseHandler
      res.set_content(cb + "(" + body + ")", "application/javascript");
    } else {
      res.set_content(body, "application/json");
    }
  }

  static void busy(httplib::Response& res) {
    res.status = 503;
    res.set_content("server busy", "text/plain; charset=utf-8");
  }

  // Wraps a handler: request counting, nats' 400 texts for bad parameters.
  template <class F>
  httplib::Server::Handler route(std::string path, F f) {
    return [this, path, f](const httplib::Request& req, httplib::Response& res) {
      count(path);
      try {
        f(req, res);
      } catch (const BadRequest& e) {
        res.status = 400;
        res.set_content(e.text, "text/plain; charset=utf-8");
      }
    };
  }

  ojson js_config() const {
    ojson c;
    c["max_memory"] = id.js_max_memory;
    c["max_storage"] = id.js_max_storage;
    c["store_dir"] = id.js_store_dir;
    return c;
  }

  static ojson api_stats(const MonitorSnapshot& s) { return ojson{{"total", s.api_total}, {"errors", s.api_errors}}; }

  void varz(const httplib::Request& req, httplib::Response& res) {
    auto snap = snapshot(MonitorQuery{});
    if (!snap) return busy(res);
    const Options& o = id.opts;
    ojson v;
    v["server_id"] = id.server_id;
    v["server_name"] = id.server_name;
    v["version"] = id.version;
    v["proto"] = 1;
    v["go"] = id.go;
    v["host"] = id.host;
    v["port"] = id.port;
    if (o.auth_required()) v["auth_required"] = true;
    v["max_connections"] = o.max_connections;
    if (o.max_subscriptions > 0) v["max_subscriptions"] = o.max_subscriptions;
    v["ping_interval"] = static_cast<int64_t>(o.ping_interval.count()) * 1'000'000;  // a Go Duration: ns
    v["ping_max"] = o.ping_max;
    v["http_host"] = o.http_host.empty() ? id.host : o.http_host;
    v["http_port"] = o.http_port > 0 ? o.http_port : port;
    v["auth_timeout"] = go_float(static_cast<double>(o.auth_timeout.count()) / 1000.0);  // seconds
    v["max_control_line"] = o.max_control_line;
    v["max_payload"] = o.max_payload;
    v["max_pending"] = o.max_pending;
    ojson js = ojson::object();
    if (snap->js) {
      js["config"] = js_config();
      ojson st;
      st["memory"] = snap->js_memory;
      st["storage"] = snap->js_storage;
      st["reserved_memory"] = snap->js_reserved_memory;
      st["reserved_storage"] = snap->js_reserved_storage;
      st["accounts"] = 1;
      st["ha_assets"] = 0;
      st["api"] = api_stats(*snap);
      js["stats"] = std::move(st);
    }
    v["jetstream"] = std::move(js);
    v["write_deadline"] = static_cast<int64_t>(o.write_deadline.count()) * 1'000'000;
    v["start"] = time_json(id.start_ns);
    v["now"] = time_json(snap->now_ns);
    v["uptime"] = nats_uptime(snap->now_ns - id.start_ns);
    v["mem"] = resident_bytes();
    v["cores"] = std::thread::hardware_concurrency();
    v["cpu"] = go_float(cpu_percent(snap->now_ns));
    v["connections"] = snap->connections;
    v["total_connections"] = snap->total_connections;
    v["routes"] = 0;
    v["remotes"] = 0;
    v["leafnodes"] = 0;
    v["in_msgs"] = snap->in_msgs;
    v["out_msgs"] = snap->out_msgs;
    v["in_bytes"] = snap->in_bytes;
    v["out_bytes"] = snap->out_bytes;
    v["slow_consumers"] = snap->slow_consumers;
    v["subscriptions"] = snap->subscriptions;
    {
      std::lock_guard lock(stats_mu);
      ojson stats = ojson::object();
      for (const auto& [path, n] : req_stats) stats[path] = n;
      v["http_req_stats"] = std::move(stats);
    }
    v["config_load_time"] = time_json(id.start_ns);
    reply_json(req, res, v);
  }

  // CPU use since the previous /varz (the first: since start), in percent of one core, as ps shows it.
  double cpu_percent(int64_t now) {
    std::lock_guard lock(stats_mu);
    double cpu = cpu_seconds();
    double wall = static_cast<double>(now - last_cpu_ns) / 1e9;
    double pct = wall > 0 ? (cpu - last_cpu) / wall * 100.0 : 0;
    last_cpu = cpu;
    last_cpu_ns = now;
    return std::round(std::max(pct, 0.0) * 100) / 100;
  }

  static ojson sub_detail(const MonitorSub& s, bool with_account) {
    ojson d;
    if (with_account) d["account"] = kGlobalAccount;
    d["subject"] = s.subject;
    if (!s.queue.empty()) d["qgroup"] = s.queue;
    d["sid"] = s.sid;
    d["msgs"] = s.msgs;
    if (s.max) d["max"] = s.max;
    d["cid"] = s.cid;
    return d;
  }

  void connz(const httplib::Request& req, httplib::Response& res) {
    MonitorQuery q;
    q.conns = true;
    q.sort = param(req, "sort");
    decode_bool(req, "auth");
    bool detail = [&] {
      std::string s = param(req, "subs");
      for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s == "detail";
    }();
    bool subs = detail || decode_bool(req, "subs");
    q.conn_subs = subs;
    q.offset = std::max(decode_int(req, "offset"), 0);
    int limit = decode_int(req, "limit");
    q.limit = limit <= 0 ? 1024 : limit;
    q.cid = decode_number<uint64_t>(req, "cid", "uint64", "ParseUint");
    std::string state = param(req, "state");
    for (char& c : state) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (state == "closed") q.closed = true;
    else if (!state.empty() && state != "open" && state != "any" && state != "all")
      throw BadRequest{"Error decoding state for " + param(req, "state")};
    if (q.sort.empty()) q.sort = "cid";
    if (std::find(std::begin(kSortOptions), std::end(kSortOptions), q.sort) == std::end(kSortOptions))
      throw BadRequest{"invalid sorting option: " + q.sort};
    if ((q.sort == "stop" || q.sort == "reason") && !q.closed)
      throw BadRequest{"sort by " + q.sort + " only valid on closed connections"};
    if (q.cid > 0) q.limit = 1;

    auto snap = snapshot(q);
    if (!snap) return busy(res);
    ojson c;
    c["server_id"] = id.server_id;
    c["now"] = time_json(snap->now_ns);
    c["num_connections"] = snap->conns.size();
    c["total"] = q.cid > 0 ? snap->conns.size() : snap->conns_total;
    c["offset"] = q.offset;
    c["limit"] = q.limit;
    ojson list = ojson::array();
    for (const MonitorConn& m : snap->conns) {
      ojson ci;
      ci["cid"] = m.cid;
      ci["kind"] = "Client";
      ci["type"] = "nats";
      ci["ip"] = m.ip;
      ci["port"] = m.port;
      ci["start"] = time_json(m.start_ns);
      ci["last_activity"] = time_json(m.last_activity_ns);
      ci["rtt"] = go_duration_string(static_cast<int64_t>(m.rtt_ns));
      ci["uptime"] = nats_uptime(snap->now_ns - m.start_ns);
      ci["idle"] = nats_uptime(snap->now_ns - m.last_activity_ns);
      ci["pending_bytes"] = m.pending;
      ci["in_msgs"] = m.in_msgs;
      ci["out_msgs"] = m.out_msgs;
      ci["in_bytes"] = m.in_bytes;
      ci["out_bytes"] = m.out_bytes;
      ci["subscriptions"] = m.num_subs;
      if (!m.name.empty()) ci["name"] = m.name;
      if (!m.lang.empty()) ci["lang"] = m.lang;
      if (!m.version.empty()) ci["version"] = m.version;
      if (!m.subs.empty()) {
        ojson l = ojson::array();
        for (const MonitorSub& s : m.subs) l.push_back(detail ? sub_detail(s, false) : ojson(s.subject));
        ci[detail ? "subscriptions_list_detail" : "subscriptions_list"] = std::move(l);
      }
      list.push_back(std::move(ci));
    }
    c["connections"] = std::move(list);
    reply_json(req, res, c);
  }

  void subsz(const httplib::Request& req, httplib::Response& res) {
    MonitorQuery q;
    q.sub_list = decode_bool(req, "subs");
    q.sub_offset = std::max(decode_int(req, "offset"), 0);
    int limit = decode_int(req, "limit");
    q.sub_limit = limit <= 0 ? 1024 : limit;
    q.test = param(req, "test");
    if (!q.test.empty() && !(proto::is_valid_publish_subject(q.test) && proto::is_literal_subject(q.test)))
      throw BadRequest{"invalid test subject, must be valid publish subject: " + q.test};
    std::string acc = param(req, "acc");
    if (!acc.empty() && acc != kGlobalAccount) q.sub_list = false;  // Tern has one account

    auto snap = snapshot(q);
    if (!snap) return busy(res);
    ojson stats;
    stats["num_subscriptions"] = snap->subscriptions;
    stats["num_cache"] = snap->num_cache;
    stats["num_inserts"] = snap->inserts;
    stats["num_removes"] = snap->removes;
    stats["num_matches"] = snap->matches;
    stats["cache_hit_rate"] =
        go_float(snap->matches ? static_cast<double>(snap->cache_hits) / static_cast<double>(snap->matches) : 0.0);
    stats["max_fanout"] = snap->max_fanout;
    stats["avg_fanout"] = go_float(snap->avg_fanout);
    // nats-server answers with the statistics alone when the list is empty (HandleSubsz).
    if (snap->subs.empty()) return reply_json(req, res, stats);
    ojson s;
    s["server_id"] = id.server_id;
    s["now"] = time_json(snap->now_ns);
    for (auto& [k, v] : stats.items()) s[k] = v;
    s["total"] = snap->subs.size();  // sic: nats-server reports the page's length
    s["offset"] = q.sub_offset;
    s["limit"] = q.sub_limit;
    ojson list = ojson::array();
    for (const MonitorSub& sub : snap->subs) list.push_back(sub_detail(sub, true));
    s["subscriptions_list"] = std::move(list);
    reply_json(req, res, s);
  }

  ojson stream_detail(const MonitorStream& m) const {
    ojson d;
    d["name"] = m.name;
    d["created"] = time_json(m.created_ns);
    d["cluster"] = ojson{{"leader", id.server_name}};
    if (m.config) d["config"] = stream_config_json(*m.config);
    ojson st;
    st["messages"] = m.state.msgs;
    st["bytes"] = m.state.bytes;
    st["first_seq"] = m.state.first_seq;
    st["first_ts"] = time_json(m.state.msgs ? m.state.first_ts : 0);
    st["last_seq"] = m.state.last_seq;
    st["last_ts"] = time_json(m.state.last_ts);
    if (m.state.num_subjects) st["num_subjects"] = m.state.num_subjects;
    if (m.state.num_deleted) st["num_deleted"] = m.state.num_deleted;
    st["consumer_count"] = m.consumer_count;
    d["state"] = std::move(st);
    if (!m.consumers.empty()) {
      ojson list = ojson::array();
      for (const MonitorConsumer& c : m.consumers) {
        ojson ci;
        ci["stream_name"] = m.name;
        ci["name"] = c.name;
        ci["created"] = time_json(c.created_ns);
        if (c.config) ci["config"] = consumer_config_json(*c.config);
        auto seqs = [](const SequencePair& p, int64_t last) {
          ojson j;
          j["consumer_seq"] = p.consumer_seq;
          j["stream_seq"] = p.stream_seq;
          if (last) j["last_active"] = time_json(last);
          return j;
        };
        ci["delivered"] = seqs(c.delivered, c.last_delivery_ns);
        ci["ack_floor"] = seqs(c.ack_floor, c.last_ack_ns);
        ci["num_ack_pending"] = c.num_ack_pending;
        ci["num_redelivered"] = c.num_redelivered;
        ci["num_waiting"] = c.num_waiting;
        ci["num_pending"] = c.num_pending;
        ci["cluster"] = ojson{{"leader", id.server_name}};
        list.push_back(std::move(ci));
      }
      d["consumer_detail"] = std::move(list);
    }
    return d;
  }

  void jsz(const httplib::Request& req, httplib::Response& res) {
    bool accounts = decode_bool(req, "accounts");
    MonitorQuery q;
    q.streams = decode_bool(req, "streams");
    q.consumers = decode_bool(req, "consumers");
    q.configs = decode_bool(req, "config");
    decode_int(req, "offset");
    decode_int(req, "limit");
    decode_bool(req, "leader-only");
    if (q.consumers) q.streams = true;
    if (q.streams) accounts = true;
    std::string acc = param(req, "acc");
    if (acc == kGlobalAccount) accounts = true;  // nats: naming the account selects it
    else if (!acc.empty()) accounts = false;     // an account Tern does not have: no details

    auto snap = snapshot(q);
    if (!snap) return busy(res);
    ojson j;
    j["server_id"] = id.server_id;
    j["now"] = time_json(snap->now_ns);
    if (!snap->js) {
      j["disabled"] = true;
      j["config"] = ojson{{"max_memory", 0}, {"max_storage", 0}};
    } else {
      j["config"] = js_config();
    }
    j["memory"] = snap->js_memory;
    j["storage"] = snap->js_storage;
    j["reserved_memory"] = snap->js_reserved_memory;
    j["reserved_storage"] = snap->js_reserved_storage;
    j["accounts"] = snap->js ? 1 : 0;
    j["ha_assets"] = 0;
    j["api"] = api_stats(*snap);
    j["streams"] = snap->num_streams;
    j["consumers"] = snap->num_consumers;
    j["messages"] = snap->messages;
    j["bytes"] = snap->bytes;
    if (snap->js && accounts) {
      ojson a;
      a["name"] = kGlobalAccount;
      a["id"] = kGlobalAccount;
      a["memory"] = snap->js_memory;
      a["storage"] = snap->js_storage;
      a["reserved_memory"] = kUnlimitedReserved;
      a["reserved_storage"] = kUnlimitedReserved;
      a["accounts"] = 0;
      a["ha_assets"] = 0;
      a["api"] = api_stats(*snap);
      if (!snap->streams.empty()) {
        ojson list = ojson::array();
        for (const MonitorStream& s : snap->streams) list.push_back(stream_detail(s));
        a["stream_detail"] = std::move(list);
      }
      j["account_details"] = ojson::array({std::move(a)});
    }
    reply_json(req, res, j);
  }

  void healthz(const httplib::Request& req, httplib::Response& res) {
    decode_bool(req, "js-enabled");
    decode_bool(req, "js-enabled-only");
    decode_bool(req, "js-server-only");
    // Up and answering: the loop serves, and JetStream (if configured) started with the server.
    // Asking the loop proves the first; a stuck loop answers 503 like an unhealthy nats-server.
    if (!snapshot(MonitorQuery{})) {
      res.status = 503;
      return reply_json(req, res, ojson{{"status", "unavailable"}, {"error", "server busy"}}, false);
    }
    reply_json(req, res, ojson{{"status", "ok"}}, false);
  }

  void metrics(const httplib::Request&, httplib::Response& res) {
    MonitorQuery q;
    q.streams = q.consumers = true;
    auto snap = snapshot(q);
    if (!snap) return busy(res);
    PromWriter w;
    auto gauge = [&](const char* name, const char* help, uint64_t v) {
      w.family(name, help, "gauge");
      w.sample(name, {}, v);
    };
    auto counter = [&](const char* name, const char* help, uint64_t v) {
      w.family(name, help, "counter");
      w.sample(name, {}, v);
    };
    gauge("tern_connections", "Client connections open now.", snap->connections);
    counter("tern_total_connections", "Client connections accepted since start.", snap->total_connections);
    gauge("tern_subscriptions", "Subscriptions in the subject index (internal JetStream ones included).",
          snap->subscriptions);
    counter("tern_in_msgs_total", "Messages received from clients.", snap->in_msgs);
    counter("tern_out_msgs_total", "Messages delivered to clients.", snap->out_msgs);
    counter("tern_in_bytes_total", "Payload bytes received from clients.", snap->in_bytes);
    counter("tern_out_bytes_total", "Payload bytes delivered to clients.", snap->out_bytes);
    counter("tern_slow_consumers_total", "Clients closed as slow consumers.", snap->slow_consumers);

    auto per_stream = [&](const char* name, const char* help, auto value) {
      w.family(name, help, "gauge");
      for (const MonitorStream& s : snap->streams) w.sample(name, {{"stream", s.name}}, value(s));
    };
    per_stream("tern_stream_messages", "Messages stored in the stream.", [](const MonitorStream& s) { return s.state.msgs; });
    per_stream("tern_stream_bytes", "Bytes stored in the stream.", [](const MonitorStream& s) { return s.state.bytes; });
    per_stream("tern_stream_first_seq", "First sequence in the stream.", [](const MonitorStream& s) { return s.state.first_seq; });
    per_stream("tern_stream_last_seq", "Last sequence in the stream.", [](const MonitorStream& s) { return s.state.last_seq; });
    per_stream("tern_stream_consumers", "Consumers of the stream.",
               [](const MonitorStream& s) { return static_cast<uint64_t>(s.consumer_count); });

    auto per_consumer = [&](const char* name, const char* help, auto value) {
      w.family(name, help, "gauge");
      for (const MonitorStream& s : snap->streams)
        for (const MonitorConsumer& c : s.consumers) w.sample(name, {{"stream", s.name}, {"consumer", c.name}}, value(c));
    };
    per_consumer("tern_consumer_num_pending", "Messages not yet delivered to the consumer.",
                 [](const MonitorConsumer& c) { return c.num_pending; });
    per_consumer("tern_consumer_num_ack_pending", "Messages delivered and not yet acknowledged.",
                 [](const MonitorConsumer& c) { return c.num_ack_pending; });
    per_consumer("tern_consumer_num_redelivered", "Messages delivered more than once and not yet acknowledged.",
                 [](const MonitorConsumer& c) { return c.num_redelivered; });
    per_consumer("tern_consumer_num_waiting", "Pull requests waiting.", [](const MonitorConsumer& c) { return c.num_waiting; });
    per_consumer("tern_consumer_delivered_stream_seq", "Stream sequence of the last delivery.",
                 [](const MonitorConsumer& c) { return c.delivered.stream_seq; });
    per_consumer("tern_consumer_ack_floor_stream_seq", "Stream sequence below which everything is acknowledged.",
                 [](const MonitorConsumer& c) { return c.ack_floor.stream_seq; });

    w.family("tern_storage_sync_seconds", "Time of one storage group commit (fsync batch) on the Syncer thread.",
             "histogram");
    w.histogram("tern_storage_sync_seconds", {},
                snap->sync_seconds ? *snap->sync_seconds : Histogram(Histogram::sync_seconds_bounds()).snapshot());
    res.set_content(w.take(), "text/plain; version=0.0.4");
  }

  void root(const httplib::Request&, httplib::Response& res) {
    std::string body = "<html><body><h3>tern-server " + id.version + " monitoring</h3>\n";
    for (const char* p : {"varz", "connz", "subsz", "jsz", "healthz", "metrics"})
      body += std::string("<a href=.") + "/" + p + ">" + p + "</a><br/>\n";
    body += "</body></html>\n";
    res.set_content(body, "text/html; charset=utf-8");
  }

  int port = 0;
};

Monitor::Monitor(uv_loop_t* loop, MonitorIdentity id, Collect collect)
    : impl_(std::make_unique<Impl>(loop, std::move(id), std::move(collect))) {}

Monitor::~Monitor() = default;

Status Monitor::start() {
  Impl& m = *impl_;
  uv_async_init(m.loop, &m.async, Impl::on_async);
  m.async.data = &m;
  m.started = true;

  httplib::Server& h = m.http;
  h.new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  h.set_keep_alive_timeout(kKeepAliveSeconds);
  h.Get("/varz", m.route("/varz", [&m](auto& rq, auto& rs) { m.varz(rq, rs); }));
  h.Get("/connz", m.route("/connz", [&m](auto& rq, auto& rs) { m.connz(rq, rs); }));
  h.Get("/subsz", m.route("/subsz", [&m](auto& rq, auto& rs) { m.subsz(rq, rs); }));
  h.Get("/subscriptionsz", m.route("/subsz", [&m](auto& rq, auto& rs) { m.subsz(rq, rs); }));
  h.Get("/jsz", m.route("/jsz", [&m](auto& rq, auto& rs) { m.jsz(rq, rs); }));
  h.Get("/healthz", m.route("/healthz", [&m](auto& rq, auto& rs) { m.healthz(rq, rs); }));
  h.Get("/metrics", m.route("/metrics", [&m](auto& rq, auto& rs) { m.metrics(rq, rs); }));
  h.Get("/", m.route("/", [&m](auto& rq, auto& rs) { m.root(rq, rs); }));

  const Options& o = m.id.opts;
  std::string host = o.http_host.empty() ? (o.host.empty() ? "0.0.0.0" : o.host) : o.http_host;
  if (o.http_port < 0) {
    m.port = h.bind_to_any_port(host);
  } else {
    m.port = h.bind_to_port(host, o.http_port) ? o.http_port : -1;
  }
  if (m.port <= 0)
    return Status::error("can't listen to the monitor port: " + host + ":" + std::to_string(o.http_port));
  port_ = m.port;
  m.thread = std::thread([&h] { h.listen_after_bind(); });
  return Status::ok();
}

void Monitor::stop() {
  Impl& m = *impl_;
  if (!m.started || m.stopped) return;
  m.stopped = true;
  std::deque<std::shared_ptr<Impl::Job>> pending;
  {
    std::lock_guard lock(m.mu);
    m.stopping = true;
    pending.swap(m.jobs);
  }
  for (auto& job : pending) job->done.set_value(std::nullopt);  // their requests get 503 at once
  m.http.stop();
  if (m.thread.joinable()) m.thread.join();
  uv_close(reinterpret_cast<uv_handle_t*>(&m.async), nullptr);
}

}  // namespace tern::server
