#include "tern/errors.h"

#include "tern/jetstream.h"

#include <array>
#include <utility>

namespace tern {
namespace {

// A JetStream API error keeps its status and err_code in the Status code:
// kApiErrorBase + status * 100000 + err_code (err_codes are 5 digits, statuses 3).
constexpr int kApiErrorBase = 1'000'000'000;

// The one table of code names.
constexpr std::array<std::pair<ErrorCode, std::string_view>, 17> kNames{{
    {ErrorCode::Ok, "ok"},
    {ErrorCode::InvalidArgument, "invalid_argument"},
    {ErrorCode::Unsupported, "unsupported"},
    {ErrorCode::ConnectionFailed, "connection_failed"},
    {ErrorCode::AuthFailed, "auth_failed"},
    {ErrorCode::Timeout, "timeout"},
    {ErrorCode::NoResponders, "no_responders"},
    {ErrorCode::Closed, "closed"},
    {ErrorCode::Disconnected, "disconnected"},
    {ErrorCode::BufferFull, "buffer_full"},
    {ErrorCode::MaxPayload, "max_payload"},
    {ErrorCode::SlowConsumer, "slow_consumer"},
    {ErrorCode::PermissionViolation, "permission_violation"},
    {ErrorCode::ServerError, "server_error"},
    {ErrorCode::ProtocolError, "protocol_error"},
    {ErrorCode::JetStreamApi, "jetstream_api"},
    {ErrorCode::Unknown, "unknown"},
}};

}  // namespace

std::string_view to_string(ErrorCode code) {
  for (const auto& [c, name] : kNames)
    if (c == code) return name;
  return "unknown";
}

ErrorCode error_code(const Status& status) {
  if (status.is_ok()) return ErrorCode::Ok;
  int c = status.code();
  if (c >= kApiErrorBase) return ErrorCode::JetStreamApi;
  if (c <= static_cast<int>(ErrorCode::Ok) || c >= static_cast<int>(ErrorCode::Unknown)) return ErrorCode::Unknown;
  return static_cast<ErrorCode>(c);
}

Status make_error(ErrorCode code, std::string_view detail) {
  std::string m(to_string(code));
  m += ": ";
  m += detail;
  return Status::error(static_cast<int>(code), std::move(m));
}

std::optional<ApiError> api_error(const Status& status) {
  if (status.is_ok() || status.code() < kApiErrorBase) return std::nullopt;
  int packed = status.code() - kApiErrorBase;
  ApiError e;
  e.code = packed / 100000;
  e.err_code = packed % 100000;
  // The message is "jetstream_api: <description> (status <code>, err_code <n>)".
  std::string_view m = status.message();
  constexpr std::string_view kPrefix = "jetstream_api: ";
  if (m.starts_with(kPrefix)) m.remove_prefix(kPrefix.size());
  if (size_t tail = m.rfind(" (status "); tail != std::string_view::npos) m = m.substr(0, tail);
  e.description = std::string(m);
  return e;
}

Status make_api_error(const ApiError& e) {
  int code = (e.code >= 0 && e.code < 10000) ? e.code : 0;
  int err_code = (e.err_code >= 0 && e.err_code < 100000) ? e.err_code : 0;
  std::string m = "jetstream_api: " + e.description + " (status " + std::to_string(e.code) + ", err_code " +
                  std::to_string(e.err_code) + ")";
  return Status::error(kApiErrorBase + code * 100000 + err_code, std::move(m));
}

}  // namespace tern
