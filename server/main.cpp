// tern-server: options -> Server -> run until SIGINT/SIGTERM.
#include <cstdio>

#include "server/config/flags.h"
#include "server/log/log.h"
#include "server/net/server.h"

int main(int argc, char** argv) {
  auto loaded = tern::server::load_options(argc, argv);
  if (!loaded) {
    std::fprintf(stderr, "tern-server: %s\n", loaded.status().message().c_str());
    return 1;
  }
  if (loaded->exit_message) {
    std::printf("%s\n", loaded->exit_message->c_str());
    return 0;
  }
  tern::server::Options& opts = loaded->options;
  if (auto st = tern::server::init_logging(opts.debug, opts.trace, opts.log_file); !st) {
    std::fprintf(stderr, "tern-server: %s\n", st.message().c_str());
    return 1;
  }
  for (const auto& w : loaded->warnings) spdlog::warn("{}", w);

  tern::server::Server server(std::move(opts));
  if (auto st = server.start(); !st) {
    spdlog::error("{}", st.message());
    return 1;
  }
  return server.run();
}
