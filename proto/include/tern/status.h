#pragma once
// Errors are values in Tern (server and libtern alike): a Status names what failed; Result<T> carries a value or a Status.
// Free on the success path (an ok Status holds an empty string).

#include <string>
#include <utility>
#include <variant>

namespace tern {

class Status {
 public:
  static constexpr int kUnspecified = -1;

  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(kUnspecified, std::move(message)); }
  // `code` says what kind of failure this is, for callers that branch on it; its meaning
  // belongs to the layer that made the Status (tern::ErrorCode in libtern, StoreErrc in the
  // server's stores). Must not be 0, which means ok.
  static Status error(int code, std::string message) { return Status(code, std::move(message)); }

  bool is_ok() const { return code_ == 0; }
  explicit operator bool() const { return is_ok(); }
  int code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(int code, std::string message) : code_(code == 0 ? kUnspecified : code), message_(std::move(message)) {}
  int code_ = 0;
  std::string message_;
};

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) {}

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  // REQUIRES: !is_ok()
  const Status& status() const { return std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tern
