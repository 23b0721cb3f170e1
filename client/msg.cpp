#include "tern/msg.h"

#include <algorithm>

namespace tern {

void Headers::add(std::string key, std::string value) { fields_.emplace_back(std::move(key), std::move(value)); }

void Headers::set(std::string key, std::string value) {
  remove(key);
  add(std::move(key), std::move(value));
}

size_t Headers::remove(std::string_view key) {
  size_t before = fields_.size();
  std::erase_if(fields_, [&](const Field& f) { return f.first == key; });
  return before - fields_.size();
}

const std::string* Headers::get(std::string_view key) const {
  for (const auto& f : fields_)
    if (f.first == key) return &f.second;
  return nullptr;
}

std::vector<std::string> Headers::values(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& f : fields_)
    if (f.first == key) out.push_back(f.second);
  return out;
}

void Headers::set_status(int status, std::string description) {
  status_ = status;
  description_ = std::move(description);
}

}  // namespace tern
