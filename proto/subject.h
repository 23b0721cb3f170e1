#pragma once
// Subject rules shared by server and client (protocol spec section 5).

#include <string_view>

namespace tern::proto {

// A subject a subscription may use: non-empty tokens separated by '.', no whitespace,
// wildcards only as whole tokens, '>' only as the last token.
bool is_valid_subscribe_subject(std::string_view subject);

// A subject a publish may use in pedantic mode: valid and without wildcard tokens.
bool is_valid_publish_subject(std::string_view subject);

// True when no token is '*' or '>'.
bool is_literal_subject(std::string_view subject);

// A queue group name: non-empty, no whitespace.
bool is_valid_queue_name(std::string_view queue);

// Does `subject` (as published; may itself contain wildcard tokens, which then only
// match wildcard tokens of `pattern`) match subscription `pattern`? Empty tokens in
// `subject` match nothing, as in nats-server.
bool subject_matches(std::string_view pattern, std::string_view subject);

// Is every subject `sub` matches (wildcards included) also matched by `pattern`? nats-server's
// subjectIsSubsetMatch: stream subjects against $JS.API.>, consumer filters against stream subjects.
bool subject_is_subset_match(std::string_view sub, std::string_view pattern);

// Calls fn(token) for each '.'-separated token of subject.
template <class Fn>
void for_each_token(std::string_view subject, Fn&& fn) {
  size_t start = 0;
  for (;;) {
    size_t dot = subject.find('.', start);
    if (dot == std::string_view::npos) {
      fn(subject.substr(start));
      return;
    }
    fn(subject.substr(start, dot - start));
    start = dot + 1;
  }
}

}  // namespace tern::proto
