#pragma once
// The server's HTTP monitoring port (nats-server's -m: /varz, /connz, /jsz, ...), as `tern server
// info` and `tern server report` read it. Tern serves the same endpoints with nats-server
// 2.9's field names, so one reader works for both.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/common.h"

namespace tern::cli {

// Where the monitor is: `flag` (--monitor URL) when set, else $TERN_MONITOR_URL, else
// http://<host of the first -s/NATS_URL server>:8222 (nats-server's customary port).
std::string monitor_url(const std::string& flag, const GlobalOptions& global);

// One endpoint's answer: parsed, and as the server sent it (what --json prints).
struct MonitorDoc {
  nlohmann::json json;
  std::string body;
};

class MonitorClient {
 public:
  // `base_url`: "http://host:port" (a trailing '/' is ignored). `timeout` bounds the connect
  // and each read.
  MonitorClient(std::string base_url, std::chrono::milliseconds timeout);

  // GETs `path` ("/varz", "/connz?subs=1") and parses the answer, a JSON object. The error
  // is ready to print after "<command>: ": "cannot reach the monitoring endpoint <url>: <why>
  // (is the server started with -m <port>?)", or what the endpoint answered instead.
  Result<MonitorDoc> get(const std::string& path) const;

  // The URL `path` resolves to, as messages show it.
  std::string url(const std::string& path) const { return base_ + path; }

 private:
  std::string base_;  // "http://host:port", no trailing '/'
  std::chrono::milliseconds timeout_;
};

}  // namespace tern::cli
