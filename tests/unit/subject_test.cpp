// Unit tests for proto/subject (protocol spec section 5 and 3.1 rule 5) and
// proto/wire_errors (section 9).

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "proto/subject.h"
#include "proto/wire_errors.h"

using namespace tern::proto;
using namespace std::string_literals;

TEST_CASE("subject: valid subscribe subjects", "[subject]") {
  for (std::string_view s : {"foo", "foo.bar", "foo.bar.baz.qux.quux", "*", ">", "foo.*", "*.bar", "foo.>", "*.*.>",
                             "foo.*.baz", "foo*", "*foo", "foo.*bar", "f>o", ">foo", "foo.>bar", "$JS.API.>",
                             "_INBOX.abc.*", "a-b_c.d$e", "\xc3\xa9.\xc3\xbc", "UPPER.lower", "1.2.3"}) {
    INFO("subject: '" << std::string(s) << "'");
    CHECK(is_valid_subscribe_subject(s));
  }
}

TEST_CASE("subject: invalid subscribe subjects", "[subject]") {
  for (std::string_view s : {"", ".", "..", ".foo", "foo.", "foo..bar", "foo.bar.", ".foo.bar", "foo.>.bar", ">.foo",
                             ">.>", ">.*", "foo.>.>", "foo bar", " foo", "foo ", "foo\tbar", "foo\rbar", "foo\nbar",
                             "foo\fbar", "foo. .bar", "foo.\t", " ", "*.>. ", "a.*. "}) {
    INFO("subject: '" << std::string(s) << "'");
    CHECK_FALSE(is_valid_subscribe_subject(s));
  }
}

TEST_CASE("subject: publish subjects must be valid and literal", "[subject]") {
  CHECK(is_valid_publish_subject("foo"));
  CHECK(is_valid_publish_subject("foo.bar.baz"));
  CHECK(is_valid_publish_subject("foo*"));       // a literal token
  CHECK(is_valid_publish_subject("foo.>bar"));   // a literal token
  CHECK(is_valid_publish_subject("_INBOX.x.y"));
  CHECK_FALSE(is_valid_publish_subject("*"));
  CHECK_FALSE(is_valid_publish_subject(">"));
  CHECK_FALSE(is_valid_publish_subject("foo.*"));
  CHECK_FALSE(is_valid_publish_subject("foo.>"));
  CHECK_FALSE(is_valid_publish_subject("*.bar"));
  CHECK_FALSE(is_valid_publish_subject(""));
  CHECK_FALSE(is_valid_publish_subject("foo..bar"));
  CHECK_FALSE(is_valid_publish_subject(".foo"));
  CHECK_FALSE(is_valid_publish_subject("foo."));
  CHECK_FALSE(is_valid_publish_subject("foo bar"));
  CHECK_FALSE(is_valid_publish_subject("foo\tbar"));
}

TEST_CASE("subject: literal means no token is exactly * or >", "[subject]") {
  CHECK(is_literal_subject("foo"));
  CHECK(is_literal_subject("foo.bar"));
  CHECK(is_literal_subject("foo*"));
  CHECK(is_literal_subject("**"));
  CHECK(is_literal_subject(">>"));
  CHECK(is_literal_subject("a.*b.>c"));
  CHECK_FALSE(is_literal_subject("*"));
  CHECK_FALSE(is_literal_subject(">"));
  CHECK_FALSE(is_literal_subject("a.*"));
  CHECK_FALSE(is_literal_subject("*.a"));
  CHECK_FALSE(is_literal_subject("a.*.b"));
  CHECK_FALSE(is_literal_subject("a.>"));
}

TEST_CASE("subject: queue names", "[subject]") {
  CHECK(is_valid_queue_name("q"));
  CHECK(is_valid_queue_name("workers.v1"));
  CHECK(is_valid_queue_name("*"));
  CHECK_FALSE(is_valid_queue_name(""));
  CHECK_FALSE(is_valid_queue_name("a b"));
  CHECK_FALSE(is_valid_queue_name("a\t"));
  CHECK_FALSE(is_valid_queue_name("\r"));
}

