#pragma once
// libtern JetStream internals shared by jetstream.cpp (management, publishing, JSON) and
// jetstream_pull.cpp (JsMsg, PullConsumer, consume). Not installed.

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "tern/jetstream.h"

namespace tern::detail {

class JetStreamImpl : public std::enable_shared_from_this<JetStreamImpl> {
 public:
  JetStreamImpl(Connection& conn, JetStreamOptions opts) : conn_(conn), opts_(std::move(opts)) {}
  virtual ~JetStreamImpl() = default;

  Connection& conn() { return conn_; }
  const JetStreamOptions& opts() const { return opts_; }
  // "<api_prefix>.<suffix>"
  std::string api_subject(std::string_view suffix) const;

  // Sends one API request and returns the answer's JSON text; an {"error":...} answer is a
  // JetStreamApi Status; no responders means JetStream is not enabled (NoResponders).
  // timeout 0: opts().timeout.
  Result<std::string> api_request(std::string_view suffix, std::string_view body,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // The same, parsed: the answer as a JSON object.
  Result<nlohmann::json> api_json(std::string_view suffix, std::string_view body,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

 private:
  // api_json's work; `text` receives the answer's bytes.
  Result<nlohmann::json> api_call(std::string_view suffix, std::string_view body, std::chrono::milliseconds timeout,
                                  std::string& text);
  Connection& conn_;
  JetStreamOptions opts_;
};

// JSON <-> the public structs (jetstream_json.cpp).
nlohmann::json to_json(const StreamConfig& c);
nlohmann::json to_json(const ConsumerConfig& c);
Result<StreamInfo> stream_info_from_json(const nlohmann::json& j, std::string text);
Result<ConsumerInfo> consumer_info_from_json(const nlohmann::json& j, std::string text);

}  // namespace tern::detail
