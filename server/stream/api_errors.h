#pragma once
// The JetStream API errors Tern answers with: ONE table (api_errors.cpp) holding nats-server's
// numbers and texts (errors.json / jetstream_errors_generated.go in nats-server 2.9.10), so
// clients that match on err_code (nats.go APIError.Is) behave the same against Tern.
//
// On the wire an error is {"code":<http-like>,"err_code":<id>,"description":"..."}, inside
// {"type":"io.nats.jetstream.api.v1.<kind>_response","error":{...}} for API replies and inside
// {"error":{...},"stream":"S","seq":0} for pub acks.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tern::server {

enum class ApiErr {
  kBadRequest,                         // 10003
  kInsufficientResources,              // 10023
  kInvalidJson,                        // 10025
  kMemoryResourcesExceeded,            // 10028
  kNoMessageFound,                     // 10037
  kNotEmptyRequest,                    // 10038
  kSequenceNotFound,                   // 10043 {seq}
  kStorageResourcesExceeded,           // 10047
  kStreamCreate,                       // 10049 {err}
  kStreamDelete,                       // 10050 {err}
  kStreamGeneral,                      // 10051 {err}
  kStreamInvalidConfig,                // 10052 {err}
  kStreamMessageExceedsMaximum,        // 10054
  kStreamMismatch,                     // 10056
  kStreamMsgDeleteFailed,              // 10057 {err}
  kStreamNameExist,                    // 10058
  kStreamNotFound,                     // 10059
  kStreamNotMatch,                     // 10060
  kStreamSubjectOverlap,               // 10065
  kStreamWrongLastMsgId,               // 10070 {id}
  kStreamWrongLastSequence,            // 10071 {seq}
  kStreamReplicasNotSupported,         // 10074
  kStreamStoreFailed,                  // 10077 {err}
  kStreamHeaderExceedsMaximum,         // 10097
  kStreamSealed,                       // 10109
  kStreamPurgeFailed,                  // 10110 {err}
  kStreamRollupFailed,                 // 10111 {err}
  kStreamNameContainsPathSeparators,   // 10128
  kReplicasCountCannotBeNegative,      // 10133
  // Consumers (jetstream-api spec sections 2 and 8)
  kConsumerCreate,                     // 10012 {err}
  kConsumerNameExist,                  // 10013
  kConsumerNotFound,                   // 10014
  kConsumerDurableNameNotInSubject,    // 10016
  kConsumerDurableNameNotMatchSubject, // 10017
  kConsumerDurableNameNotSet,          // 10018
  kConsumerEphemeralWithDurableName,   // 10020
  kMaximumConsumersLimit,              // 10026
  kConsumerPullRequiresAck,            // 10084
  kConsumerPullWithRateLimit,          // 10086
  kConsumerMaxWaitingNegative,         // 10087
  kConsumerHbRequiresPush,             // 10088
  kConsumerFcRequiresPush,             // 10089
  kConsumerFilterNotSubset,            // 10093
  kConsumerInvalidPolicy,              // 10094 {err}
  kConsumerWqRequiresExplicitAck,      // 10098
  kConsumerWqMultipleUnfiltered,       // 10099
  kConsumerWqConsumerNotUnique,        // 10100
  kConsumerWqConsumerNotDeliverAll,    // 10101
  kConsumerNameTooLong,                // 10102 {max}
  kConsumerBadDurableName,             // 10103
  kConsumerExistingActive,             // 10105
  kConsumerDescriptionTooLong,         // 10107 {max}
  kConsumerWithFlowControlNeedsHeartbeats, // 10108
  kConsumerMaxRequestBatchNegative,    // 10114
  kConsumerMaxRequestExpiresTooSmall,  // 10115
  kConsumerMaxDeliverBackoff,          // 10116
  kConsumerMaxPendingAckExcess,        // 10121 {limit}
  kConsumerReplicasExceedsStream,      // 10126
  kConsumerNameContainsPathSeparators, // 10127
  kConsumerCreateFilterSubjectMismatch, // 10131
  kConsumerCreateDurableAndNameMismatch, // 10132
  kConsumerDuplicateFilterSubjects,    // 10136
  kConsumerMultipleFiltersNotAllowed,  // 10137
  kConsumerOverlappingSubjectFilters,  // 10138
  kConsumerEmptyFilter,                // 10139
  kConsumerAlreadyExists,              // 10148
  kConsumerDoesNotExist,               // 10149
};

struct ApiError {
  int code = 0;      // HTTP-like status
  int err_code = 0;  // JetStream error id; clients match on this
  std::string description;

  nlohmann::ordered_json json() const;
};

// The table entry for `e`, with its one placeholder ({err}, {seq}, {id}, {max}, {limit}) replaced by `arg`.
ApiError api_error(ApiErr e, std::string_view arg = {});

}  // namespace tern::server
