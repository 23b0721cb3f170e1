// The JetStream API request itself: one request/reply on the connection, the error form
// turned into a JetStreamApi Status. Everything else in libtern's JetStream builds on it.
#include <nlohmann/json.hpp>

#include "client/jetstream_impl.h"

namespace tern::detail {

std::string JetStreamImpl::api_subject(std::string_view suffix) const {
  std::string s = opts_.api_prefix;
  s += '.';
  s += suffix;
  return s;
}

Result<nlohmann::json> JetStreamImpl::api_json(std::string_view suffix, std::string_view body,
                                               std::chrono::milliseconds timeout) {
  std::string text;
  return api_call(suffix, body, timeout, text);
}

Result<std::string> JetStreamImpl::api_request(std::string_view suffix, std::string_view body,
                                               std::chrono::milliseconds timeout) {
  std::string text;
  auto j = api_call(suffix, body, timeout, text);
  if (!j) return j.status();
  return text;  // the server's own bytes, key order kept, for tools that print them
}

Result<nlohmann::json> JetStreamImpl::api_call(std::string_view suffix, std::string_view body,
                                               std::chrono::milliseconds timeout, std::string& text) {
  auto reply = conn_.request(api_subject(suffix), body, timeout.count() > 0 ? timeout : opts_.timeout);
  if (!reply) {
    if (error_code(reply.status()) == ErrorCode::NoResponders) {
      return make_error(ErrorCode::NoResponders, "JetStream not enabled (no responders on " +
                                                     api_subject(suffix) + ")");
    }
    return reply.status();
  }
  nlohmann::json j = nlohmann::json::parse(reply->data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::ProtocolError, "JetStream API answered " + api_subject(suffix) +
                                                    " with something that is not a JSON object");
  }
  // Type-checked reads (json::value() would throw on a field of another type).
  if (auto e = j.find("error"); e != j.end() && e->is_object()) return make_api_error(api_error_from_json(*e));
  text = std::move(reply->data);
  return j;
}

}  // namespace tern::detail
