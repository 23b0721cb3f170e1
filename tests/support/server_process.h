#pragma once
// Starts a real server binary on a free loopback port for a test, and stops it by PID.
//
// Which server runs is chosen by the environment, so one test binary proves both Tern
// and its reference: TERN_TEST_SERVER is the binary's path (default: the tern-server
// built beside the tests), TERN_TEST_SERVER_KIND is "tern" or "nats".

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace tern::test {

enum class ServerKind { Tern, Nats };

// The server under test, from the environment.
ServerKind server_kind();
std::string server_binary();
bool is_tern();

// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
int free_port();

// Writes `text` to a fresh temp file and returns its path (removed by the test's tmp dir cleanup).
std::string write_temp_file(const std::string& text, const std::string& suffix = ".conf");

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server with `-a 127.0.0.1 -p <free port>` plus `args`, and waits until it
  // accepts connections. Returns false (and keeps the log) if it did not come up.
  bool start(const std::vector<std::string>& args = {}, std::chrono::milliseconds wait = std::chrono::seconds(10));
  // Runs the binary with exactly `args` (no -a/-p added); used for config-error tests.
  // Returns the exit code, and fills `output` with stdout+stderr.
  static int run_to_exit(const std::vector<std::string>& args, std::string& output,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Sets `name`=`value` in the environment of the servers start() launches from now on (the
  // test's own environment is left alone). An empty value unsets it for the server.
  void set_env(const std::string& name, const std::string& value);

  // SIGTERM, then SIGKILL after `grace`. Returns the exit status as waitpid reported it.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  void kill9();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // Everything the server wrote to stdout and stderr so far.
  std::string log() const;
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
  std::vector<std::pair<std::string, std::string>> env_;  // applied in the child before exec
};

}  // namespace tern::test
