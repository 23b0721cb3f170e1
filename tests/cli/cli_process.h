#pragma once
// Runs the `tern` binary (TERN_CLI_PATH) as a child process for a test: stdin from a given
// string, stdout and stderr captured in files (so a long-running `tern sub` can be read
// while it runs), a timeout after which it is killed, and its exit code.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace tern::test {

struct CliResult {
  int exit_code = -1;  // the exit status, or 128+signal when a signal ended it, -1 on timeout
  std::string out;
  std::string err;
};

class CliProcess {
 public:
  CliProcess();
  ~CliProcess();  // kills (SIGKILL) a process still running and removes the capture files
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  // Starts `tern args...`; `input` is its whole stdin. `env` entries ("K=V") are added to
  // the environment; NATS_URL is removed unless given there.
  void start(const std::vector<std::string>& args, const std::string& input = "",
             const std::vector<std::string>& env = {});
  // Waits until stderr (or stdout) contains `text`; false on timeout.
  bool wait_err(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(3));
  bool wait_out(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(3));
  void signal(int sig);
  // Waits for the exit (SIGKILL after `timeout`, then exit_code is -1) and returns the result.
  CliResult wait(std::chrono::milliseconds timeout = std::chrono::seconds(4));

  std::string out() const;
  std::string err() const;

 private:
  pid_t pid_ = -1;
  std::string dir_;
};

// Runs `tern args...` to completion.
CliResult run_cli(const std::vector<std::string>& args, const std::string& input = "",
                  std::chrono::milliseconds timeout = std::chrono::seconds(4),
                  const std::vector<std::string>& env = {});

// The lines of `text`, without their '\n'.
std::vector<std::string> lines(const std::string& text);

}  // namespace tern::test
