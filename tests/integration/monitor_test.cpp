// The monitoring endpoint (-m PORT): /varz, /connz, /subsz, /jsz, /healthz with nats-server's
// field names and values. Every shared case runs the same assertions against tern-server and
// nats-server 2.9.10 after building the same state over the wire, so a value that differs from
// nats-server's fails here. Both servers carry internal subscriptions and connections (nats: the
// system account, the readiness probe), so subscription and connection totals are asserted as
// differences from a baseline read before the clients connect.
// Tern only: /metrics (a Tern extension), the monitor answering while a slow consumer fills up
// and while /connz is hammered, and Tern's key sets being subsets of nats-server's.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

using namespace tern::test;
using json = nlohmann::json;

namespace {

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
  json j() const { return json::parse(body, nullptr, false); }
};

// One GET over a fresh loopback connection (HTTP/1.0: the server closes when done).
HttpReply http_get(int port, const std::string& target) {
  HttpReply r;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return r;
  }
  std::string raw;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.size() < 12) return r;
  r.status = std::atoi(raw.substr(9, 3).c_str());
  std::string head = raw.substr(0, head_end);
  for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (size_t ct = head.find("\r\ncontent-type: "); ct != std::string::npos) {
    size_t from = ct + 16, to = head.find("\r\n", from);
    r.content_type = raw.substr(from, (to == std::string::npos ? head.size() : to) - from);
  }
  r.body = raw.substr(head_end + 4);
  return r;
}

std::string fresh_dir() {
  char tmpl[] = "/tmp/tern-monitor-test-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  REQUIRE(d != nullptr);
  return d;
}

std::string connect_json(const std::string& name) {
  return R"({"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1,"name":")" + name +
         R"(","lang":"raw","version":"9.9.9"})";
}

// Everything sent before this has been processed by the server.
void sync(RawClient& c) {
  REQUIRE(c.send("PING\r\n"));
  REQUIRE(c.read_line() == std::optional<std::string>("PONG"));
}

// A server with JetStream on a fresh store dir and the monitor on a free port.
struct Monitored {
  std::string dir = fresh_dir();
  int http_port = free_port();
  ServerProcess server;

