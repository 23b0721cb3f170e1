// The NATS config syntax, case by case, against what nats-server 2.9.10's conf/ package produces.

#include "server/config/conf_parser.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>

using namespace tern;
using namespace tern::server;

namespace {

// Includes come from this map instead of the disk.
struct FakeFiles {
  std::map<std::string, std::string> files;
  ConfFileReader reader() const {
    return [this](const std::string& path) -> Result<std::string> {
      auto it = files.find(path);
      if (it == files.end()) return Status::error("cannot open " + path + ": No such file or directory");
      return it->second;
    };
  }
};

ConfMap parse_ok(std::string_view text) {
  FakeFiles none;
  Result<ConfMap> m = parse_conf(text, "t.conf", none.reader());
  INFO(text);
  if (!m.is_ok()) FAIL(m.status().message());
  return m.value();
}

std::string parse_error(std::string_view text) {
  FakeFiles none;
  Result<ConfMap> m = parse_conf(text, "t.conf", none.reader());
  INFO(text);
  REQUIRE_FALSE(m.is_ok());
  return m.status().message();
}

const ConfValue& get(const ConfMap& m, std::string_view key) {
  const ConfEntry* e = find_entry(m, key);
  INFO(key);
  REQUIRE(e != nullptr);
  return e->value;
}

}  // namespace

TEST_CASE("conf: the three key separators", "[conf]") {
  ConfMap m = parse_ok("a: 1\nb = 2\nc 3\nd:4\ne=5\n");
  CHECK(get(m, "a").as_integer() == 1);
  CHECK(get(m, "b").as_integer() == 2);
  CHECK(get(m, "c").as_integer() == 3);
  CHECK(get(m, "d").as_integer() == 4);
  CHECK(get(m, "e").as_integer() == 5);
}

TEST_CASE("conf: entries end with a newline, a comma or a semicolon", "[conf]") {
  ConfMap m = parse_ok("a: 1; b: 2, c: x\r\nd: y");
  CHECK(get(m, "a").as_integer() == 1);
  CHECK(get(m, "b").as_integer() == 2);
  CHECK(get(m, "c").as_string() == "x");
  CHECK(get(m, "d").as_string() == "y");
}

TEST_CASE("conf: a JSON-style file wrapped in braces", "[conf]") {
  ConfMap m = parse_ok("{\n  \"port\": 4222,\n  \"debug\": true\n}\n");
  CHECK(get(m, "port").as_integer() == 4222);
  CHECK(get(m, "debug").as_bool());
}

TEST_CASE("conf: unquoted strings keep addresses and durations whole", "[conf]") {
  ConfMap m = parse_ok(
      "listen: 127.0.0.1:4222\n"
      "wd: 10s\n"
      "ms: 500ms\n"
      "f: 1.5s\n"
      "path: /var/lib/tern\n"
      "hash: #notacomment\n"
      "word: it's\n");
  CHECK(get(m, "listen").as_string() == "127.0.0.1:4222");
  CHECK(get(m, "wd").as_string() == "10s");
  CHECK(get(m, "ms").as_string() == "500ms");
  CHECK(get(m, "f").as_string() == "1.5s");
  CHECK(get(m, "path").as_string() == "/var/lib/tern");
  CHECK(get(m, "hash").as_string() == "#notacomment");  // as in nats: only a comment where a key may start
  CHECK(get(m, "word").as_string() == "it's");
}

TEST_CASE("conf: quoted strings", "[conf]") {
  ConfMap m = parse_ok(
      "a: 'single \\n raw'\n"
      "b: \"tab\\there\\nnl \\\"q\\\" \\\\ \\x41\"\n"
      "c: \"4222\"\n"
      "d: ''\n"
      "e: \"multi\nline\"\n"
      "f: 'a, b; c } d'\n");
  CHECK(get(m, "a").as_string() == "single \\n raw");
  CHECK(get(m, "b").as_string() == "tab\there\nnl \"q\" \\ A");
  CHECK(get(m, "c").as_string() == "4222");
  CHECK(get(m, "d").as_string().empty());
  CHECK(get(m, "e").as_string() == "multi\nline");
  CHECK(get(m, "f").as_string() == "a, b; c } d");
  CHECK(get(m, "f").line == 7);  // the newline inside "e" was counted
}

