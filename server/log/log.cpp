#include "server/log/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace tern::server {

Status init_logging(bool debug, bool trace, const std::string& log_file) {
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (log_file.empty()) {
      logger = spdlog::stderr_logger_mt("tern");
    } else {
      logger = spdlog::basic_logger_mt("tern", log_file);
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Status::error(std::string("cannot open log file: ") + e.what());
  }
  // The same shape as nats-server's lines: [pid] date time [LVL] message
  logger->set_pattern("[%P] %Y/%m/%d %H:%M:%S.%f [%l] %v");
  logger->set_level(trace ? spdlog::level::trace : debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::ok();
}

}  // namespace tern::server