  Monitored() {
    REQUIRE(server.start({"-js", "-sd", dir, "-m", std::to_string(http_port)}));
    settle();
  }
  // ServerProcess::start() probes the client port with a connection of its own. Connect once more
  // (accepted after the probe) and wait until /connz shows neither, so that baselines are stable.
  void settle() {
    {
      RawClient warm;
      REQUIRE(warm.handshake(server.port()));
    }
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < deadline) {
      json c = http_get(http_port, "/connz").j();
      if (c.is_object() && c["total"] == 0) return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL("connections did not settle");
  }
  ~Monitored() {
    server.stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  HttpReply get(const std::string& target) const { return http_get(http_port, target); }
  json get_json(const std::string& target) const {
    HttpReply r = get(target);
    INFO(target << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    CHECK(r.content_type == "application/json");
    json j = r.j();
    REQUIRE(j.is_object());
    return j;
  }
};

// Two named clients: alpha (SUB bar) and beta (SUB x.1, SUB x.2) which publishes 10 messages to
// bar, all read by alpha: 3 subscriptions, 10 in, 10 out.
struct CoreState {
  RawClient alpha, beta;
  explicit CoreState(const Monitored& m) {
    REQUIRE(alpha.handshake(m.server.port(), connect_json("alpha")));
    REQUIRE(beta.handshake(m.server.port(), connect_json("beta")));
    REQUIRE(alpha.send("SUB bar 1\r\n"));
    sync(alpha);
    REQUIRE(beta.send("SUB x.1 1\r\nSUB x.2 2\r\n"));
    std::string pubs;
    for (int i = 0; i < 10; ++i) pubs += "PUB bar 5\r\nhello\r\n";
    REQUIRE(beta.send(pubs));
    sync(beta);
    for (int i = 0; i < 10; ++i) REQUIRE(alpha.read_msg());
    sync(alpha);
  }
};

std::vector<std::string> names(const json& connz) {
  std::vector<std::string> out;
  for (const auto& c : connz["connections"]) out.push_back(c.value("name", ""));
  return out;
}

std::set<std::string> keys(const json& j) {
  std::set<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.insert(it.key());
  return out;
}

}  // namespace

TEST_CASE("monitor: /varz counts what clients did", "[monitor]") {
  Monitored m;
  json base = m.get_json("/varz");
  CoreState st(m);
  json v = m.get_json("/varz");
  CHECK(v["server_id"].is_string());
  CHECK(v["port"] == m.server.port());
  CHECK(v["http_port"] == m.http_port);
  CHECK(v["max_payload"] == 1048576);
  CHECK(v["max_connections"] == 65536);
  CHECK(v["ping_interval"] == 120000000000LL);
  CHECK(v["connections"] == 2);
  CHECK(v["total_connections"].get<int>() - base["total_connections"].get<int>() == 2);
  CHECK(v["subscriptions"].get<int>() - base["subscriptions"].get<int>() == 3);
  CHECK(v["in_msgs"] == 10);
  CHECK(v["out_msgs"] == 10);
  CHECK(v["in_bytes"] == 50);
  CHECK(v["out_bytes"] == 50);
  CHECK(v["slow_consumers"] == 0);
  CHECK(v["http_req_stats"]["/varz"] == 2);
  CHECK(v["jetstream"]["config"]["store_dir"] == m.dir + "/jetstream");
  CHECK(v["jetstream"]["stats"]["accounts"] == 1);
  CHECK(v["uptime"].get<std::string>().ends_with("s"));
}

TEST_CASE("monitor: /connz lists, sorts and pages connections", "[monitor]") {
  Monitored m;
  CoreState st(m);
  json c = m.get_json("/connz");
  CHECK(c["num_connections"] == 2);
  CHECK(c["total"] == 2);
  CHECK(c["offset"] == 0);
  CHECK(c["limit"] == 1024);
  REQUIRE(names(c) == std::vector<std::string>{"alpha", "beta"});  // by cid
  const json& a = c["connections"][0];
  const json& b = c["connections"][1];
  CHECK(a["kind"] == "Client");
  CHECK(a["type"] == "nats");
  CHECK(a["ip"] == "127.0.0.1");
  CHECK(a["lang"] == "raw");
  CHECK(a["version"] == "9.9.9");
  CHECK(a["subscriptions"] == 1);
  CHECK(b["subscriptions"] == 2);
  CHECK(a["out_msgs"] == 10);
  CHECK(a["in_msgs"] == 0);
  CHECK(b["in_msgs"] == 10);
  CHECK(b["in_bytes"] == 50);
  CHECK(a["pending_bytes"].is_number());  // nats-server may hold an RTT PING that /connz itself triggered
  CHECK_FALSE(a.contains("subscriptions_list"));

  CHECK(names(m.get_json("/connz?sort=subs")) == std::vector<std::string>{"beta", "alpha"});
  CHECK(names(m.get_json("/connz?sort=msgs_from")) == std::vector<std::string>{"beta", "alpha"});
  CHECK(names(m.get_json("/connz?sort=msgs_to")) == std::vector<std::string>{"alpha", "beta"});

  json page = m.get_json("/connz?limit=1&offset=1");
  CHECK(page["num_connections"] == 1);
  CHECK(page["total"] == 2);
  CHECK(page["offset"] == 1);
  CHECK(page["limit"] == 1);
  CHECK(names(page) == std::vector<std::string>{"beta"});

  json by_cid = m.get_json("/connz?cid=" + std::to_string(b["cid"].get<uint64_t>()));
  CHECK(names(by_cid) == std::vector<std::string>{"beta"});

  json subs = m.get_json("/connz?subs=1");
  CHECK(subs["connections"][0]["subscriptions_list"] == json::array({"bar"}));
  std::set<std::string> beta_subs;
  for (const auto& s : subs["connections"][1]["subscriptions_list"]) beta_subs.insert(s.get<std::string>());
  CHECK(beta_subs == std::set<std::string>{"x.1", "x.2"});

  json detail = m.get_json("/connz?subs=detail");
  const json& d = detail["connections"][0]["subscriptions_list_detail"][0];
  CHECK(d["subject"] == "bar");
  CHECK(d["sid"] == "1");
  CHECK(d["msgs"] == 10);
  CHECK(d["cid"] == a["cid"]);

  HttpReply bad = m.get("/connz?sort=sideways");
  CHECK(bad.status == 400);
  CHECK(bad.body == "invalid sorting option: sideways");
  CHECK(m.get("/connz?sort=stop").status == 400);  // only for closed connections
  CHECK(m.get("/connz?offset=x").status == 400);
}

TEST_CASE("monitor: /subsz counts and lists subscriptions", "[monitor]") {
  Monitored m;
  json base = m.get_json("/subsz");
  CoreState st(m);
  json s = m.get_json("/subsz");
  CHECK(s["num_subscriptions"].get<int>() - base["num_subscriptions"].get<int>() == 3);
  CHECK(s["num_inserts"].get<int>() - base["num_inserts"].get<int>() == 3);
  // nats-server's clients keep their own match cache, so only "more than before" is common ground.
  CHECK(s["num_matches"].get<int>() > base["num_matches"].get<int>());
  CHECK(s.contains("cache_hit_rate"));
  CHECK(s.contains("max_fanout"));

  json l = m.get_json("/subsz?subs=1&test=bar");
  CHECK(l["total"] == 1);
  REQUIRE(l["subscriptions_list"].size() == 1);
  CHECK(l["subscriptions_list"][0]["subject"] == "bar");
  CHECK(l["subscriptions_list"][0]["msgs"] == 10);
  CHECK(l["subscriptions_list"][0]["account"] == "$G");

  json xs = m.get_json("/subsz?subs=1&test=x.2");
  REQUIRE(xs["subscriptions_list"].size() == 1);
  CHECK(xs["subscriptions_list"][0]["sid"] == "2");

  CHECK(m.get("/subsz?subs=1&test=x.*").status == 400);
}

TEST_CASE("monitor: /jsz reports streams and consumers", "[monitor][jetstream]") {
  Monitored m;
  RawClient c;
  REQUIRE(c.handshake(m.server.port()));
  REQUIRE(c.send("SUB _INBOX.m.* 1\r\n"));
  int n = 0;
  auto request = [&](const std::string& subject, const std::string& body) {
    std::string reply = "_INBOX.m." + std::to_string(++n);
    REQUIRE(c.send("PUB " + subject + " " + reply + " " + std::to_string(body.size()) + "\r\n" + body + "\r\n"));
    auto msg = c.read_msg(5s);
    REQUIRE(msg);
    return json::parse(msg->payload, nullptr, false);
  };
  REQUIRE_FALSE(request("$JS.API.STREAM.CREATE.ORDERS", R"({"name":"ORDERS","subjects":["orders.>"]})").contains("error"));
  for (int i = 0; i < 5; ++i) CHECK(request("orders.new", "order")["seq"] == i + 1);
  REQUIRE_FALSE(request("$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.worker",
                        R"({"stream_name":"ORDERS","config":{"durable_name":"worker","ack_policy":"explicit"}})")
                    .contains("error"));
  // Pull 2 and ack neither.
  REQUIRE(c.send("SUB _INBOX.pull 2\r\nPUB $JS.API.CONSUMER.MSG.NEXT.ORDERS.worker _INBOX.pull 1\r\n2\r\n"));
  REQUIRE(c.read_msg(5s));
  REQUIRE(c.read_msg(5s));
  sync(c);

  json j = m.get_json("/jsz");
  CHECK(j["streams"] == 1);
  CHECK(j["consumers"] == 1);
  CHECK(j["messages"] == 5);
  CHECK(j["bytes"].get<uint64_t>() > 0);
  CHECK(j["accounts"] == 1);
  CHECK(j["config"]["store_dir"] == m.dir + "/jetstream");
  CHECK_FALSE(j.contains("account_details"));

  json d = m.get_json("/jsz?streams=1&consumers=1");
  REQUIRE(d["account_details"].size() == 1);
  const json& acc = d["account_details"][0];
  CHECK(acc["name"] == "$G");
  CHECK(acc["id"] == "$G");
  REQUIRE(acc["stream_detail"].size() == 1);
  const json& s = acc["stream_detail"][0];
  CHECK(s["name"] == "ORDERS");
  CHECK_FALSE(s.contains("config"));
  CHECK(s["state"]["messages"] == 5);
  CHECK(s["state"]["bytes"] == j["bytes"]);
  CHECK(s["state"]["first_seq"] == 1);
  CHECK(s["state"]["last_seq"] == 5);
  CHECK(s["state"]["num_subjects"] == 1);
  CHECK(s["state"]["consumer_count"] == 1);
  REQUIRE(s["consumer_detail"].size() == 1);
  const json& k = s["consumer_detail"][0];
  CHECK(k["stream_name"] == "ORDERS");
  CHECK(k["name"] == "worker");
  CHECK_FALSE(k.contains("config"));
  CHECK(k["delivered"]["consumer_seq"] == 2);
  CHECK(k["delivered"]["stream_seq"] == 2);
  CHECK(k["ack_floor"]["consumer_seq"] == 0);
  CHECK(k["ack_floor"]["stream_seq"] == 0);
  CHECK(k["num_ack_pending"] == 2);
  CHECK(k["num_redelivered"] == 0);
  CHECK(k["num_waiting"] == 0);
  CHECK(k["num_pending"] == 3);

  json cfg = m.get_json("/jsz?consumers=1&config=1");
  const json& sc = cfg["account_details"][0]["stream_detail"][0];
  CHECK(sc["config"]["name"] == "ORDERS");
  CHECK(sc["config"]["subjects"] == json::array({"orders.>"}));
  CHECK(sc["consumer_detail"][0]["config"]["durable_name"] == "worker");
  CHECK(sc["consumer_detail"][0]["config"]["ack_policy"] == "explicit");

  json accounts = m.get_json("/jsz?accounts=1");
  REQUIRE(accounts["account_details"].size() == 1);
  CHECK_FALSE(accounts["account_details"][0].contains("stream_detail"));
}

TEST_CASE("monitor: /healthz, unknown paths, content types", "[monitor]") {
  Monitored m;
  HttpReply h = m.get("/healthz");
  CHECK(h.status == 200);
  CHECK(h.content_type == "application/json");
  CHECK(h.j() == json{{"status", "ok"}});
  CHECK(m.get("/healthz?js-enabled-only=true").j() == json{{"status", "ok"}});
  CHECK(m.get("/healthz?js-enabled-only=maybe").status == 400);
  CHECK(m.get("/nope").status == 404);
  CHECK(m.get("/varzz").status == 404);
  HttpReply jsonp = m.get("/varz?callback=cb");
  CHECK(jsonp.content_type == "application/javascript");
  CHECK(jsonp.body.starts_with("cb({"));
}

TEST_CASE("monitor: the config file's http: host:port starts the monitor", "[monitor]") {
  int port = free_port();
  std::string conf = write_temp_file("http: \"127.0.0.1:" + std::to_string(port) + "\"\n");
  ServerProcess s;
  REQUIRE(s.start({"-c", conf}));
  HttpReply r = http_get(port, "/varz");
  REQUIRE(r.status == 200);
  json v = r.j();
  CHECK(v["http_host"] == "127.0.0.1");
  CHECK(v["http_port"] == port);
  CHECK_FALSE(v["jetstream"].contains("config"));  // no -js: "jetstream": {}
  json j = http_get(port, "/jsz").j();
  CHECK(j["disabled"] == true);
  CHECK(j["streams"] == 0);
  ::unlink(conf.c_str());
}

// ---- Tern only ---------------------------------------------------------------------------

TEST_CASE("monitor: Tern's /varz and /connz keys are a subset of nats-server's", "[monitor]") {
  if (!is_tern()) {
    SUCCEED("starts both servers itself; runs in the tern pass");
    return;
  }
  auto collect = [](ServerProcess& server, int http_port, json& varz, json& connz) {
    RawClient c;
    REQUIRE(c.handshake(server.port(), connect_json("keys")));
    REQUIRE(c.send("SUB a 1\r\nSUB b 2\r\n"));
    sync(c);
    varz = http_get(http_port, "/varz").j();
    connz = http_get(http_port, "/connz?subs=detail").j();
    REQUIRE(varz.is_object());
    REQUIRE(connz["connections"].size() == 1);
  };
  Monitored tern;
  json tv, tc;
  collect(tern.server, tern.http_port, tv, tc);

  // The same with the reference server: ServerProcess runs $TERN_TEST_SERVER.
  std::string saved = server_binary();
  ::setenv("TERN_TEST_SERVER", "/usr/sbin/nats-server", 1);
  std::string dir = fresh_dir();
  int nats_http = free_port();
  ServerProcess nats;
  bool started = nats.start({"-js", "-sd", dir, "-m", std::to_string(nats_http)});
  ::setenv("TERN_TEST_SERVER", saved.c_str(), 1);
  REQUIRE(started);
  json nv, nc;
  collect(nats, nats_http, nv, nc);
  nats.stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  auto subset = [](const json& t, const json& n) {
    for (const std::string& k : keys(t)) {
      INFO("key " << k);
      CHECK(n.contains(k));
    }
  };
  subset(tv, nv);
  subset(tv["jetstream"], nv["jetstream"]);
  subset(tv["jetstream"]["config"], nv["jetstream"]["config"]);
  subset(tv["jetstream"]["stats"], nv["jetstream"]["stats"]);
  subset(tc, nc);
  subset(tc["connections"][0], nc["connections"][0]);
  subset(tc["connections"][0]["subscriptions_list_detail"][0], nc["connections"][0]["subscriptions_list_detail"][0]);
}

namespace {

// The value of the first sample line that starts with `series` (name plus labels).
std::optional<double> metric(const std::string& text, const std::string& series) {
  size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      size_t eol = text.find('\n', pos);
      return std::stod(text.substr(pos + series.size() + 1, eol - pos - series.size() - 1));
    }
    ++pos;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("monitor: /metrics follows publishes, streams and fsyncs (Tern)", "[monitor][metrics]") {
  if (!is_tern()) {
    SUCCEED("/metrics is Tern's extension");
    return;
  }
  Monitored m;
  HttpReply before = m.get("/metrics");
  REQUIRE(before.status == 200);
  CHECK(before.content_type == "text/plain; version=0.0.4");
  CHECK(before.body.find("# TYPE tern_in_msgs_total counter\n") != std::string::npos);
  CHECK(before.body.find("# TYPE tern_storage_sync_seconds histogram\n") != std::string::npos);
  double in0 = metric(before.body, "tern_in_msgs_total").value_or(-1);
  REQUIRE(in0 >= 0);

  RawClient c;
  REQUIRE(c.handshake(m.server.port()));
  REQUIRE(c.send("SUB _INBOX.m.* 1\r\n"));
  const std::string body = R"({"name":"METRICS","subjects":["m.>"]})";  // label escaping: unit-tested
  REQUIRE(c.send("PUB $JS.API.STREAM.CREATE.METRICS _INBOX.m.1 " + std::to_string(body.size()) + "\r\n" + body + "\r\n"));
  REQUIRE(c.read_msg(5s));
  // Durable publishes: each ack waits for an fsync on the Syncer thread.
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.send("PUB m.x _INBOX.m.2 2\r\nhi\r\n"));
    auto ack = c.read_msg(5s);
    REQUIRE(ack);
    CHECK(ack->payload.find("\"seq\":" + std::to_string(i + 1)) != std::string::npos);
  }

