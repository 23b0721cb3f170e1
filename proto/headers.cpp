#include "proto/headers.h"

#include <charconv>

namespace tern::proto {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

const std::string* Headers::get(std::string_view key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

Result<Headers> parse_headers(std::string_view block) {
  Headers h;
  size_t eol = block.find("\r\n");
  if (eol == std::string_view::npos) return Status::error("header block has no line end");
  std::string_view first = block.substr(0, eol);
  if (first.substr(0, kHeaderVersion.size()) != kHeaderVersion) return Status::error("header block does not start with NATS/1.0");
  std::string_view rest = trim(first.substr(kHeaderVersion.size()));
  if (!rest.empty()) {
    // nats.go: the first three characters are the status, the trimmed rest the description.
    std::string_view code = rest.substr(0, 3);
    int status = 0;
    auto [p, ec] = std::from_chars(code.data(), code.data() + code.size(), status);
    if (ec != std::errc() || p != code.data() + code.size()) return Status::error("bad status in header block");
    h.status = status;
    h.description = std::string(trim(rest.substr(code.size())));
  }
  size_t pos = eol + 2;
  while (pos < block.size()) {
    size_t e = block.find("\r\n", pos);
    if (e == std::string_view::npos) return Status::error("header line has no line end");
    std::string_view line = block.substr(pos, e - pos);
    pos = e + 2;
    if (line.empty()) return h;  // the terminating empty line
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Status::error("header line has no key");
    h.add(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }
  return Status::error("header block is not terminated");
}

std::string encode_headers(const Headers& h) {
  std::string out(kHeaderVersion);
  if (h.status) {
    out += ' ';
    out += std::to_string(h.status);
    if (!h.description.empty()) {
      out += ' ';
      out += h.description;
    }
  }
  out += "\r\n";
  for (const auto& [k, v] : h.fields) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

std::string_view find_header(std::string_view block, std::string_view key) {
  size_t pos = 0;
  for (;;) {
    size_t nl = block.find("\r\n", pos);
    if (nl == std::string_view::npos) return {};
    pos = nl + 2;
    std::string_view line = block.substr(pos, block.find("\r\n", pos) - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      std::string_view v = line.substr(key.size() + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return v;
    }
  }
}

}  // namespace tern::proto
