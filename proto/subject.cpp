#include "proto/subject.h"

#include <vector>

namespace tern::proto {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }

bool has_space(std::string_view s) {
  for (char c : s)
    if (is_space(c)) return true;
  return false;
}

}  // namespace

bool is_valid_subscribe_subject(std::string_view subject) {
  if (subject.empty() || has_space(subject)) return false;
  bool ok = true;
  bool after_fwc = false;
  for_each_token(subject, [&](std::string_view t) {
    if (t.empty() || after_fwc) ok = false;
    if (t == ">") after_fwc = true;
  });
  return ok;
}

bool is_literal_subject(std::string_view subject) {
  bool literal = true;
  for_each_token(subject, [&](std::string_view t) {
    if (t == "*" || t == ">") literal = false;
  });
  return literal;
}

bool is_valid_publish_subject(std::string_view subject) {
  return is_valid_subscribe_subject(subject) && is_literal_subject(subject);
}

bool is_valid_queue_name(std::string_view queue) { return !queue.empty() && !has_space(queue); }

bool subject_matches(std::string_view pattern, std::string_view subject) {
  bool empty_token = false;
  for_each_token(subject, [&](std::string_view t) { empty_token |= t.empty(); });
  if (empty_token) return false;
  size_t p = 0, s = 0;
  for (;;) {
    size_t pe = pattern.find('.', p);
    std::string_view pt = pattern.substr(p, pe == std::string_view::npos ? std::string_view::npos : pe - p);
    size_t se = subject.find('.', s);
    std::string_view st = subject.substr(s, se == std::string_view::npos ? std::string_view::npos : se - s);
    if (st.empty()) return false;
    if (pt == ">") return true;
    if (pt != "*" && pt != st) return false;
    bool pend = pe == std::string_view::npos, send = se == std::string_view::npos;
    if (pend || send) return pend && send;
    p = pe + 1;
    s = se + 1;
  }
}

bool subject_is_subset_match(std::string_view sub, std::string_view pattern) {
  std::vector<std::string_view> a, b;
  for_each_token(sub, [&](std::string_view t) { a.push_back(t); });
  for_each_token(pattern, [&](std::string_view t) { b.push_back(t); });
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] == ">") return i < a.size();
    if (i >= a.size()) return false;
    if (b[i] == "*") {
      if (a[i] == ">") return false;
      continue;
    }
    if (a[i] != b[i]) return false;
  }
  return a.size() == b.size();
}

}  // namespace tern::proto
