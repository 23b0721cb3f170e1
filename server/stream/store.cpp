#include "server/stream/store.h"

#include <array>

namespace tern::server {
namespace {

// One table: the texts match nats-server's store errors where one exists (store.go), because the
// stream layer passes them through as JetStream 10077 descriptions.
constexpr std::array<std::string_view, 10> kErrcText = {
    "",                                            // kOk
    "maximum messages exceeded",                   // kMaxMsgs
    "maximum bytes exceeded",                      // kMaxBytes
    "maximum messages per subject exceeded",       // kMaxMsgsPerSubject
    "message size exceeds maximum allowed",        // kMsgTooLarge
    "header size exceeds maximum allowed of 64k",  // kHeadersTooLarge
    "no message found",                            // kNotFound
    "invalid argument",                            // kInvalidArgument
    "storage failed",                              // kStorageFailed
    "unknown error",                               // kUnknown
};
static_assert(kErrcText.size() == static_cast<size_t>(StoreErrc::kUnknown) + 1);

}  // namespace

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "none";
}

std::string_view store_errc_text(StoreErrc code) { return kErrcText[static_cast<size_t>(code)]; }

Status store_error(StoreErrc code, std::string_view detail) {
  std::string msg(store_errc_text(code));
  if (!detail.empty()) {
    msg += ": ";
    msg += detail;
  }
  return Status::error(std::move(msg));
}

StoreErrc store_errc(const Status& status) {
  if (status.is_ok()) return StoreErrc::kOk;
  std::string_view msg = status.message();
  for (size_t i = 1; i < kErrcText.size() - 1; ++i) {
    std::string_view text = kErrcText[i];
    if (msg.substr(0, text.size()) == text && (msg.size() == text.size() || msg[text.size()] == ':')) {
      return static_cast<StoreErrc>(i);
    }
  }
  return StoreErrc::kUnknown;
}

}  // namespace tern::server
