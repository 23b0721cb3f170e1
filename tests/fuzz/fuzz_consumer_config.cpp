// Fuzzes the consumer create path: any bytes parsed as a CONSUMER.CREATE request body must decode,
// default and validate without crashing, and a config that is accepted must survive its own echo
// (echo -> decode -> check gives the same config, which is how Tern persists configs) and compare
// equal to itself under the update rules. Inputs starting with 0x01 fuzz the Go duration parser
// (parse -> print -> parse is stable); 0x02, the consumer state decoder (hostile snapshots).
// Seeds: corpus/consumer_config/.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/stream/consumer_config.h"
#include "server/stream/consumer_state.h"

using namespace tern::server;

namespace {

StreamConfig make_stream(const char* name, const char* subject, Retention retention) {
  StreamConfig s;
  s.name = name;
  s.subjects = {subject};
  s.retention = retention;
  if (check_stream_config(&s)) std::abort();
  return s;
}

void require(bool ok) {
  if (!ok) std::abort();
}

void fuzz_request(std::string_view text) {
  static const StreamConfig kStreams[] = {make_stream("S", "s.>", Retention::kLimits),
                                          make_stream("WQ", "wq.>", Retention::kWorkQueue)};
  nlohmann::json body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return;
  CreateConsumerRequest req;
  if (auto e = decode_create_consumer_request(body, &req)) {
    require(e->code != 0 && e->err_code != 0 && !e->description.empty());
    return;
  }
  for (const StreamConfig& stream : kStreams) {
    ConsumerConfig c = req.config;
    if (auto e = check_consumer_config(stream, &c)) {
      require(e->code != 0 && e->err_code != 0 && !e->description.empty());
      continue;
    }
    require(!check_consumer_update(c, c));
    ConsumerConfig again = c;  // defaults are idempotent
    require(!check_consumer_config(stream, &again) && again == c);
    const std::string echoed = consumer_config_json(c).dump();
    ConsumerConfig back;
    require(!decode_consumer_config(nlohmann::json::parse(echoed), &back));
    require(!check_consumer_config(stream, &back));
    require(back == c);
    require(consumer_config_json(back).dump() == echoed);
  }
}

void fuzz_duration(std::string_view text) {
  auto d = parse_go_duration(text);
  if (!d) return;
  std::string s = go_duration_string(*d);
  auto back = parse_go_duration(s);
  // Printing is exact, so reading the print gives the same duration.
  require(back && *back == *d);
}

void fuzz_state(std::string_view bytes) {
  auto st = decode_consumer_state(bytes);
  if (!st.is_ok()) return;
  // Whatever decodes survives a re-encode (msgpack has several encodings of a number, so the
  // bytes may differ).
  auto again = decode_consumer_state(encode_consumer_state(*st));
  require(again.is_ok() && *again == *st);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (!in.empty() && in[0] == '\x01') {
    fuzz_duration(in.substr(1));
  } else if (!in.empty() && in[0] == '\x02') {
    fuzz_state(in.substr(1));
  } else {
    fuzz_request(in);
  }
  return 0;
}
