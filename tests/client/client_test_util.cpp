#include "tests/client/client_test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

namespace tern::test {

Options fast_options(const std::string& url) {
  Options o;
  o.url = url;
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.reconnect_wait = std::chrono::milliseconds(20);
  o.reconnect_wait_max = std::chrono::milliseconds(100);
  o.reconnect_jitter = std::chrono::milliseconds(10);
  return o;
}

std::unique_ptr<Connection> connect_or_fail(const std::string& url, Options opts) {
  opts.url = url;
  auto c = Connection::connect(std::move(opts));
  INFO("connect to " << url << ": " << (c ? std::string("ok") : c.status().message()));
  REQUIRE(c.is_ok());
  return std::move(*c);
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
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

}  // namespace

JetStreamServer::JetStreamServer(std::vector<std::string> extra_args) {
  char tmpl[] = "/tmp/tern-client-js-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  REQUIRE(d != nullptr);
  dir_ = d;
  std::vector<std::string> args{"-js", "-sd", dir_};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  bool started = server_.start(args);
  INFO("server log:\n" << server_.log());
  REQUIRE(started);
}

JetStreamServer::~JetStreamServer() {
  server_.stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

FixedPortServer::~FixedPortServer() { stop(); }

bool FixedPortServer::start(std::chrono::milliseconds wait) {
  std::vector<std::string> argv{server_binary(), "-a", "127.0.0.1", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args_.begin(), args_.end());
  auto deadline = std::chrono::steady_clock::now() + wait;
  // The port was just released by the previous server; retry if the bind races.
  while (std::chrono::steady_clock::now() < deadline) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int devnull = ::open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
      }
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;  // exited (bind failed?): try again
      }
      if (can_connect(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return false;
}

void FixedPortServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void FixedPortServer::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace tern::test
