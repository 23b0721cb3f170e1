#include "server/config/conf_parser.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace tern::server {
namespace {

constexpr int kMaxEnvDepth = 8;  // $A from the environment may hold "$B"; stops A=$A loops
// Copying a variable copies its whole subtree, so "b: [$a,$a,...], c: [$b,$b,...]" grows
// exponentially; every parsed or copied node is charged here (64 bytes + its text) instead.
constexpr size_t kMaxConfBytes = 64u << 20;
constexpr size_t kNodeCost = 64;

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_newline(char c) { return c == '\n' || c == '\r'; }
bool is_space(char c) { return is_blank(c) || is_newline(c) || c == '\v' || c == '\f'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// A character as it should appear inside '...' in a message.
std::string printable(char c) {
  if (c == '\n') return "\\n";
  if (c == '\r') return "\\r";
  if (c == '\t') return "\\t";
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
    return buf;
  }
  return std::string(1, c);
}

// Messages are one line (main logs them, load_options returns them): a key or file name with a
// newline in it (quotes allow that) is shown escaped.
std::string escape_controls(std::string_view s) {
  std::string out;
  for (char c : s) out += printable(c);
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool is_bool_word(const std::string& lowered) {
  return lowered == "true" || lowered == "false" || lowered == "yes" || lowered == "no" || lowered == "on" ||
         lowered == "off";
}

enum class NumberShape { kNone, kInteger, kFloat };

// How nats's lexer would type an unquoted run: -?digits [suffix letter [bBiI]*] is an integer,
// -?digits.digits a float, anything else ("10s", "127.0.0.1:4222", "500ms") a string.
NumberShape number_shape(std::string_view s) {
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  size_t digits_start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i == digits_start) return NumberShape::kNone;
  if (i == s.size()) return NumberShape::kInteger;
  if (s[i] == '.') {
    size_t frac_start = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    return (i > frac_start && i == s.size()) ? NumberShape::kFloat : NumberShape::kNone;
  }
  if (std::strchr("kmgtpe", lower(s[i])) == nullptr) return NumberShape::kNone;
  for (++i; i < s.size(); ++i) {
    if (std::strchr("bi", lower(s[i])) == nullptr) return NumberShape::kNone;
  }
  return NumberShape::kInteger;
}

size_t value_cost(const ConfValue& v, size_t limit) {
  size_t cost = kNodeCost + v.text.size();
  if (v.is_string()) cost += v.as_string().size();
  if (v.is_array()) {
    for (const ConfValue& item : v.as_array()) {
      if (cost > limit) break;
      cost += value_cost(item, limit - cost);
    }
  } else if (v.is_map()) {
    for (const ConfEntry& e : v.as_map()) {
      if (cost > limit) break;
      cost += e.key.size() + value_cost(e.value, limit - cost);
    }
  }
  return cost;
}

// Where "include path" in `including_file` points: relative to that file's directory, cleaned
// of "." and ".." as Go's filepath.Join does (messages then show a readable path).
std::string include_path(const std::string& including_file, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(including_file).parent_path() / p;
  return p.lexically_normal().string();
}

class Parser {
 public:
  // REQUIRES: `text` and `read_file` outlive the parser.
  Parser(std::string_view text, std::string file_name, const ConfFileReader& read_file, int depth, int include_depth,
         int env_depth)
      : text_(text),
        file_(std::make_shared<const std::string>(std::move(file_name))),
        read_file_(read_file),
        base_depth_(depth),
        include_depth_(include_depth),
        env_depth_(env_depth) {}

  Result<ConfMap> run() {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // a UTF-8 byte-order mark from an editor
    ConfMap root;
    if (!parse_entries(root, /*top=*/true, base_depth_, 1)) return Status::error(error_);
    return root;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  bool at(char c) const { return !at_end() && text_[pos_] == c; }
  // The byte `ahead` past the cursor, or '\0' past the end (callers check at_end() first).
  char peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }
  void advance() {
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }
  bool at_comment() const { return at('#') || (at('/') && peek(1) == '/'); }
  void skip_blanks() {
    while (!at_end() && is_blank(peek())) advance();
  }
  void skip_spaces() {
    while (!at_end() && is_space(peek())) advance();
  }
  void skip_comment() {
    while (!at_end() && !is_newline(peek())) advance();
  }
  // The filler between entries and between array elements: spaces, newlines, comments.
  void skip_filler() {
    for (;;) {
      skip_spaces();
      if (!at_comment()) return;
      skip_comment();
    }
  }
  std::string next_char_for_message() const { return at_end() ? "end of file" : "'" + printable(peek()) + "'"; }