TEST_CASE("conf: quoted keys", "[conf]") {
  ConfMap m = parse_ok("\"my key\": 1\n'other key' = 2\n");
  CHECK(get(m, "my key").as_integer() == 1);
  CHECK(get(m, "other key").as_integer() == 2);
}

TEST_CASE("conf: integers, floats and negative numbers", "[conf]") {
  ConfMap m = parse_ok("a: 42\nb: -7\nc: 3.25\nd: -0.5\ne: 9223372036854775807\n");
  CHECK(get(m, "a").as_integer() == 42);
  CHECK(get(m, "b").as_integer() == -7);
  CHECK(get(m, "c").as_float() == 3.25);
  CHECK(get(m, "d").as_float() == -0.5);
  CHECK(get(m, "e").as_integer() == INT64_MAX);
  CHECK(parse_error("a: 9223372036854775808\n").find("t.conf:1: integer 9223372036854775808 is out of range") == 0);
}

TEST_CASE("conf: size suffixes follow nats-server (k = 1000, kb = 1024)", "[conf]") {
  ConfMap m = parse_ok(
      "k: 1k\nK: 1K\nkb: 1kb\nKB: 64KB\nki: 1Ki\nkib: 1KiB\n"
      "m: 2m\nmb: 1MB\nmi: 1Mi\ng: 1g\ngb: 1GB\nt: 1T\ntb: 1TB\np: 1p\npb: 1PB\ne: 1e\neb: 1EB\n"
      "neg: -2k\n");
  CHECK(get(m, "k").as_integer() == 1000);
  CHECK(get(m, "K").as_integer() == 1000);
  CHECK(get(m, "kb").as_integer() == 1024);
  CHECK(get(m, "KB").as_integer() == 64 * 1024);
  CHECK(get(m, "ki").as_integer() == 1024);
  CHECK(get(m, "kib").as_integer() == 1024);
  CHECK(get(m, "m").as_integer() == 2000000);  // why durations must be quoted: 2m is not two minutes
  CHECK(get(m, "m").text == "2m");
  CHECK(get(m, "mb").as_integer() == 1024 * 1024);
  CHECK(get(m, "mi").as_integer() == 1024 * 1024);
  CHECK(get(m, "g").as_integer() == 1000000000);
  CHECK(get(m, "gb").as_integer() == int64_t{1} << 30);
  CHECK(get(m, "t").as_integer() == 1000000000000);
  CHECK(get(m, "tb").as_integer() == int64_t{1} << 40);
  CHECK(get(m, "p").as_integer() == 1000000000000000);
  CHECK(get(m, "pb").as_integer() == int64_t{1} << 50);
  CHECK(get(m, "e").as_integer() == 1000000000000000000);
  CHECK(get(m, "eb").as_integer() == int64_t{1} << 60);
  CHECK(get(m, "neg").as_integer() == -2000);

  CHECK(parse_error("a: 1kbb\n").find("t.conf:1: unknown size suffix \"kbb\"") == 0);
  CHECK(parse_error("a: 16EB\n").find("out of range") != std::string::npos);
  CHECK(parse_conf_integer("64KB").value() == 65536);
  CHECK_FALSE(parse_conf_integer("abc").is_ok());
}

TEST_CASE("conf: booleans in every spelling", "[conf]") {
  ConfMap m = parse_ok("a: true\nb: FALSE\nc: yes\nd: No\ne: on\nf: off\ng: \"true\"\n");
  CHECK(get(m, "a").as_bool());
  CHECK_FALSE(get(m, "b").as_bool());
  CHECK(get(m, "c").as_bool());
  CHECK_FALSE(get(m, "d").as_bool());
  CHECK(get(m, "e").as_bool());
  CHECK_FALSE(get(m, "f").as_bool());
  CHECK(get(m, "g").is_string());  // quoted: stays a string
}

TEST_CASE("conf: comments", "[conf]") {
  ConfMap m = parse_ok(
      "# a comment\n"
      "// another\n"
      "a: 1 # trailing\n"
      "b: 2 // trailing\n"
      "c {  # in a map\n"
      "  d: 3  // here too\n"
      "}\n"
      "e: [ # in an array\n"
      "  4 # after an element\n"
      "  5\n"
      "]\n");
  CHECK(get(m, "a").as_integer() == 1);
  CHECK(get(m, "b").as_integer() == 2);
  CHECK(get(get(m, "c").as_map(), "d").as_integer() == 3);
  REQUIRE(get(m, "e").as_array().size() == 2);
  CHECK(get(m, "e").as_array()[1].as_integer() == 5);
}

