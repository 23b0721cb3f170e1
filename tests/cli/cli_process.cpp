#include "tests/cli/cli_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef TERN_CLI_PATH
#error "TERN_CLI_PATH must name the tern binary"
#endif

namespace tern::test {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool wait_for_text(const std::string& path, const std::string& text, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (slurp(path).find(text) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

CliProcess::CliProcess() {
  char tmpl[] = "/tmp/tern-cli-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
}

CliProcess::~CliProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void CliProcess::start(const std::vector<std::string>& args, const std::string& input,
                       const std::vector<std::string>& env) {
  const std::string in_path = dir_ + "/stdin";
  {
    std::ofstream in(in_path, std::ios::binary);
    in << input;
  }
  const std::string out_path = dir_ + "/stdout";
  const std::string err_path = dir_ + "/stderr";
  std::vector<std::string> argv_store = {"tern"};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int in = ::open(in_path.c_str(), O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::unsetenv("NATS_URL");
    for (const std::string& e : env) {
      size_t eq = e.find('=');
      ::setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
    }
    ::execv(TERN_CLI_PATH, argv.data());
    ::_exit(127);
  }
}

bool CliProcess::wait_err(const std::string& text, std::chrono::milliseconds timeout) {
  return wait_for_text(dir_ + "/stderr", text, timeout);
}

bool CliProcess::wait_out(const std::string& text, std::chrono::milliseconds timeout) {
  return wait_for_text(dir_ + "/stdout", text, timeout);
}

void CliProcess::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

CliResult CliProcess::wait(std::chrono::milliseconds timeout) {
  CliResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      r.exit_code = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  pid_ = -1;
  r.out = out();
  r.err = err();
  return r;
}

std::string CliProcess::out() const { return slurp(dir_ + "/stdout"); }
std::string CliProcess::err() const { return slurp(dir_ + "/stderr"); }

CliResult run_cli(const std::vector<std::string>& args, const std::string& input, std::chrono::milliseconds timeout,
                  const std::vector<std::string>& env) {
  CliProcess p;
  p.start(args, input, env);
  return p.wait(timeout);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace tern::test
