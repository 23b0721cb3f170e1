#pragma once
// The NATS config-file syntax (nats-server's conf/lex.go + conf/parse.go), read into a tree of
// ConfValues that remember the file and line they came from, so that options.cpp can say
// "tern.conf:7: max_payload: expected a size, got "abc"".
//
// What is accepted, as nats-server 2.9.10 does:
//   key: value   key = value   key value         (separators optional; keys end at space, ':' or '=')
//   a { ... }   a: [1, 2]   arrays split by ',' or newlines, maps by ',', ';' or newlines
//   'raw', "escaped \t \n \r \" \\ \xHH", unquoted strings (listen: 127.0.0.1:4222 is one string)
//   integers with size suffixes: k m g t p e = powers of 1000; kb ki kib mb ... = powers of 1024
//   floats, booleans (true false yes no on off), # and // comments
//   include 'other.conf'   (relative to the including file; its keys merge into the current map)
//   $NAME                  (a key defined earlier in this or an enclosing map, else the environment)
// Unquoted values are typed by their spelling: "10s" is a string, but 2m is the integer 2000000.
//
// Deliberate differences, all more lenient or more careful than nats-server: nesting and includes
// are bounded (kMaxConfDepth, kMaxIncludeDepth); a malformed number such as "1.5s" or "-x" is read
// as a string instead of being a syntax error; a bad size suffix ("1kbb") is an error instead of
// being silently dropped; an absolute include path is used as is.
//
// The parser never throws, never reads past its input, and always advances, so any byte string
// terminates with a tree or a Status (tests/fuzz/fuzz_config.cpp checks this).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/status.h"

namespace tern::server {

struct ConfValue;
struct ConfEntry;
using ConfArray = std::vector<ConfValue>;
// A map keeps the file's order (errors are reported in file order); a repeated key replaces the
// earlier value in place, as nats-server's map assignment does.
using ConfMap = std::vector<ConfEntry>;

struct ConfValue {
  std::variant<std::string, int64_t, double, bool, ConfArray, ConfMap> data;
  std::shared_ptr<const std::string> file;  // shared: every value of one file points at one name
  int line = 0;
  std::string text;               // scalars: the value as written ("1MB", "yes"), for messages
  bool used_as_variable = false;  // referenced as $key: not an unknown option, just a variable

  bool is_string() const { return std::holds_alternative<std::string>(data); }
  bool is_integer() const { return std::holds_alternative<int64_t>(data); }
  bool is_float() const { return std::holds_alternative<double>(data); }
  bool is_bool() const { return std::holds_alternative<bool>(data); }
  bool is_array() const { return std::holds_alternative<ConfArray>(data); }
  bool is_map() const { return std::holds_alternative<ConfMap>(data); }
  // REQUIRES: the matching is_*() is true.
  const std::string& as_string() const { return std::get<std::string>(data); }
  int64_t as_integer() const { return std::get<int64_t>(data); }
  double as_float() const { return std::get<double>(data); }
  bool as_bool() const { return std::get<bool>(data); }
  const ConfArray& as_array() const { return std::get<ConfArray>(data); }
  const ConfMap& as_map() const { return std::get<ConfMap>(data); }

  // "file:line", the prefix of every message about this value.
  std::string where() const;
};

struct ConfEntry {
  std::string key;
  int key_line = 0;  // the value may start on a later line; messages about the key use this one
  ConfValue value;
  std::string where() const;  // "file:key_line"
};

// Returns the entry whose key equals `key` exactly (variables and lookups are case-sensitive),
// or nullptr. The pointer is valid while the map is not modified.
const ConfEntry* find_entry(const ConfMap& map, std::string_view key);

// How an include is read. Tests and the fuzzer pass their own; the default reads the disk.
using ConfFileReader = std::function<Result<std::string>(const std::string& path)>;
Result<std::string> read_conf_file_from_disk(const std::string& path);

constexpr int kMaxConfDepth = 64;     // nested maps/arrays; real configs use < 6, and it bounds recursion
constexpr int kMaxIncludeDepth = 10;  // includes of includes; stops include cycles

// Parses config text. `file_name` is used in messages and to resolve relative includes.
// Errors read "file:line: what went wrong".
Result<ConfMap> parse_conf(std::string_view text, const std::string& file_name,
                           const ConfFileReader& read_file = read_conf_file_from_disk);

// Reads and parses one file.
Result<ConfMap> parse_conf_file(const std::string& path, const ConfFileReader& read_file = read_conf_file_from_disk);

// Parses an integer as the config syntax writes one, with an optional size suffix ("64KB", "1k",
// "-3"). Used for quoted sizes too, so "1MB" means the same quoted or not.
Result<int64_t> parse_conf_integer(std::string_view text);

}  // namespace tern::server
