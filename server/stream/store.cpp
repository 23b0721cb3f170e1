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
  return Status::error(static_cast<int>(code), std::move(msg));
}

StoreErrc store_errc(const Status& status) {
  if (status.is_ok()) return StoreErrc::kOk;
  int c = status.code();
  if (c <= 0 || static_cast<size_t>(c) >= kErrcText.size()) return StoreErrc::kUnknown;
  return static_cast<StoreErrc>(c);
}

}  // namespace tern::server