  bool fail_at(int line, const std::string& message) {
    if (error_.empty()) error_ = escape_controls(*file_ + ":" + std::to_string(line) + ": " + message);
    return false;
  }
  bool fail(const std::string& message) { return fail_at(line_, message); }

  bool charge(size_t cost) {
    used_ += cost;
    if (used_ <= kMaxConfBytes) return true;
    return fail("config too large (more than 64 MiB of values once variables are expanded)");
  }

  // Fills `map` with entries until EOF (top) or the closing '}' (a nested map opened on open_line).
  bool parse_entries(ConfMap& map, bool top, int depth, int open_line) {
    scopes_.push_back(Scope{&map, {}});
    bool ok = parse_entries_in_scope(top, depth, open_line);
    scopes_.pop_back();
    return ok;
  }

  bool parse_entries_in_scope(bool top, int depth, int open_line) {
    for (;;) {
      skip_filler();
      if (at_end()) {
        if (top) return true;
        return fail_at(open_line, "the '{' on this line has no matching '}'");
      }
      char c = peek();
      if (c == '}') {
        advance();
        if (top) continue;  // nats accepts a JSON-style file wrapped in { }
        return true;
      }
      if (c == '{' && top) {
        advance();
        continue;
      }
      if (c == ':' || c == '=' || c == ',' || c == ';' || c == '{' || c == '[' || c == ']') {
        return fail("expected a key, got '" + printable(c) + "'");
      }

      int key_line = line_;
      bool quoted_key = (c == '"' || c == '\'');
      std::string key;
      if (!parse_key(key)) return false;
      if (!quoted_key && to_lower(key) == "include" && !at_end() && is_space(peek())) {
        if (!parse_include()) return false;
      } else {
        ConfEntry entry{std::move(key), key_line, {}};
        if (!parse_separator(entry, top)) return false;
        if (!parse_value(entry.value, depth)) return false;
        set_entry(std::move(entry));
      }

      // What may follow a value: a comment, a newline, ',' or ';', or the end of the map.
      skip_blanks();
      if (at_end() || at('}')) continue;
      if (at_comment()) {
        skip_comment();
        continue;
      }
      if (is_newline(peek()) || at(',') || at(';')) {
        advance();
        continue;
      }
      return fail("expected a new line, ',' or ';' after a value, got " + next_char_for_message());
    }
  }

