#include "tern/errors.h"

#include <array>
#include <utility>

namespace tern {
namespace {

// The one table of code names.
constexpr std::array<std::pair<ErrorCode, std::string_view>, 16> kNames{{
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
  if (c <= static_cast<int>(ErrorCode::Ok) || c >= static_cast<int>(ErrorCode::Unknown)) return ErrorCode::Unknown;
  return static_cast<ErrorCode>(c);
}

Status make_error(ErrorCode code, std::string_view detail) {
  std::string m(to_string(code));
  m += ": ";
  m += detail;
  return Status::error(static_cast<int>(code), std::move(m));
}

}  // namespace tern
