#pragma once
// Logging for tern-server: spdlog to stderr (or a file with -l), nats-server's level names.
// info by default, debug with -D, trace (every protocol line) with -V.

#include <spdlog/spdlog.h>

#include <string>

#include "proto/status.h"

namespace tern::server {

// Configures the default logger. Call once, before the loop starts.
Status init_logging(bool debug, bool trace, const std::string& log_file);

}  // namespace tern::server