  bool parse_key(std::string& key) {
    char quote = peek();
    if (quote == '"' || quote == '\'') {
      int open_line = line_;
      advance();
      size_t start = pos_;
      while (!at_end() && peek() != quote) advance();
      if (at_end()) return fail_at(open_line, "quoted key has no closing " + printable(quote));
      key = std::string(text_.substr(start, pos_ - start));
      advance();
      return true;
    }
    size_t start = pos_;
    while (!at_end() && !is_space(peek()) && std::strchr(":={[", peek()) == nullptr) advance();
    key = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  // Between a key and its value: blanks, then ':' or '=' or nothing. A value on the next line is
  // accepted only inside a map and only after a separator, as nats-server does; at the top level
  // "foo:" followed by a newline is the common mistake of a forgotten value.
  bool parse_separator(const ConfEntry& entry, bool top) {
    skip_blanks();
    if (!at_end() && is_newline(peek())) {
      skip_spaces();
      if (!at(':') && !at('=')) return fail_at(entry.key_line, "key \"" + entry.key + "\" has no value");
    }
    bool separated = at(':') || at('=');
    if (separated) advance();
    skip_blanks();
    if (!at_end() && is_newline(peek()) && separated && !top) skip_filler();
    // A '#' here starts a value, as in nats-server ("password: #x" is the password "#x").
    if (at_end() || is_newline(peek()) || at('}') || at(',') || at(';')) {
      return fail_at(entry.key_line, "key \"" + entry.key + "\" has no value");
    }
    return true;
  }

  // Adds to (or replaces in) the map being filled, which is always the innermost scope.
  void set_entry(ConfEntry entry) {
    Scope& scope = scopes_.back();
    auto [it, inserted] = scope.index.try_emplace(entry.key, scope.map->size());
    if (inserted) {
      scope.map->push_back(std::move(entry));
    } else {
      (*scope.map)[it->second] = std::move(entry);
    }
  }

  // "include path": parses the file (relative to this one) and merges its keys into `map`.
  bool parse_include() {
    int line = line_;
    skip_blanks();
    std::string path;
    char c = peek();
    if (at_end() || is_newline(c)) return fail("include needs a file name");
    if (c == '"' || c == '\'') {
      advance();
      size_t start = pos_;
      while (!at_end() && peek() != c) advance();
      if (at_end()) return fail_at(line, "include file name has no closing " + printable(c));
      path = std::string(text_.substr(start, pos_ - start));
      advance();
    } else if (std::strchr("[{(\\-", c) != nullptr || is_digit(c)) {
      return fail("include expects a file name, got '" + printable(c) + "'");
    } else {
      size_t start = pos_;
      while (!at_end() && !is_space(peek()) && std::strchr(";}'", peek()) == nullptr) advance();
      path = std::string(text_.substr(start, pos_ - start));
    }
    if (include_depth_ + 1 > kMaxIncludeDepth) {
      return fail_at(line, "includes nested more than " + std::to_string(kMaxIncludeDepth) +
                               " deep (does a file include itself?)");
    }
    std::string resolved = include_path(*file_, path);
    Result<std::string> text = read_file_(resolved);
    if (!text.is_ok()) return fail_at(line, "include \"" + path + "\": " + text.status().message());
    Parser child(text.value(), resolved, read_file_, base_depth_, include_depth_ + 1, env_depth_);
    Result<ConfMap> included = child.run();
    if (!included.is_ok()) {
      error_ = included.status().message();  // already names the included file and line
      return false;
    }
    if (!charge(child.used_)) return false;
    for (ConfEntry& e : included.value()) set_entry(std::move(e));
    return true;
  }

  bool parse_value(ConfValue& out, int depth) {
    out.file = file_;
    out.line = line_;
    if (at_end()) return fail("expected a value");
    bool ok = false;
    switch (peek()) {
      case '[':
        ok = parse_array(out, depth + 1);
        break;
      case '{':
        ok = parse_map(out, depth + 1);
        break;
      case '\'':
        ok = parse_single_quoted(out);
        break;
      case '"':
        ok = parse_double_quoted(out);
        break;
      case '(':
        ok = parse_block(out);
        break;
      default:
        ok = parse_unquoted(out, depth);
        break;
    }
    if (!ok) return false;
    return charge(kNodeCost + out.text.size() + (out.is_string() ? out.as_string().size() : 0));
  }

  bool check_depth(int depth) {
    if (depth <= kMaxConfDepth) return true;
    return fail("maps and arrays nested more than " + std::to_string(kMaxConfDepth) + " deep");
  }

  bool parse_array(ConfValue& out, int depth) {
    if (!check_depth(depth)) return false;
    int open_line = line_;
    advance();
    ConfArray items;
    for (;;) {
      skip_filler();
      if (at_end()) return fail_at(open_line, "the '[' on this line has no matching ']'");
      if (at(']')) break;
      if (at(',')) return fail("unexpected ',' in an array");
      ConfValue item;
      if (!parse_value(item, depth)) return false;
      items.push_back(std::move(item));
      skip_blanks();
      if (at_comment()) continue;  // the comment runs to the newline, which separates elements
      if (at_end()) return fail_at(open_line, "the '[' on this line has no matching ']'");
      if (at(']')) break;
      if (!at(',') && !is_newline(peek())) {
        return fail("expected ',' or ']' in an array, got " + next_char_for_message());
      }
      advance();
    }
    advance();  // the ']'
    out.data = std::move(items);
    return true;
  }

  bool parse_map(ConfValue& out, int depth) {
    if (!check_depth(depth)) return false;
    int open_line = line_;
    advance();
    ConfMap map;
    if (!parse_entries(map, /*top=*/false, depth, open_line)) return false;
    out.data = std::move(map);
    return true;
  }

  bool parse_single_quoted(ConfValue& out) {
    int open_line = line_;
    advance();
    size_t start = pos_;
    while (!at_end() && peek() != '\'') advance();
    if (at_end()) return fail_at(open_line, "quoted string has no closing '");
    out.text = std::string(text_.substr(start, pos_ - start));
    out.data = out.text;
    advance();
    return true;
  }

  bool parse_double_quoted(ConfValue& out) {
    int open_line = line_;
    advance();
    std::string s;
    for (;;) {
      if (at_end()) return fail_at(open_line, "quoted string has no closing \"");
      char c = peek();
      if (c == '"') break;
      if (c == '\\') {
        if (!read_escape(s)) return false;
      } else {
        s += c;
        advance();
      }
    }
    advance();
    out.text = s;
    out.data = std::move(s);
    return true;
  }

  // REQUIRES: the cursor is on a '\\'. Appends the escaped byte to `out`.
  bool read_escape(std::string& out) {
    advance();
    if (at_end()) return fail("'\\' at the end of the file");
    char c = peek();
    advance();
    switch (c) {
      case 't':
        out += '\t';
        return true;
      case 'n':
        out += '\n';
        return true;
      case 'r':
        out += '\r';
        return true;
      case '"':
        out += '"';
        return true;
      case '\\':
        out += '\\';
        return true;
      case 'x': {
        int hi = at_end() ? -1 : hex_value(peek());
        int lo = hi < 0 ? -1 : hex_value(peek(1));
        if (hi < 0 || lo < 0 || pos_ + 1 >= text_.size()) {
          return fail("expected two hexadecimal digits after '\\x'");
        }
        advance();
        advance();
        out += static_cast<char>(hi * 16 + lo);
        return true;
      }
      default:
        return fail("invalid escape '\\" + printable(c) + "'; only \\xHH, \\t, \\n, \\r, \\\" and \\\\ are allowed");
    }
  }

  // "( ... )": a raw multi-line string, closed by a ')' alone at the start of a line.
  bool parse_block(ConfValue& out) {
    int open_line = line_;
    advance();
    size_t start = pos_;
    for (;;) {
      if (at_end()) return fail_at(open_line, "the '(' on this line has no ')' on a line of its own");
      if (at(')') && pos_ > start && text_[pos_ - 1] == '\n' && (pos_ + 1 == text_.size() || text_[pos_ + 1] == '\n')) {
        break;
      }
      advance();
    }
    out.text = std::string(text_.substr(start, pos_ - start));
    out.data = out.text;
    advance();
    return true;
  }

  // An unquoted value runs to a space, newline, ',', ';', ']' or '}'. Its spelling decides its
  // type: boolean word, $variable, number (with size suffix), or else a string.
  bool parse_unquoted(ConfValue& out, int depth) {
    int line = line_;
    size_t start = pos_;
    std::string s;
    bool escaped = false;
    while (!at_end()) {
      char c = peek();
      if (is_space(c) || std::strchr(",;]}", c) != nullptr) break;
      if (c == '\\') {
        escaped = true;
        if (!read_escape(s)) return false;
        continue;
      }
      s += c;
      advance();
    }
    if (s.empty() && !escaped) return fail("expected a value, got " + next_char_for_message());
    out.text = std::string(text_.substr(start, pos_ - start));
    if (escaped) {
      out.data = std::move(s);
      return true;
    }
    if (is_bool_word(to_lower(s))) {
      std::string l = to_lower(s);
      out.data = (l == "true" || l == "yes" || l == "on");
      return true;
    }
    if (s[0] == '$') {
      // nats-server lets a bcrypt hash ("$2a$11$...") go unquoted; it is not a variable.
      if (s.compare(1, 3, "2a$") == 0) {
        out.data = std::move(s);
        return true;
      }
      return resolve_variable(s.substr(1), line, out, depth);
    }
    switch (number_shape(s)) {
      case NumberShape::kInteger: {
        Result<int64_t> n = parse_conf_integer(s);
        if (!n.is_ok()) return fail_at(line, n.status().message());
        out.data = n.value();
        return true;
      }
      case NumberShape::kFloat: {
        double d = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec != std::errc() || end != s.data() + s.size()) {
          return fail_at(line, "float " + s + " is out of range");
        }
        out.data = d;
        return true;
      }
      case NumberShape::kNone:
        out.data = std::move(s);
        return true;
    }
    return true;
  }

