#pragma once
// The `tern` commands. Each takes its command line with args[0] naming the command
// ("tern pub") and the global options already moved after it, and returns the exit code.

#include <string>
#include <vector>

namespace tern::cli {

int run_pub(const std::vector<std::string>& args);          // pub.cpp
int run_sub(const std::vector<std::string>& args);          // sub.cpp
int run_request(const std::vector<std::string>& args);      // request.cpp
int run_reply(const std::vector<std::string>& args);        // request.cpp
int run_server_ping(const std::vector<std::string>& args);  // server_cmd.cpp
int run_server_info(const std::vector<std::string>& args);  // server_cmd.cpp
int run_bench(const std::vector<std::string>& args);        // bench.cpp

}  // namespace tern::cli
