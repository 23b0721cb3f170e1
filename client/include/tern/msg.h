#pragma once
// A NATS message and its NATS/1.0 headers, as libtern publishes and delivers them.
//
// Both are plain values: copy, move and destroy them freely on any thread. A const
// object may be read from several threads at once; mutating one needs the caller's
// own synchronisation, like any standard container.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern {

// Message headers: ordered, multi-valued, keys keep their case. Lookups are exact
// (case-sensitive) key matches, as nats-server's own are.
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  // Appends one value; earlier values of the same key stay (multi-value).
  void add(std::string key, std::string value);
  // Replaces every value of `key` by this one value (added at the end).
  void set(std::string key, std::string value);
  // Removes every value of `key`. Returns how many were removed.
  size_t remove(std::string_view key);
  // The first value of `key`, or nullptr. The pointer is valid until the next mutation.
  const std::string* get(std::string_view key) const;
  // Every value of `key`, in order.
  std::vector<std::string> values(std::string_view key) const;
  // All fields, in order (keys may repeat).
  const std::vector<Field>& fields() const { return fields_; }
  bool empty() const { return fields_.empty() && status_ == 0; }

  // The inline status of the version line ("NATS/1.0 503"): 0 when absent. Servers send
  // statuses on control messages (503 no responders, 100 heartbeats, 404/408/409 for
  // JetStream); an application normally leaves them unset.
  int status() const { return status_; }
  const std::string& description() const { return description_; }
  void set_status(int status, std::string description = {});

  friend bool operator==(const Headers&, const Headers&) = default;

 private:
  int status_ = 0;
  std::string description_;
  std::vector<Field> fields_;
};

struct Msg {
  std::string subject;  // the subject it was published to (never a subscription's wildcard)
  std::string reply;    // the reply subject; empty when none
  Headers headers;      // published with HPUB / delivered as HMSG when has_headers
  std::string data;     // the payload, byte for byte
  // True when the message carries a header block (possibly without fields). Publishing
  // a Msg whose headers are non-empty sends headers whatever this flag says.
  bool has_headers = false;

  // Convenience constructors.
  Msg() = default;
  Msg(std::string subject_, std::string data_) : subject(std::move(subject_)), data(std::move(data_)) {}
  Msg(std::string subject_, std::string reply_, std::string data_)
      : subject(std::move(subject_)), reply(std::move(reply_)), data(std::move(data_)) {}

  // A status-only control message: a header status and no payload (nats.go's rule).
  bool is_status() const { return data.empty() && headers.status() != 0; }
};

}  // namespace tern
