#include "tests/support/protocol_helpers.h"

#include <catch2/catch.hpp>

namespace tern::test {

void connect(RawClient& c, const ServerProcess& s, const std::string& json) { REQUIRE(c.handshake(s.port(), json)); }

std::string next_line(RawClient& c, std::chrono::milliseconds timeout) {
  return c.read_line(timeout).value_or("<none>");
}

Lines until_pong(RawClient& c, std::chrono::milliseconds timeout) {
  Lines out;
  if (!c.send("PING\r\n")) return {"<send failed>"};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto line = c.read_line(left < 1ms ? 1ms : left);
    if (!line) {
      out.push_back("<none>");
      return out;
    }
    if (*line == "PONG") return out;
    out.push_back(*line);
  }
}

std::string output_until_close(RawClient& c, std::chrono::milliseconds timeout) {
  if (!c.wait_closed(timeout)) return "<still open> " + c.drain(1ms);
  return c.drain(1ms);
}

std::string output_until_close_after_info(const ServerProcess& s, const std::string& bytes) {
  RawClient c;
  REQUIRE(c.connect_and_read_info(s.port()));
  REQUIRE(c.send(bytes));
  return output_until_close(c);
}

std::string output_until_close_after_connect(const ServerProcess& s, const std::string& bytes,
                                             const std::string& json) {
  RawClient c;
  connect(c, s, json);
  REQUIRE(c.send(bytes));
  return output_until_close(c);
}

std::vector<std::string> with_config(const std::string& text) { return {"-c", write_temp_file(text)}; }

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace tern::test
