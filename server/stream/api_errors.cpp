#include "server/stream/api_errors.h"

#include <array>

namespace tern::server {
namespace {

struct Entry {
  ApiErr id;
  int code;
  int err_code;
  std::string_view description;  // at most one {placeholder}
};

// nats-server 2.9.10 jetstream_errors_generated.go; keep in enum order.
constexpr std::array<Entry, 29> kTable = {{
    {ApiErr::kBadRequest, 400, 10003, "bad request"},
    {ApiErr::kInsufficientResources, 503, 10023, "insufficient resources"},
    {ApiErr::kInvalidJson, 400, 10025, "invalid JSON"},
    {ApiErr::kMemoryResourcesExceeded, 500, 10028, "insufficient memory resources available"},
    {ApiErr::kNoMessageFound, 404, 10037, "no message found"},
    {ApiErr::kNotEmptyRequest, 400, 10038, "expected an empty request payload"},
    {ApiErr::kSequenceNotFound, 400, 10043, "sequence {seq} not found"},
    {ApiErr::kStorageResourcesExceeded, 500, 10047, "insufficient storage resources available"},
    {ApiErr::kStreamCreate, 500, 10049, "{err}"},
    {ApiErr::kStreamDelete, 500, 10050, "{err}"},
    {ApiErr::kStreamGeneral, 500, 10051, "{err}"},
    {ApiErr::kStreamInvalidConfig, 500, 10052, "{err}"},
    {ApiErr::kStreamMessageExceedsMaximum, 400, 10054, "message size exceeds maximum allowed"},
    {ApiErr::kStreamMismatch, 400, 10056, "stream name in subject does not match request"},
    {ApiErr::kStreamMsgDeleteFailed, 500, 10057, "{err}"},
    {ApiErr::kStreamNameExist, 400, 10058, "stream name already in use with a different configuration"},
    {ApiErr::kStreamNotFound, 404, 10059, "stream not found"},
    {ApiErr::kStreamNotMatch, 400, 10060, "expected stream does not match"},
    {ApiErr::kStreamSubjectOverlap, 400, 10065, "subjects overlap with an existing stream"},
    {ApiErr::kStreamWrongLastMsgId, 400, 10070, "wrong last msg ID: {id}"},
    {ApiErr::kStreamWrongLastSequence, 400, 10071, "wrong last sequence: {seq}"},
    {ApiErr::kStreamReplicasNotSupported, 500, 10074, "replicas > 1 not supported in non-clustered mode"},
    {ApiErr::kStreamStoreFailed, 503, 10077, "{err}"},
    {ApiErr::kStreamHeaderExceedsMaximum, 400, 10097, "header size exceeds maximum allowed of 64k"},
    {ApiErr::kStreamSealed, 400, 10109, "invalid operation on sealed stream"},
    {ApiErr::kStreamPurgeFailed, 500, 10110, "{err}"},
    {ApiErr::kStreamRollupFailed, 500, 10111, "{err}"},
    {ApiErr::kStreamNameContainsPathSeparators, 400, 10128, "Stream name can not contain path separators"},
    {ApiErr::kReplicasCountCannotBeNegative, 400, 10133, "replicas count cannot be negative"},
}};

constexpr bool table_in_enum_order() {
  for (size_t i = 0; i < kTable.size(); ++i)
    if (static_cast<size_t>(kTable[i].id) != i) return false;
  return true;
}
static_assert(table_in_enum_order(), "kTable must list ApiErr values in declaration order");

}  // namespace

nlohmann::ordered_json ApiError::json() const {
  nlohmann::ordered_json j;
  j["code"] = code;
  j["err_code"] = err_code;
  j["description"] = description;
  return j;
}

ApiError api_error(ApiErr e, std::string_view arg) {
  const Entry& entry = kTable[static_cast<size_t>(e)];
  std::string desc(entry.description);
  if (size_t open = desc.find('{'); open != std::string::npos) {
    size_t close = desc.find('}', open);
    desc.replace(open, close - open + 1, arg);
  }
  return ApiError{entry.code, entry.err_code, std::move(desc)};
}

}  // namespace tern::server
