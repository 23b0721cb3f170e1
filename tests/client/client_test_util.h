#pragma once
// Helpers for the libtern tests: a server for each test case, connecting with short
// timeouts, waiting for events without fixed sleeps, and a server on a fixed port (to
// restart "the same" server for reconnect tests; tests/support picks a new port each start).

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tern/client.h"
#include "tests/support/server_process.h"

namespace tern::test {

// Options that fail fast: short connect timeout and reconnect waits.
Options fast_options(const std::string& url);

// Connects or fails the test (REQUIREs success).
std::unique_ptr<Connection> connect_or_fail(const std::string& url, Options opts);
inline std::unique_ptr<Connection> connect_or_fail(const std::string& url) {
  return connect_or_fail(url, fast_options(url));
}

// A predicate others may wait on: notify() after changing what the predicate reads.
class Signal {
 public:
  template <class Fn>
  void update(Fn&& fn) {
    {
      std::lock_guard lock(mu_);
      fn();
    }
    cv_.notify_all();
  }
  // Waits until pred() (called under the lock) holds; false on timeout.
  bool wait(std::function<bool()> pred, std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, pred);
  }
  std::mutex& mutex() { return mu_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

// Polls pred() every millisecond until it holds (for state owned by libtern, which has no
// condition variable of ours to wait on); false on timeout.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = std::chrono::seconds(3));

// Collects the messages a subscription callback receives.
struct Inbox {
  Signal signal;
  std::vector<Msg> msgs;
  MsgHandler handler() {
    return [this](Msg& m) { signal.update([&] { msgs.push_back(std::move(m)); }); };
  }
  bool wait_for(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
    return signal.wait([&] { return msgs.size() >= n; }, timeout);
  }
  size_t size() {
    std::lock_guard lock(signal.mutex());
    return msgs.size();
  }
};

// A server (tern or nats, from the environment) with JetStream on (-js) over a fresh store dir
// (-sd), removed when the object goes. The constructor REQUIREs that the server came up.
class JetStreamServer {
 public:
  explicit JetStreamServer(std::vector<std::string> extra_args = {});
  ~JetStreamServer();
  JetStreamServer(const JetStreamServer&) = delete;
  JetStreamServer& operator=(const JetStreamServer&) = delete;
  std::string url() const { return server_.url(); }
  ServerProcess& process() { return server_; }
  const std::string& store_dir() const { return dir_; }

 private:
  std::string dir_;
  ServerProcess server_;
};

// A server process on a port chosen by the test; start() may be called again after
// stop()/kill9() with the same port.
class FixedPortServer {
 public:
  explicit FixedPortServer(int port, std::vector<std::string> extra_args = {})
      : port_(port), args_(std::move(extra_args)) {}
  ~FixedPortServer();
  bool start(std::chrono::milliseconds wait = std::chrono::seconds(5));
  void stop();   // SIGTERM, waits
  void kill9();  // SIGKILL, waits
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
};

}  // namespace tern::test