TEST_CASE("subject: for_each_token yields every token, empty ones included", "[subject]") {
  auto tokens = [](std::string_view s) {
    std::vector<std::string> v;
    for_each_token(s, [&](std::string_view t) { v.emplace_back(t); });
    return v;
  };
  CHECK(tokens("a") == std::vector<std::string>{"a"});
  CHECK(tokens("a.b.c") == std::vector<std::string>{"a", "b", "c"});
  CHECK(tokens("") == std::vector<std::string>{""});
  CHECK(tokens("a..b") == std::vector<std::string>{"a", "", "b"});
  CHECK(tokens(".a.") == std::vector<std::string>{"", "a", ""});
}

TEST_CASE("subject: literal patterns match only the same subject", "[subject]") {
  CHECK(subject_matches("foo", "foo"));
  CHECK(subject_matches("foo.bar.baz", "foo.bar.baz"));
  CHECK_FALSE(subject_matches("foo", "bar"));
  CHECK_FALSE(subject_matches("foo", "Foo"));  // case-sensitive
  CHECK_FALSE(subject_matches("foo", "foo.bar"));
  CHECK_FALSE(subject_matches("foo.bar", "foo"));
  CHECK_FALSE(subject_matches("foo.bar", "foo.baz"));
  CHECK_FALSE(subject_matches("foo", "fo"));
  CHECK_FALSE(subject_matches("foo", "fooo"));
  CHECK_FALSE(subject_matches("foo*", "foobar"));  // foo* is a literal token
  CHECK(subject_matches("foo*", "foo*"));
  CHECK_FALSE(subject_matches("foo.bar", "foo.barx"));
}

TEST_CASE("subject: * matches exactly one token", "[subject]") {
  CHECK(subject_matches("*", "foo"));
  CHECK_FALSE(subject_matches("*", "foo.bar"));
  CHECK(subject_matches("foo.*", "foo.bar"));
  CHECK_FALSE(subject_matches("foo.*", "foo"));
  CHECK_FALSE(subject_matches("foo.*", "foo.bar.baz"));
  CHECK(subject_matches("*.bar", "foo.bar"));
  CHECK_FALSE(subject_matches("*.bar", "foo.baz"));
  CHECK(subject_matches("*.*", "a.b"));
  CHECK_FALSE(subject_matches("*.*", "a"));
  CHECK_FALSE(subject_matches("*.*", "a.b.c"));
  CHECK(subject_matches("foo.*.baz", "foo.bar.baz"));
  CHECK_FALSE(subject_matches("foo.*.baz", "foo.bar.qux"));
  CHECK(subject_matches("_INBOX.abc.*", "_INBOX.abc.Xy12AbCd"));
}

TEST_CASE("subject: > matches one or more trailing tokens", "[subject]") {
  CHECK(subject_matches(">", "foo"));
  CHECK(subject_matches(">", "foo.bar.baz"));
  CHECK(subject_matches("foo.>", "foo.bar"));
  CHECK(subject_matches("foo.>", "foo.bar.baz"));
  CHECK_FALSE(subject_matches("foo.>", "foo"));  // needs at least one token
  CHECK_FALSE(subject_matches("foo.>", "bar.baz"));
  CHECK_FALSE(subject_matches("foo.*.>", "foo.bar"));
  CHECK(subject_matches("foo.*.>", "foo.bar.baz"));
  CHECK(subject_matches("*.>", "a.b"));
  CHECK_FALSE(subject_matches("*.>", "a"));
  CHECK(subject_matches("$JS.API.>", "$JS.API.CONSUMER.CREATE.ORDERS.worker.ORDERS.*"));
}