  std::string after = m.get("/metrics").body;
  CHECK(metric(after, "tern_in_msgs_total").value_or(0) >= in0 + 4);
  CHECK(metric(after, "tern_stream_messages{stream=\"METRICS\"}") == 3);
  CHECK(metric(after, "tern_stream_last_seq{stream=\"METRICS\"}") == 3);
  CHECK(metric(after, "tern_stream_consumers{stream=\"METRICS\"}") == 0);
  CHECK(metric(after, "tern_storage_sync_seconds_count").value_or(0) > 0);
  CHECK(metric(after, "tern_storage_sync_seconds_bucket{le=\"+Inf\"}") ==
        metric(after, "tern_storage_sync_seconds_count"));
  CHECK(metric(after, "tern_connections") == 1);
}

TEST_CASE("monitor: answers while a slow subscriber fills up (Tern)", "[monitor]") {
  if (!is_tern()) {
    SUCCEED("Tern's loop-snapshot design under load");
    return;
  }
  Monitored m;
  RawClient slow, pub;
  REQUIRE(slow.handshake(m.server.port(), connect_json("slow")));
  REQUIRE(slow.send("SUB big 1\r\n"));
  sync(slow);
  REQUIRE(pub.handshake(m.server.port(), connect_json("pub")));
  // 16 MB to a reader that never reads: far past the socket buffers, well under max_pending.
  std::string payload(64 * 1024, 'x');
  std::string one = "PUB big " + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
  for (int i = 0; i < 256; ++i) REQUIRE(pub.send(one));
  sync(pub);

  auto t0 = std::chrono::steady_clock::now();
  json c = m.get_json("/connz?sort=pending");
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  REQUIRE(c["connections"].size() == 2);
  CHECK(c["connections"][0]["name"] == "slow");
  CHECK(c["connections"][0]["pending_bytes"].get<uint64_t>() > 0);
  CHECK(c["connections"][0]["out_msgs"] == 256);
  CHECK(m.get_json("/varz")["slow_consumers"] == 0);
  CHECK(m.get("/healthz").status == 200);
}

TEST_CASE("monitor: the loop keeps serving while /connz is hammered (Tern)", "[monitor]") {
  if (!is_tern()) {
    SUCCEED("Tern's loop-snapshot design under load");
    return;
  }
  Monitored m;
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 50; ++i) {
    idle.push_back(std::make_unique<RawClient>());
    REQUIRE(idle.back()->handshake(m.server.port(), connect_json("idle" + std::to_string(i))));
    REQUIRE(idle.back()->send("SUB idle." + std::to_string(i) + " 1\r\n"));
  }
  RawClient c;
  REQUIRE(c.handshake(m.server.port()));
  REQUIRE(c.send("SUB echo 1\r\n"));
  sync(c);

  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread hammer([&] {
    while (!done) {
      HttpReply r = http_get(m.http_port, "/connz?subs=1");
      (r.status == 200 && r.j()["total"] == 51 ? ok : failed)++;
    }
  });
  int round_trips = 0;
  for (int i = 0; i < 200; ++i) {
    REQUIRE(c.send("PUB echo 2\r\nhi\r\n"));
    if (c.read_msg(2s)) ++round_trips;
  }
  done = true;
  hammer.join();
  CHECK(round_trips == 200);
  CHECK(ok > 0);
  CHECK(failed == 0);
}
