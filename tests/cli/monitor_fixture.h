#pragma once
// A server with its HTTP monitoring port, for the tests of `tern server info|report`, which
// read /varz, /connz and /jsz.

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/protocol_helpers.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

namespace tern::test {

// True when something accepts connections on 127.0.0.1:`port`.
inline bool port_open(int port) {
  RawClient probe;
  return probe.connect(port);
}

// A server with JetStream (unless told otherwise) on a fresh store dir and its monitoring port
// on a free port.
struct MonitoredServer {
  std::string dir;
  int monitor_port = free_port();
  ServerProcess server;

  explicit MonitoredServer(bool jetstream = true) {
    char tmpl[] = "/tmp/tern-cli-mon-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    std::vector<std::string> args{"-m", std::to_string(monitor_port)};
    if (jetstream) args.insert(args.end(), {"-js", "-sd", dir});
    REQUIRE(server.start(args));
    // The client port is up; the HTTP listener may come a moment later.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!port_open(monitor_port)) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~MonitoredServer() {
    server.stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string monitor() const { return "http://127.0.0.1:" + std::to_string(monitor_port); }
};

}  // namespace tern::test
