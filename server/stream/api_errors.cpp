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
constexpr std::array<Entry, 67> kTable = {{
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
    {ApiErr::kConsumerCreate, 500, 10012, "{err}"},
    {ApiErr::kConsumerNameExist, 400, 10013, "consumer name already in use"},
    {ApiErr::kConsumerNotFound, 404, 10014, "consumer not found"},
    {ApiErr::kConsumerDurableNameNotInSubject, 400, 10016, "consumer expected to be durable but no durable name set in subject"},
    {ApiErr::kConsumerDurableNameNotMatchSubject, 400, 10017, "consumer name in subject does not match durable name in request"},
    {ApiErr::kConsumerDurableNameNotSet, 400, 10018, "consumer expected to be durable but a durable name was not set"},
    {ApiErr::kConsumerEphemeralWithDurableName, 400, 10020, "consumer expected to be ephemeral but a durable name was set in request"},
    {ApiErr::kMaximumConsumersLimit, 400, 10026, "maximum consumers limit reached"},
    {ApiErr::kConsumerPullRequiresAck, 400, 10084, "consumer in pull mode requires ack policy"},
    {ApiErr::kConsumerPullWithRateLimit, 400, 10086, "consumer in pull mode can not have rate limit set"},
    {ApiErr::kConsumerMaxWaitingNegative, 400, 10087, "consumer max waiting needs to be positive"},
    {ApiErr::kConsumerHbRequiresPush, 400, 10088, "consumer idle heartbeat requires a push based consumer"},
    {ApiErr::kConsumerFcRequiresPush, 400, 10089, "consumer flow control requires a push based consumer"},
    {ApiErr::kConsumerFilterNotSubset, 400, 10093, "consumer filter subject is not a valid subset of the interest subjects"},
    {ApiErr::kConsumerInvalidPolicy, 400, 10094, "{err}"},
    {ApiErr::kConsumerWqRequiresExplicitAck, 400, 10098, "workqueue stream requires explicit ack"},
    {ApiErr::kConsumerWqMultipleUnfiltered, 400, 10099, "multiple non-filtered consumers not allowed on workqueue stream"},
    {ApiErr::kConsumerWqConsumerNotUnique, 400, 10100, "filtered consumer not unique on workqueue stream"},
    {ApiErr::kConsumerWqConsumerNotDeliverAll, 400, 10101, "consumer must be deliver all on workqueue stream"},
    {ApiErr::kConsumerNameTooLong, 400, 10102, "consumer name is too long, maximum allowed is {max}"},
    {ApiErr::kConsumerBadDurableName, 400, 10103, "durable name can not contain '.', '*', '>'"},
    {ApiErr::kConsumerExistingActive, 400, 10105, "consumer already exists and is still active"},
    {ApiErr::kConsumerDescriptionTooLong, 400, 10107, "consumer description is too long, maximum allowed is {max}"},
    {ApiErr::kConsumerWithFlowControlNeedsHeartbeats, 400, 10108, "consumer with flow control also needs heartbeats"},
    {ApiErr::kConsumerMaxRequestBatchNegative, 400, 10114, "consumer max request batch needs to be > 0"},
    {ApiErr::kConsumerMaxRequestExpiresTooSmall, 400, 10115, "consumer max request expires needs to be >= 1ms"},
    {ApiErr::kConsumerMaxDeliverBackoff, 400, 10116, "max deliver is required to be > length of backoff values"},
    {ApiErr::kConsumerMaxPendingAckExcess, 400, 10121, "consumer max ack pending exceeds system limit of {limit}"},
    {ApiErr::kConsumerReplicasExceedsStream, 400, 10126, "consumer config replica count exceeds parent stream"},
    {ApiErr::kConsumerNameContainsPathSeparators, 400, 10127, "Consumer name can not contain path separators"},
    {ApiErr::kConsumerCreateFilterSubjectMismatch, 400, 10131, "Consumer create request did not match filtered subject from create subject"},
    {ApiErr::kConsumerCreateDurableAndNameMismatch, 400, 10132, "Consumer Durable and Name have to be equal if both are provided"},
    {ApiErr::kConsumerDuplicateFilterSubjects, 400, 10136, "consumer cannot have both FilterSubject and FilterSubjects specified"},
    {ApiErr::kConsumerMultipleFiltersNotAllowed, 400, 10137, "consumer with multiple subject filters cannot use subject based API"},
    {ApiErr::kConsumerOverlappingSubjectFilters, 400, 10138, "consumer subject filters cannot overlap"},
    {ApiErr::kConsumerEmptyFilter, 400, 10139, "consumer filter in FilterSubjects cannot be empty"},
    {ApiErr::kConsumerAlreadyExists, 400, 10148, "consumer already exists"},
    {ApiErr::kConsumerDoesNotExist, 400, 10149, "consumer does not exist"},
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
