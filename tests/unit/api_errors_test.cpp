// api_errors: every entry of the table against nats-server 2.9.10's errors.json (as generated
// into jetstream_errors_generated.go), the placeholder substitution and the JSON shape.
#include "server/stream/api_errors.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

using tern::server::api_error;
using tern::server::ApiErr;

namespace {

struct Expected {
  ApiErr id;
  int code;
  int err_code;
  const char* description;  // with the placeholder left in
};

// Copied from nats-server 2.9.10 (jetstream_errors_generated.go), not from api_errors.cpp.
const Expected kNats[] = {
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
};

std::string substituted(const std::string& desc, const std::string& arg) {
  size_t open = desc.find('{');
  if (open == std::string::npos) return desc;
  return desc.substr(0, open) + arg + desc.substr(desc.find('}', open) + 1);
}

}  // namespace

TEST_CASE("api_errors: every entry has nats-server's code, err_code and description", "[api_errors]") {
  for (const Expected& e : kNats) {
    CAPTURE(e.err_code);
    auto got = api_error(e.id, "ARG");
    CHECK(got.code == e.code);
    CHECK(got.err_code == e.err_code);
    CHECK(got.description == substituted(e.description, "ARG"));
  }
}

TEST_CASE("api_errors: the table covers every ApiErr once, with distinct err_codes", "[api_errors]") {
  // kNats lists every enumerator (the last one is kReplicasCountCannotBeNegative).
  CHECK(std::size(kNats) == static_cast<size_t>(ApiErr::kReplicasCountCannotBeNegative) + 1);
  std::set<int> codes;
  for (const Expected& e : kNats) CHECK(codes.insert(api_error(e.id).err_code).second);
}

TEST_CASE("api_errors: placeholders are replaced, texts without one ignore the argument", "[api_errors]") {
  CHECK(api_error(ApiErr::kSequenceNotFound, "42").description == "sequence 42 not found");
  CHECK(api_error(ApiErr::kStreamWrongLastSequence, "7").description == "wrong last sequence: 7");
  CHECK(api_error(ApiErr::kStreamWrongLastMsgId, "").description == "wrong last msg ID: ");
  CHECK(api_error(ApiErr::kStreamInvalidConfig, "max age needs to be >= 100ms").description ==
        "max age needs to be >= 100ms");
  // An argument holding braces is inserted literally, not scanned again.
  CHECK(api_error(ApiErr::kStreamGeneral, "{x} {err}").description == "{x} {err}");
  CHECK(api_error(ApiErr::kStreamNotFound, "ignored").description == "stream not found");
}

TEST_CASE("api_errors: json() is {code, err_code, description} in that order", "[api_errors]") {
  auto j = api_error(ApiErr::kStreamNotFound).json();
  CHECK(j.dump() == R"({"code":404,"err_code":10059,"description":"stream not found"})");
  // Inside an API reply: {"type":…,"error":{…}}, as the API handler builds it.
  nlohmann::ordered_json reply;
  reply["type"] = "io.nats.jetstream.api.v1.stream_info_response";
  reply["error"] = api_error(ApiErr::kStreamSubjectOverlap).json();
  CHECK(reply.dump() ==
        R"({"type":"io.nats.jetstream.api.v1.stream_info_response","error":{"code":400,"err_code":10065,)"
        R"("description":"subjects overlap with an existing stream"}})");
  // Descriptions are JSON-escaped.
  CHECK(api_error(ApiErr::kStreamCreate, "a \"b\"").json().dump() ==
        R"({"code":500,"err_code":10049,"description":"a \"b\""})");
}
