#pragma once
// tern-server's command line, with nats-server's flag names. Go's flag package accepts -name and
// --name for every flag, -name=value and -name value; users type -js, -sd, -DV, -port 4222. The
// argv is normalised to that grammar before cxxopts (which only knows one-letter short flags)
// sees it.

#include <optional>
#include <string>
#include <vector>

#include "proto/status.h"
#include "server/config/options.h"

namespace tern::server {

struct LoadedOptions {
  Options options;
  std::vector<std::string> warnings;        // unknown keys etc., to be logged by main
  std::optional<std::string> exit_message;  // set for --help / --version: main prints it to stdout and exits 0
};

// Parses argv, loads -c FILE if given (then applies flags over it), validates.
// On error: a Status whose message is one line, e.g. "tern.conf:12: ..." or "unknown option '--foo'".
// Never throws.
Result<LoadedOptions> load_options(int argc, const char* const* argv);

}  // namespace tern::server
