#include "tests/support/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <stdexcept>
#include <thread>

#ifndef TERN_SERVER_PATH
#define TERN_SERVER_PATH "tern-server"
#endif

namespace tern::test {

ServerKind server_kind() {
  const char* k = std::getenv("TERN_TEST_SERVER_KIND");
  return (k && std::string(k) == "nats") ? ServerKind::Nats : ServerKind::Tern;
}

bool is_tern() { return server_kind() == ServerKind::Tern; }

std::string server_binary() {
  if (const char* p = std::getenv("TERN_TEST_SERVER")) return p;
  return server_kind() == ServerKind::Nats ? "/usr/sbin/nats-server" : TERN_SERVER_PATH;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("free_port: bind failed");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string write_temp_file(const std::string& text, const std::string& suffix) {
  std::string tmpl = "/tmp/tern-test-XXXXXX" + suffix;
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemps(buf.data(), static_cast<int>(suffix.size()));
  if (fd < 0) throw std::runtime_error("write_temp_file: mkstemps failed");
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  return std::string(buf.data());
}

namespace {

bool can_connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path,
            const std::vector<std::pair<std::string, std::string>>& env = {}) {
  // The child's environment is built before fork: only async-signal-safe calls after it.
  std::vector<std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string_view var(*e);
    bool overridden = false;
    for (const auto& [name, value] : env) overridden = overridden || var.substr(0, var.find('=')) == name;
    if (!overridden) vars.emplace_back(var);
  }
  for (const auto& [name, value] : env) {
    if (!value.empty()) vars.push_back(name + "=" + value);
  }
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

ServerProcess::~ServerProcess() {
  if (running()) stop(std::chrono::seconds(3));
  if (!log_path_.empty()) ::unlink(log_path_.c_str());
}

bool ServerProcess::start(const std::vector<std::string>& args, std::chrono::milliseconds wait) {
  port_ = free_port();
  if (log_path_.empty()) log_path_ = write_temp_file("", ".log");
  std::vector<std::string> argv{server_binary(), "-a", "127.0.0.1", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = spawn(argv, log_path_, env_);
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    if (can_connect(port_)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int ServerProcess::run_to_exit(const std::vector<std::string>& args, std::string& output,
                               std::chrono::milliseconds timeout) {
  std::string log = write_temp_file("", ".log");
  std::vector<std::string> argv{server_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = spawn(argv, log);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      output = read_file(log);
      ::unlink(log.c_str());
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  output = read_file(log);
  ::unlink(log.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int ServerProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  for (;;) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return status;
}

void ServerProcess::kill9() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void ServerProcess::set_env(const std::string& name, const std::string& value) {
  for (auto& [n, v] : env_) {
    if (n == name) {
      v = value;
      return;
    }
  }
  env_.emplace_back(name, value);
}

std::string ServerProcess::log() const { return log_path_.empty() ? "" : read_file(log_path_); }

}  // namespace tern::test
