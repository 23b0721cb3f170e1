#pragma once
// Catch2 helpers for the raw-protocol integration tests: they turn what a RawClient reads into
// values a CHECK can compare and print ("<none>" instead of an empty optional), and REQUIRE
// the steps a test cannot go on without.

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/raw_client.h"
#include "tests/support/server_process.h"

namespace tern::test {

using Lines = std::vector<std::string>;

// CONNECT options of a plain client: no +OK acks, no pedantic checks, no headers.
inline constexpr const char* kQuiet = R"({"verbose":false,"pedantic":false,"protocol":1})";

// Handshakes `c` with `s` ("CONNECT <json>" and a PING answered by PONG) and REQUIREs that it
// worked: the next bytes from the server are its reaction to whatever the test sends next.
void connect(RawClient& c, const ServerProcess& s, const std::string& json = kQuiet);

// The next line, or "<none>" when nothing came in time, so a failed CHECK prints something readable.
std::string next_line(RawClient& c, std::chrono::milliseconds timeout = 2s);

// Sends PING and returns every line received before the PONG. The server answers a PING only
// after it has processed everything sent before it on this connection, so this is the whole
// reaction to that input. A trailing "<none>" means the PONG never came; "<send failed>" that
// the PING could not be sent.
Lines until_pong(RawClient& c, std::chrono::milliseconds timeout = 3s);

// Waits for the server to close the connection and returns the raw bytes it sent (and that
// were not read yet) before closing. A result starting "<still open>" means it did not close
// in time.
std::string output_until_close(RawClient& c, std::chrono::milliseconds timeout = 3s);

// Opens a fresh connection to `s`, reads INFO and sends `bytes` (no CONNECT of its own), then
// returns output_until_close(). REQUIREs that connecting and sending worked.
std::string output_until_close_after_info(const ServerProcess& s, const std::string& bytes);

// Opens a fresh connection to `s`, connect()s it with `json` and sends `bytes`, then returns
// output_until_close(): only the server's reaction to `bytes`, as the handshake's PONG was
// already read. REQUIREs that connecting and sending worked.
std::string output_until_close_after_connect(const ServerProcess& s, const std::string& bytes,
                                             const std::string& json = kQuiet);

// Server arguments that load `text` as the config file: {"-c", <temp file holding text>}.
std::vector<std::string> with_config(const std::string& text);

// Seconds elapsed since `t`, for checks on how long the server took.
double seconds_since(std::chrono::steady_clock::time_point t);

}  // namespace tern::test
