#include "cli/monitor_client.h"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace tern::cli {

namespace {

constexpr const char* kDefaultMonitorPort = "8222";  // nats-server's documented monitoring port

// The host of a NATS URL list's first entry: "nats://u:p@host:4222,..." -> "host", "[::1]:4222" -> "[::1]".
std::string host_of(std::string_view urls) {
  std::string_view url = urls.substr(0, urls.find(','));
  if (size_t scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  if (size_t at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  if (url.starts_with('[')) {
    size_t close = url.find(']');
    return std::string(url.substr(0, close == std::string_view::npos ? url.size() : close + 1));
  }
  std::string host(url.substr(0, url.find_first_of(":/")));
  return host.empty() ? "127.0.0.1" : host;
}

// "http://host:port/..." -> {"host", "port"} ("[::1]" -> "::1"); the port is the default when absent.
std::pair<std::string, std::string> host_port_of(const std::string& base) {
  std::string_view rest = base;
  if (size_t scheme = rest.find("://"); scheme != std::string_view::npos) rest.remove_prefix(scheme + 3);
  rest = rest.substr(0, rest.find('/'));
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {
    size_t close = rest.find(']');
    host = rest.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
    if (close != std::string_view::npos && close + 1 < rest.size() && rest[close + 1] == ':')
      port = rest.substr(close + 2);
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  return {std::string(host), port.empty() ? kDefaultMonitorPort : std::string(port)};
}

// httplib reports every failed connect as Error::Connection, and its non-blocking connect
// leaves errno at EINPROGRESS. One blocking connect of our own says why: "Connection
// refused", "No route to host", or an unknown host.
std::string why_no_connection(const std::string& host, const std::string& port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return "cannot resolve \"" + host + "\": " + ::gai_strerror(rc);
  }
  std::string why = "cannot connect";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // bounds connect() too
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    int err = errno;
    ::close(fd);
    if (rc == 0) {
      why = "the connection failed";  // it works now: the first attempt met a passing failure
      break;
    }
    why = err == EINPROGRESS || err == EAGAIN ? "no connection within " + format_duration(timeout) : std::strerror(err);
  }
  ::freeaddrinfo(found);
  return why;
}

std::string describe(httplib::Error error, const std::string& base, std::chrono::milliseconds timeout) {
  const std::string after = format_duration(timeout);
  switch (error) {
    case httplib::Error::Connection: {
      auto [host, port] = host_port_of(base);
      return why_no_connection(host, port, timeout);
    }
    case httplib::Error::ConnectionTimeout:
      return "no connection within " + after;
    case httplib::Error::Read:
      return "no answer within " + after;
    case httplib::Error::Write:
      return "sending the request failed";
    default:
      return httplib::to_string(error);
  }
}

}  // namespace

std::string monitor_url(const std::string& flag, const GlobalOptions& global) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("TERN_MONITOR_URL"); env != nullptr && *env != '\0') return env;
  return "http://" + host_of(global.url()) + ":" + kDefaultMonitorPort;
}

MonitorClient::MonitorClient(std::string base_url, std::chrono::milliseconds timeout)
    : base_(std::move(base_url)), timeout_(timeout) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
  if (base_.find("://") == std::string::npos) base_ = "http://" + base_;
}

Result<MonitorDoc> MonitorClient::get(const std::string& path) const {
  const std::string where = url(path);
  httplib::Client http(base_);
  if (!http.is_valid()) return Status::error("invalid monitoring URL \"" + base_ + "\" (use http://host:port)");
  http.set_connection_timeout(timeout_);
  http.set_read_timeout(timeout_);
  http.set_write_timeout(timeout_);
  httplib::Result res = http.Get(path);
  if (!res) {
    return Status::error("cannot reach the monitoring endpoint " + where + ": " +
                         describe(res.error(), base_, timeout_) + " (is the server started with -m " +
                         host_port_of(base_).second + "?)");
  }
  if (res->status != 200) {
    std::string body = res->body.substr(0, res->body.find('\n'));
    return Status::error("the monitoring endpoint " + where + " answered HTTP " + std::to_string(res->status) +
                         (body.empty() ? "" : ": " + body.substr(0, 200)));
  }
  MonitorDoc doc{nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false), std::move(res->body)};
  if (doc.json.is_discarded() || !doc.json.is_object()) {
    return Status::error("the monitoring endpoint " + where + " did not answer a JSON document");
  }
  return doc;
}

}  // namespace tern::cli