TEST_CASE("conf: nested maps in every separator style", "[conf]") {
  ConfMap m = parse_ok(
      "authorization {\n"
      "  user: alice\n"
      "  password = 's3cret'\n"
      "  inner: { x: 1, y: 2; z 3 }\n"
      "}\n"
      "other = {a: 1}\n"
      "m: {\n"
      "  k:\n"
      "    v\n"
      "}\n");
  const ConfMap& auth = get(m, "authorization").as_map();
  CHECK(get(auth, "user").as_string() == "alice");
  CHECK(get(auth, "password").as_string() == "s3cret");
  const ConfMap& inner = get(auth, "inner").as_map();
  CHECK(get(inner, "x").as_integer() == 1);
  CHECK(get(inner, "y").as_integer() == 2);
  CHECK(get(inner, "z").as_integer() == 3);
  CHECK(get(get(m, "other").as_map(), "a").as_integer() == 1);
  CHECK(get(get(m, "m").as_map(), "k").as_string() == "v");  // in a map a value may follow on the next line
}

TEST_CASE("conf: arrays split by commas or newlines", "[conf]") {
  ConfMap m = parse_ok(
      "a: [1, 2, 3]\n"
      "b: [\n  \"x\"\n  'y',\n  z\n]\n"
      "c: []\n"
      "d: [1, [2, 3], {k: v}]\n"
      "e: [1, 2, ]\n");
  CHECK(get(m, "a").as_array().size() == 3);
  CHECK(get(m, "a").as_array()[2].as_integer() == 3);  // ']' ends a number here (nats made it "3")
  const ConfArray& b = get(m, "b").as_array();
  REQUIRE(b.size() == 3);
  CHECK(b[0].as_string() == "x");
  CHECK(b[1].as_string() == "y");
  CHECK(b[2].as_string() == "z");
  CHECK(b[2].line == 5);
  CHECK(get(m, "c").as_array().empty());
  const ConfArray& d = get(m, "d").as_array();
  REQUIRE(d.size() == 3);
  CHECK(d[1].as_array()[1].as_integer() == 3);
  CHECK(get(d[2].as_map(), "k").as_string() == "v");
  CHECK(get(m, "e").as_array().size() == 2);
}

TEST_CASE("conf: a repeated key replaces the earlier value in place", "[conf]") {
  ConfMap m = parse_ok("a: 1\nb: 2\na: 3\n");
  REQUIRE(m.size() == 2);
  CHECK(m[0].key == "a");
  CHECK(m[0].value.as_integer() == 3);
  CHECK(m[0].key_line == 3);
}

TEST_CASE("conf: raw block strings", "[conf]") {
  ConfMap m = parse_ok("text: (\nline one\nline (two)\n)\nafter: 1\n");
  CHECK(get(m, "text").as_string() == "\nline one\nline (two)\n");
  CHECK(get(m, "after").as_integer() == 1);
}

TEST_CASE("conf: lines of keys and values", "[conf]") {
  ConfMap m = parse_ok("\n\na: 1\nb {\n  c: [\n    1\n  ]\n}\n");
  CHECK(find_entry(m, "a")->key_line == 3);
  CHECK(find_entry(m, "b")->key_line == 4);
  const ConfEntry* c = find_entry(get(m, "b").as_map(), "c");
  CHECK(c->key_line == 5);
  CHECK(c->value.as_array()[0].line == 6);
  CHECK(c->where() == "t.conf:5");
}

