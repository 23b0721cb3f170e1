#pragma once
// A blocking TCP client for speaking raw protocol lines to a server in tests.
// Every read has a timeout, so a test that waits for something that never comes fails
// instead of hanging.

#include <chrono>
#include <optional>
#include <string>

namespace tern::test {

using namespace std::chrono_literals;

class RawClient {
 public:
  RawClient() = default;
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Connects to 127.0.0.1:port. Does not read the INFO line.
  bool connect(int port);
  // Connects and reads the INFO line into `info` (the JSON part).
  bool connect_and_read_info(int port, std::string* info = nullptr);
  // connect_and_read_info + "CONNECT <json>\r\nPING\r\n", then expects PONG (after +OK if verbose).
  bool handshake(int port, const std::string& connect_json = R"({"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1})");

  bool send(const std::string& bytes);

  // Next line without its CRLF, or nullopt on timeout/close. When auto_pong is on (the
  // default), server PINGs are answered and skipped, since nats-server pings every new
  // client about 2 s after CONNECT.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 2s);
  // Exactly n bytes, or nullopt.
  std::optional<std::string> read_bytes(size_t n, std::chrono::milliseconds timeout = 2s);
  // A MSG/HMSG line and its payload as one string "line\npayload" (convenience for asserts).
  struct Msg {
    std::string subject, sid, reply, headers, payload;
    bool has_headers = false;
  };
  std::optional<Msg> read_msg(std::chrono::milliseconds timeout = 2s);

  // True if the server closes the connection within `timeout` (draining anything it sends).
  bool wait_closed(std::chrono::milliseconds timeout = 2s);
  // Everything received until `quiet` passes with nothing new.
  std::string drain(std::chrono::milliseconds quiet = 200ms);

  void set_auto_pong(bool on) { auto_pong_ = on; }
  void close();
  int fd() const { return fd_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  bool auto_pong_ = true;
  bool eof_ = false;
  std::string buf_;
};

}  // namespace tern::test
