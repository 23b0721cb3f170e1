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
int run_server_info(const std::vector<std::string>& args);    // server_cmd.cpp
int run_server_report(const std::vector<std::string>& args);  // server_cmd.cpp
int run_bench(const std::vector<std::string>& args);          // bench.cpp (`bench js ...` too)

int run_stream_add(const std::vector<std::string>& args);    // stream_cmd.cpp
int run_stream_edit(const std::vector<std::string>& args);   // stream_cmd.cpp
int run_stream_info(const std::vector<std::string>& args);   // stream_cmd.cpp
int run_stream_ls(const std::vector<std::string>& args);     // stream_cmd.cpp
int run_stream_rm(const std::vector<std::string>& args);     // stream_cmd.cpp
int run_stream_purge(const std::vector<std::string>& args);  // stream_cmd.cpp
int run_stream_get(const std::vector<std::string>& args);    // stream_cmd.cpp
int run_stream_view(const std::vector<std::string>& args);   // stream_cmd.cpp

int run_consumer_add(const std::vector<std::string>& args);   // consumer_cmd.cpp
int run_consumer_info(const std::vector<std::string>& args);  // consumer_cmd.cpp
int run_consumer_ls(const std::vector<std::string>& args);    // consumer_cmd.cpp
int run_consumer_rm(const std::vector<std::string>& args);    // consumer_cmd.cpp
int run_consumer_next(const std::vector<std::string>& args);  // consumer_cmd.cpp

int run_dlq_ls(const std::vector<std::string>& args);       // dlq_cmd.cpp
int run_dlq_redrive(const std::vector<std::string>& args);  // dlq_cmd.cpp

}  // namespace tern::cli