TEST_CASE("subject: wildcard tokens in a published subject only match wildcard pattern tokens (3.1 rule 5)",
          "[subject]") {
  // A publish to a.* or a.> reaches subs on a.*, a.>, *.*, *.> and >; neither reaches a.b.
  for (std::string_view published : {"a.*", "a.>"}) {
    INFO("published: " << std::string(published));
    CHECK(subject_matches("a.*", published));
    CHECK(subject_matches("a.>", published));
    CHECK(subject_matches("*.*", published));
    CHECK(subject_matches("*.>", published));
    CHECK(subject_matches(">", published));
    CHECK_FALSE(subject_matches("a.b", published));
    CHECK_FALSE(subject_matches("a", published));
    CHECK_FALSE(subject_matches("a.*.c", published));
    CHECK_FALSE(subject_matches("b.*", published));
  }
  CHECK(subject_matches("*", "*"));
  CHECK(subject_matches("*", ">"));
  CHECK(subject_matches(">", "*"));
  CHECK(subject_matches(">", ">"));
  CHECK_FALSE(subject_matches("foo", "*"));
  CHECK_FALSE(subject_matches("foo", ">"));
  CHECK_FALSE(subject_matches("*.*", ">"));  // > as a published token is one literal-like token
  CHECK(subject_matches("a.*.c", "a.>.c"));
  CHECK(subject_matches("a.*.c", "a.*.c"));
  CHECK_FALSE(subject_matches("a.b.c", "a.*.c"));
  CHECK(subject_matches("$JS.API.CONSUMER.CREATE.*.*.>", "$JS.API.CONSUMER.CREATE.ORDERS.worker.ORDERS.>"));
  CHECK_FALSE(subject_matches("$JS.API.CONSUMER.CREATE.ORDERS.worker.ORDERS.new",
                              "$JS.API.CONSUMER.CREATE.ORDERS.worker.ORDERS.*"));
}

TEST_CASE("subject: a published subject with empty tokens matches nothing", "[subject]") {
  for (std::string_view published : {"", ".", "a..b", ".a", "a.", "a.b.", "..", "a.*."}) {
    INFO("published: '" << std::string(published) << "'");
    CHECK_FALSE(subject_matches(">", published));
    CHECK_FALSE(subject_matches("*", published));
    CHECK_FALSE(subject_matches("a.>", published));
    CHECK_FALSE(subject_matches("*.>", published));
    CHECK_FALSE(subject_matches("a.*.b", published));
    CHECK_FALSE(subject_matches("*.*", published));
    CHECK_FALSE(subject_matches(std::string(published), published));
  }
}

namespace {

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> v;
  size_t start = 0;
  for (;;) {
    size_t d = s.find('.', start);
    v.emplace_back(s.substr(start, d == std::string_view::npos ? std::string_view::npos : d - start));
    if (d == std::string_view::npos) return v;
    start = d + 1;
  }
}

// Reference matcher, written from spec section 5 and 3.1 rule 5.
bool reference_match(std::string_view pattern, std::string_view subject) {
  std::vector<std::string> p = split(pattern), s = split(subject);
  for (const std::string& t : s)
    if (t.empty()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">") return i < s.size();  // one or more remaining tokens
    if (i >= s.size()) return false;
    if (p[i] == "*") continue;
    if (p[i] != s[i]) return false;  // a published '*' or '>' equals only a pattern '*'/'>' handled above
  }
  return p.size() == s.size();
}

std::string random_subject(std::mt19937& rng, const std::vector<std::string>& alphabet, int max_depth) {
  int depth = std::uniform_int_distribution<int>(1, max_depth)(rng);
  std::string s;
  for (int i = 0; i < depth; ++i) {
    if (i) s += '.';
    s += alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
  }
  return s;
}

}  // namespace

TEST_CASE("subject: subject_matches agrees with a reference matcher on random pairs", "[subject]") {
  std::mt19937 rng(12345);
  const std::vector<std::string> pat_alpha{"a", "b", "*", ">"};
  const std::vector<std::string> subj_alpha{"a", "b", "c", "*", ">", ""};
  int matched = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string p = random_subject(rng, pat_alpha, 4);
    if (!is_valid_subscribe_subject(p)) continue;
    std::string s = random_subject(rng, subj_alpha, 5);
    INFO("pattern '" << p << "' subject '" << s << "'");
    bool want = reference_match(p, s);
    REQUIRE(subject_matches(p, s) == want);
    matched += want;
  }
  CHECK(matched > 500);  // the alphabet is small enough that matches are common
}