  // $name: the nearest enclosing map's earlier key of that name, else the environment variable,
  // whose text is parsed as a config value (so PORT=4222 gives an integer).
  bool resolve_variable(const std::string& name, int line, ConfValue& out, int depth) {
    for (auto scope = scopes_.rbegin(); scope != scopes_.rend(); ++scope) {
      auto found = scope->index.find(name);
      if (found != scope->index.end()) {
        ConfEntry& e = (*scope->map)[found->second];
        e.value.used_as_variable = true;
        if (!charge(value_cost(e.value, kMaxConfBytes - std::min(used_, kMaxConfBytes) + 1))) return false;
        out = e.value;
        out.used_as_variable = false;
        out.file = file_;
        out.line = line;
        return true;
      }
    }
    const char* env = name.find('\0') == std::string::npos ? std::getenv(name.c_str()) : nullptr;
    if (env == nullptr) {
      return fail_at(line,
                     "variable $" + name + " is not defined (neither earlier in the file nor in the environment)");
    }
    if (env_depth_ + 1 > kMaxEnvDepth) {
      return fail_at(line, "variable $" + name + ": environment variables refer to each other too deeply");
    }
    std::string text = "pk=" + std::string(env);
    Parser sub(text, "environment variable " + name, read_file_, depth, include_depth_, env_depth_ + 1);
    Result<ConfMap> parsed = sub.run();
    if (!parsed.is_ok()) return fail_at(line, parsed.status().message());
    const ConfEntry* pk = find_entry(parsed.value(), "pk");
    if (pk == nullptr) return fail_at(line, "variable $" + name + " from the environment has no value");
    if (!charge(sub.used_)) return false;
    out = pk->value;
    out.file = file_;
    out.line = line;
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  std::shared_ptr<const std::string> file_;
  const ConfFileReader& read_file_;
  int base_depth_;
  int include_depth_;
  int env_depth_;
  // The maps being filled, outermost first, each with key → position: where $name looks, and
  // what keeps "many keys" linear rather than quadratic.
  struct Scope {
    ConfMap* map;
    std::unordered_map<std::string, size_t> index;
  };
  std::vector<Scope> scopes_;
  size_t used_ = 0;    // charged against kMaxConfBytes
  std::string error_;  // the first error; parsing stops there
};

}  // namespace

std::string ConfValue::where() const {
  return escape_controls(file ? *file : std::string("?")) + ":" + std::to_string(line);
}

std::string ConfEntry::where() const {
  return escape_controls(value.file ? *value.file : std::string("?")) + ":" + std::to_string(key_line);
}

const ConfEntry* find_entry(const ConfMap& map, std::string_view key) {
  for (const ConfEntry& e : map) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

Result<std::string> read_conf_file_from_disk(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error("cannot open " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::error("cannot read " + path);
  return text.str();
}

Result<ConfMap> parse_conf(std::string_view text, const std::string& file_name, const ConfFileReader& read_file) {
  return Parser(text, file_name, read_file, 0, 0, 0).run();
}

Result<ConfMap> parse_conf_file(const std::string& path, const ConfFileReader& read_file) {
  Result<std::string> text = read_file(path);
  if (!text.is_ok()) return text.status();
  return parse_conf(text.value(), path, read_file);
}

Result<int64_t> parse_conf_integer(std::string_view text) {
  bool negative = !text.empty() && text[0] == '-';
  size_t i = negative ? 1 : 0;
  uint64_t magnitude = 0;
  size_t digits_start = i;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    if (magnitude > (uint64_t{1} << 63) / 10) return Status::error("integer " + std::string(text) + " is out of range");
    magnitude = magnitude * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (i == digits_start) return Status::error("expected an integer, got \"" + std::string(text) + "\"");

  // nats-server's suffixes: a bare letter is a power of 1000, with b/i/ib a power of 1024.
  static constexpr struct {
    const char* suffix;
    uint64_t multiplier;
  } kSuffixes[] = {
      {"", 1},
      {"k", 1000ull},
      {"kb", 1ull << 10},
      {"ki", 1ull << 10},
      {"kib", 1ull << 10},
      {"m", 1000000ull},
      {"mb", 1ull << 20},
      {"mi", 1ull << 20},
      {"mib", 1ull << 20},
      {"g", 1000000000ull},
      {"gb", 1ull << 30},
      {"gi", 1ull << 30},
      {"gib", 1ull << 30},
      {"t", 1000000000000ull},
      {"tb", 1ull << 40},
      {"ti", 1ull << 40},
      {"tib", 1ull << 40},
      {"p", 1000000000000000ull},
      {"pb", 1ull << 50},
      {"pi", 1ull << 50},
      {"pib", 1ull << 50},
      {"e", 1000000000000000000ull},
      {"eb", 1ull << 60},
      {"ei", 1ull << 60},
      {"eib", 1ull << 60},
  };
  std::string suffix = to_lower(text.substr(i));
  const uint64_t* multiplier = nullptr;
  for (const auto& s : kSuffixes) {
    if (suffix == s.suffix) multiplier = &s.multiplier;
  }
  if (multiplier == nullptr) {
    return Status::error("unknown size suffix \"" + std::string(text.substr(i)) +
                         "\" (use k, kb, m, mb, g, gb, t, tb, p, pb, e or eb)");
  }
  uint64_t limit = negative ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1;
  uint64_t value = 0;
  if (__builtin_mul_overflow(magnitude, *multiplier, &value) || value > limit) {
    return Status::error("integer " + std::string(text) + " is out of range");
  }
  if (negative) return static_cast<int64_t>(0 - value);
  return static_cast<int64_t>(value);
}

}  // namespace tern::server