TEST_CASE("conf: variables from earlier keys, with block scope", "[conf]") {
  ConfMap m = parse_ok(
      "TOKEN: \"abc\"\n"
      "PORT = 4222\n"
      "authorization {\n"
      "  inner_var: x\n"
      "  token: $TOKEN\n"
      "  again: $inner_var\n"
      "}\n"
      "port: $PORT\n"
      "list: [$PORT, $TOKEN]\n");
  const ConfMap& auth = get(m, "authorization").as_map();
  CHECK(get(auth, "token").as_string() == "abc");
  CHECK(get(auth, "token").line == 5);  // points at the use, not the definition
  CHECK(get(auth, "again").as_string() == "x");
  CHECK(get(m, "port").as_integer() == 4222);
  CHECK(get(m, "list").as_array()[1].as_string() == "abc");
  CHECK(get(m, "TOKEN").used_as_variable);
  CHECK(get(m, "PORT").used_as_variable);
  CHECK_FALSE(get(m, "port").used_as_variable);

  // A key inside a block is not visible after the block closes.
  CHECK(parse_error("a { v: 1 }\nb: $v\n").find("t.conf:2: variable $v is not defined") == 0);
}

TEST_CASE("conf: variables from the environment are parsed as values", "[conf]") {
  setenv("TERN_TEST_CONF_PORT", "4333", 1);
  setenv("TERN_TEST_CONF_HOST", "127.0.0.1", 1);
  setenv("TERN_TEST_CONF_LIST", "[a, b]", 1);
  setenv("TERN_TEST_CONF_LOOP", "$TERN_TEST_CONF_LOOP", 1);
  ConfMap m = parse_ok("port: $TERN_TEST_CONF_PORT\nhost: $TERN_TEST_CONF_HOST\nl: $TERN_TEST_CONF_LIST\n");
  CHECK(get(m, "port").as_integer() == 4333);
  CHECK(get(m, "host").as_string() == "127.0.0.1");
  CHECK(get(m, "l").as_array().size() == 2);
  // A file key shadows the environment.
  ConfMap shadow = parse_ok("TERN_TEST_CONF_PORT: 1\np: $TERN_TEST_CONF_PORT\n");
  CHECK(get(shadow, "p").as_integer() == 1);
  // A variable that names itself ends with an error, not a stack overflow.
  CHECK(parse_error("p: $TERN_TEST_CONF_LOOP\n").find("too deeply") != std::string::npos);
  unsetenv("TERN_TEST_CONF_LOOP");
}

TEST_CASE("conf: an unquoted bcrypt hash is not a variable", "[conf]") {
  ConfMap m = parse_ok("password: $2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG\n");
  CHECK(get(m, "password").as_string() == "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG");
}

TEST_CASE("conf: include merges another file, relative to the including one", "[conf]") {
  FakeFiles fs;
  fs.files["dir/main.conf"] = "port: 1\ninclude 'auth.conf'\nm { include \"sub/inner.conf\" }\nafter: $user\n";
  fs.files["dir/auth.conf"] = "user: bob\nport: 2\n";
  fs.files["dir/sub/inner.conf"] = "x: 1\n\n\nbad: [\n";
  Result<ConfMap> failing = parse_conf_file("dir/main.conf", fs.reader());
  REQUIRE_FALSE(failing.is_ok());
  CHECK(failing.status().message() == "dir/sub/inner.conf:4: the '[' on this line has no matching ']'");

  fs.files["dir/sub/inner.conf"] = "x: 1\ninclude ../leaf.conf\n";
  fs.files["dir/leaf.conf"] = "y: 2\n";
  Result<ConfMap> m = parse_conf_file("dir/main.conf", fs.reader());
  if (!m.is_ok()) FAIL(m.status().message());
  CHECK(get(m.value(), "port").as_integer() == 2);  // the include came later and wins
  CHECK(get(m.value(), "user").as_string() == "bob");
  CHECK(*get(m.value(), "user").file == "dir/auth.conf");
  CHECK(get(m.value(), "after").as_string() == "bob");  // included keys are variables too
  const ConfMap& inner = get(m.value(), "m").as_map();
  CHECK(get(inner, "x").as_integer() == 1);
  CHECK(get(inner, "y").as_integer() == 2);

  fs.files["dir/main.conf"] = "a: 1\ninclude missing.conf\n";
  Result<ConfMap> missing = parse_conf_file("dir/main.conf", fs.reader());
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().message().find("dir/main.conf:2: include \"missing.conf\": cannot open dir/missing.conf") ==
        0);

  fs.files["self.conf"] = "include self.conf\n";
  Result<ConfMap> cycle = parse_conf_file("self.conf", fs.reader());
  REQUIRE_FALSE(cycle.is_ok());
  CHECK(cycle.status().message().find("includes nested more than 10 deep") != std::string::npos);
}