// ---------------------------------------------------------------------------------------
// wire_errors

TEST_CASE("wire_errors: texts are exactly nats-server 2.9.10's", "[subject][wire_errors]") {
  CHECK(wire_error_text(WireError::UnknownOp) == "Unknown Protocol Operation");
  CHECK(wire_error_text(WireError::AuthorizationViolation) == "Authorization Violation");
  CHECK(wire_error_text(WireError::AuthenticationTimeout) == "Authentication Timeout");
  CHECK(wire_error_text(WireError::InvalidClientProtocol) == "invalid client protocol");
  CHECK(wire_error_text(WireError::NoRespondersRequiresHeaders) == "no responders requires headers support");
  CHECK(wire_error_text(WireError::MaxControlLine) == "maximum control line exceeded");
  CHECK(wire_error_text(WireError::MaxPayload) == "Maximum Payload Violation");
  CHECK(wire_error_text(WireError::StaleConnection) == "Stale Connection");
  CHECK(wire_error_text(WireError::MaxConnections) == "maximum connections exceeded");
  CHECK(wire_error_text(WireError::InvalidSubject) == "Invalid Subject");
  CHECK(wire_error_text(WireError::InvalidPublishSubject) == "Invalid Publish Subject");
  CHECK(wire_error_text(WireError::MaxSubscriptions) == "maximum subscriptions exceeded");
}

TEST_CASE("wire_errors: which errors close the connection", "[subject][wire_errors]") {
  CHECK(wire_error_closes(WireError::UnknownOp));
  CHECK(wire_error_closes(WireError::AuthorizationViolation));
  CHECK(wire_error_closes(WireError::AuthenticationTimeout));
  CHECK(wire_error_closes(WireError::InvalidClientProtocol));
  CHECK(wire_error_closes(WireError::NoRespondersRequiresHeaders));
  CHECK(wire_error_closes(WireError::MaxControlLine));
  CHECK(wire_error_closes(WireError::MaxPayload));
  CHECK(wire_error_closes(WireError::StaleConnection));
  CHECK(wire_error_closes(WireError::MaxConnections));
  CHECK_FALSE(wire_error_closes(WireError::InvalidSubject));
  CHECK_FALSE(wire_error_closes(WireError::InvalidPublishSubject));
  CHECK_FALSE(wire_error_closes(WireError::MaxSubscriptions));
}

TEST_CASE("wire_errors: -ERR lines are single-quoted and CRLF-terminated", "[subject][wire_errors]") {
  CHECK(err_line(WireError::UnknownOp) == "-ERR 'Unknown Protocol Operation'\r\n");
  CHECK(err_line(WireError::MaxControlLine) == "-ERR 'maximum control line exceeded'\r\n");
  CHECK(err_line(WireError::InvalidSubject) == "-ERR 'Invalid Subject'\r\n");
  CHECK(err_line("anything at all") == "-ERR 'anything at all'\r\n");
  CHECK(err_line("") == "-ERR ''\r\n");
}

TEST_CASE("wire_errors: permission violation texts carry Go-quoted subjects", "[subject][wire_errors]") {
  CHECK(publish_violation_text("foo.bar") == "Permissions Violation for Publish to \"foo.bar\"");
  CHECK(publish_violation_text("_GR_.x") == "Permissions Violation for Publish to \"_GR_.x\"");
  CHECK(reply_violation_text("_R_.abc") == "Permissions Violation for Publish with Reply of \"_R_.abc\"");
  CHECK(subscribe_violation_text("foo.>", "") == "Permissions Violation for Subscription to \"foo.>\"");
  CHECK(subscribe_violation_text("foo", "q1") == "Permissions Violation for Subscription to \"foo\" using queue \"q1\"");
  CHECK(err_line(reply_violation_text("_R_.a\"b")) ==
        "-ERR 'Permissions Violation for Publish with Reply of \"_R_.a\\\"b\"'\r\n");
}

TEST_CASE("wire_errors: go_quote escapes like Go's %q", "[subject][wire_errors]") {
  CHECK(go_quote("") == "\"\"");
  CHECK(go_quote("foo.bar") == "\"foo.bar\"");
  CHECK(go_quote("a b") == "\"a b\"");
  CHECK(go_quote("it's") == "\"it's\"");
  CHECK(go_quote("a\"b") == "\"a\\\"b\"");
  CHECK(go_quote("a\\b") == "\"a\\\\b\"");
  CHECK(go_quote("\n") == "\"\\n\"");
  CHECK(go_quote("\r") == "\"\\r\"");
  CHECK(go_quote("\t") == "\"\\t\"");
  CHECK(go_quote("\0"s) == "\"\\x00\"");
  CHECK(go_quote("\x01") == "\"\\x01\"");
  CHECK(go_quote("\x1f") == "\"\\x1f\"");
  CHECK(go_quote("\x7f") == "\"\\x7f\"");
  CHECK(go_quote("~") == "\"~\"");
  // Valid, printable UTF-8 passes through.
  CHECK(go_quote("\xc3\xa9") == "\"\xc3\xa9\"");
  CHECK(go_quote("\xf0\x9f\x98\x80") == "\"\xf0\x9f\x98\x80\"");
}

TEST_CASE("wire_errors: go_quote uses Go's short escapes and escapes invalid UTF-8", "[subject][wire_errors]") {
  // Checked against nats-server 2.9.10: "PUB foo _R_.<bytes> 0" gets back
  //   -ERR 'Permissions Violation for Publish with Reply of "_R_.\a\b\f\v\xff\xc3\xa9"'
  // for the bytes 07 08 0c 0b ff c3 a9, and "\u00a0\x00\x1f\x7f" for c2 a0 00 1f 7f, and
  // "\u2028" for e2 80 a8 and "\xc3" for a truncated sequence (strconv.Quote rules).
  CHECK(go_quote("\a") == "\"\\a\"");
  CHECK(go_quote("\b") == "\"\\b\"");
  CHECK(go_quote("\f") == "\"\\f\"");
  CHECK(go_quote("\v") == "\"\\v\"");
  CHECK(go_quote("\xff") == "\"\\xff\"");
  CHECK(go_quote("\xc3") == "\"\\xc3\"");
  CHECK(go_quote("\xc2\xa0") == "\"\\u00a0\"");
  CHECK(go_quote("\xe2\x80\xa8") == "\"\\u2028\"");
  CHECK(reply_violation_text("_R_.\x07\x08\x0c\x0b\xff\xc3\xa9") ==
        "Permissions Violation for Publish with Reply of \"_R_.\\a\\b\\f\\v\\xff\xc3\xa9\"");
}

TEST_CASE("subject: subset match is nats' subjectIsSubsetMatch", "[subject]") {
  using tern::proto::subject_is_subset_match;
  CHECK(subject_is_subset_match("orders.new", "orders.*"));
  CHECK(subject_is_subset_match("orders.*", "orders.>"));
  CHECK(subject_is_subset_match("orders.a.b", "orders.>"));
  CHECK(subject_is_subset_match("orders.*", "orders.*"));
  CHECK_FALSE(subject_is_subset_match("orders.>", "orders.*"));  // > reaches deeper than *
  CHECK_FALSE(subject_is_subset_match("orders", "orders.>"));    // > needs a token
  CHECK_FALSE(subject_is_subset_match("orders.*", "orders.new"));
  CHECK_FALSE(subject_is_subset_match("orders.new.x", "orders.*"));
  CHECK(subject_is_subset_match("$JS.API.STREAM.INFO.X", "$JS.API.>"));
  CHECK_FALSE(subject_is_subset_match("$JS.>", "$JS.API.>"));
}