TEST_CASE("conf: syntax errors name the file and line", "[conf]") {
  CHECK(parse_error("a: 1\nb: 'open\n") == "t.conf:2: quoted string has no closing '");
  CHECK(parse_error("a: 1\n\nb: \"open\n") == "t.conf:3: quoted string has no closing \"");
  CHECK(parse_error("a {\n  b: 1\n") == "t.conf:1: the '{' on this line has no matching '}'");
  CHECK(parse_error("a: [1, 2\n") == "t.conf:1: the '[' on this line has no matching ']'");
  CHECK(parse_error("a: [1 2]\n") == "t.conf:1: expected ',' or ']' in an array, got '2'");
  CHECK(parse_error("a: [, 1]\n") == "t.conf:1: unexpected ',' in an array");
  CHECK(parse_error("a:\nb: 1\n") == "t.conf:1: key \"a\" has no value");
  CHECK(parse_error("x: 1\nlonely\n") == "t.conf:2: key \"lonely\" has no value");
  CHECK(parse_error(": 1\n") == "t.conf:1: expected a key, got ':'");
  CHECK(parse_error("a: 1 2\n") == "t.conf:1: expected a new line, ',' or ';' after a value, got '2'");
  CHECK(parse_error("a: \"\\q\"\n").find("t.conf:1: invalid escape '\\q'") == 0);
  CHECK(parse_error("a: \"\\xZZ\"\n") == "t.conf:1: expected two hexadecimal digits after '\\x'");
  CHECK(parse_error("a: $nope\n").find("t.conf:1: variable $nope is not defined") == 0);
  CHECK(parse_error("a: (\nno end") == "t.conf:1: the '(' on this line has no ')' on a line of its own");
  CHECK(parse_error("include\n") == "t.conf:1: include needs a file name");
  CHECK(parse_error("'key\n") == "t.conf:1: quoted key has no closing '");
}

TEST_CASE("conf: nesting is bounded", "[conf]") {
  std::string ok = "a: " + std::string(kMaxConfDepth, '[') + std::string(kMaxConfDepth, ']');
  parse_ok(ok);
  std::string deep = "a: " + std::string(100000, '[');
  CHECK(parse_error(deep).find("nested more than 64 deep") != std::string::npos);
  std::string maps;
  for (int i = 0; i < 1000; ++i) maps += "a { ";
  CHECK(parse_error(maps).find("nested more than 64 deep") != std::string::npos);
}

TEST_CASE("conf: variable expansion cannot blow up memory", "[conf]") {
  std::string text = "a: [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]\n";
  std::string prev = "a";
  for (int i = 0; i < 12; ++i) {  // 16^13 elements if expanded
    std::string name = "v" + std::to_string(i);
    text += name + ": [";
    for (int j = 0; j < 16; ++j) text += "$" + prev + ",";
    text += "]\n";
    prev = name;
  }
  CHECK(parse_error(text).find("config too large") != std::string::npos);
}

TEST_CASE("conf: odd inputs end in a tree or an error", "[conf]") {
  const char* inputs[] = {"",          "\n\n",
                          "{",         "}",
                          "{}",        "]",
                          "[",         "a",
                          "a:",        "a: {",
                          "a: [",      "a: '",
                          "a: \"\\",   "a: \"\\x",
                          "a: \"\\x4", "a: (",
                          "a: $",      "include",
                          "include ",  "include '",
                          "a b c",     "\xEF\xBB\xBFport: 1",
                          "a: -",      "a: 1.",
                          "a: .5",     "a: 1e5",
                          "=",         "a: {b}",
                          "a: {,}",    "a: [}",
                          "a: {]",     "//",
                          "/",         "#",
                          "a: 1 /"};
  for (const char* in : inputs) {
    FakeFiles none;
    Result<ConfMap> m = parse_conf(in, "t.conf", none.reader());
    SUCCEED(in);
  }
  ConfMap nul = parse_ok(std::string_view("a: \"x\0y\"", 8));
  CHECK(get(nul, "a").as_string().size() == 3);
  ConfMap bom = parse_ok("\xEF\xBB\xBFport: 1");
  CHECK(get(bom, "port").as_integer() == 1);
}
