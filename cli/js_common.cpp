#include "cli/js_common.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

namespace tern::cli {

namespace {

constexpr std::chrono::milliseconds kDefaultApiTimeout{5000};  // the nats CLI's default

// Characters, not bytes, so that "µs" and the like keep columns aligned.
size_t display_width(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Seconds with their fraction, trailing zeros dropped: "1.5", "30".
std::string seconds_text(int64_t ns) {
  std::string out = std::to_string(ns / 1000000000);
  int64_t frac = ns % 1000000000;
  if (frac != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%09lld", static_cast<long long>(frac));
    std::string f = buf;
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out;
}

// A value below 1000 units with its fraction, as Go prints ms and µs: "1.25", "500".
std::string fraction_text(int64_t n, int64_t unit) {
  std::string out = std::to_string(n / unit);
  int64_t frac = n % unit;
  if (frac != 0) {
    int digits = unit == 1000 ? 3 : 6;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*lld", digits, static_cast<long long>(frac));
    std::string f = buf;
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out;
}

}  // namespace

Result<JsSession> connect_js(const CommandLine& cl) {
  auto conn = connect(cl.global);
  if (!conn) return conn.status();
  JetStreamOptions opts;
  opts.timeout = cl.options.count("timeout") != 0 ? cl.global.timeout : kDefaultApiTimeout;
  JsSession s;
  s.conn = std::move(*conn);
  s.js = std::make_unique<JetStream>(*s.conn, opts);
  return s;
}

Result<ojson> api_json(JetStream& js, const std::string& suffix, const std::string& body) {
  auto text = js.api_request(suffix, body);
  if (!text) return text.status();
  return parse_answer(*text);
}

Result<std::vector<ojson>> api_list(JetStream& js, const std::string& suffix, const char* key) {
  std::vector<ojson> items;
  for (;;) {
    ojson req = {{"offset", items.size()}};
    auto page = api_json(js, suffix, req.dump());
    if (!page) return page.status();
    auto it = page->find(key);
    size_t got = 0;
    if (it != page->end() && it->is_array()) {  // nats-server 2.9 sends null for none
      for (auto& item : *it) items.push_back(std::move(item)), ++got;
    }
    if (got == 0 || items.size() >= json_uint(*page, "total")) return items;
  }
}

int fail_api(const std::string& what, const Status& status) {
  if (auto e = api_error(status)) {
    return fail(kExitFailure, what + ": " + e->description + " (" + std::to_string(e->err_code) + ")");
  }
  return fail(kExitFailure, what + ": " + status.message());
}

Result<ojson> parse_answer(const std::string& text) {
  ojson j = ojson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::error("the server's answer is not a JSON object");
  return j;
}

void print_json(const ojson& j) {
  std::string text = j.dump(2, ' ', false, ojson::error_handler_t::replace);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

int show_answer(const std::string& text, bool as_json, const std::string& what,
                const std::function<void(const ojson&)>& print_human) {
  auto info = parse_answer(text);
  if (!info) return fail_api(what, info.status());
  if (as_json) {
    print_json(*info);
  } else {
    print_human(*info);
  }
  return kExitOk;
}

int request_and_show(JetStream& js, const std::string& suffix, const std::string& body, bool as_json,
                     const std::string& what, const std::function<void(const ojson&)>& print_human) {
  auto answer = js.api_request(suffix, body);
  if (!answer) return fail_api(what, answer.status());
  return show_answer(*answer, as_json, what, print_human);
}

std::optional<int> load_config_file(const CommandParser& parser, const cxxopts::ParseResult& o, ojson& cfg) {
  if (o.count("config") == 0) return std::nullopt;
  const std::string path = o["config"].as<std::string>();
  auto text = read_file(path);
  if (!text) return fail(kExitUsage, parser.name() + ": --config: " + text.status().message());
  ojson j = ojson::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(kExitUsage, parser.name() + ": --config: " + path + " does not hold a JSON object");
  }
  cfg = std::move(j);
  return std::nullopt;
}

void add_ls_options(CommandParser& parser, const std::string& noun) {
  // clang-format off
  parser.add_options()
    ("n,names", "Prints only the names, one per line")
    ("json", "Prints a JSON array: the " + noun + " infos (with --names, the names)");
  // clang-format on
}

int run_ls(const CommandLine& cl, const ListSpec& spec) {
  const bool names_only = cl.options.count("names") != 0;
  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  auto items = api_list(*s->js, names_only ? spec.names_suffix : spec.list_suffix, spec.key);
  if (!items) return fail_api(spec.what, items.status());
  auto name_of = [&](const ojson& item) { return names_only ? item.get<std::string>() : spec.name_of(item); };
  std::sort(items->begin(), items->end(), [&](const ojson& a, const ojson& b) { return name_of(a) < name_of(b); });
  if (cl.options.count("json") != 0) {
    print_json(ojson(*items));
    return kExitOk;
  }
  if (names_only) {
    for (const ojson& item : *items) std::printf("%s\n", name_of(item).c_str());
    return kExitOk;
  }
  if (items->empty()) {
    std::printf("%s\n", spec.none.c_str());
    return kExitOk;
  }
  Table table(spec.header);
  for (const ojson& info : *items) table.add(spec.row(info));
  table.print();
  return kExitOk;
}

int run_confirmed(const CommandParser& parser, const CommandLine& cl, const std::string& question,
                  const std::string& what, const std::function<Status(JetStream&)>& action, const std::string& done) {
  if (auto code = require_force(parser, cl.options, question)) return *code;
  auto s = connect_js(cl);
  if (!s) return fail(kExitFailure, s.status().message());
  if (Status st = action(*s->js); !st) return fail_api(what, st);
  std::printf("%s\n", done.c_str());
  return kExitOk;
}

Result<std::chrono::nanoseconds> parse_js_duration(std::string_view text) {
  // Peel off the d/w/y parts, which Go's syntax lacks; the rest is parse_duration's.
  auto bad = [&] {
    return Status::error("invalid duration \"" + std::string(text) +
                         "\" (use a number and a unit: 500ms, 2s, 1m, 1h, 1d)");
  };
  if (text == "0") return std::chrono::nanoseconds::zero();
  std::string_view rest = text;
  int64_t days = 0;
  for (;;) {
    size_t n = 0;
    while (n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n]))) ++n;
    if (n == 0 || n >= rest.size()) break;
    char unit = rest[n];
    int64_t per = unit == 'd' ? 1 : unit == 'w' ? 7 : unit == 'y' ? 365 : 0;
    if (per == 0) break;
    int64_t value = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + n, value);
    if (ec != std::errc() || value > 100000) return bad();
    days += value * per;
    rest.remove_prefix(n + 1);
  }
  std::chrono::nanoseconds total = std::chrono::hours(24) * days;
  if (!rest.empty()) {
    auto d = parse_duration(rest);
    if (!d) return bad();
    total += *d;
  } else if (days == 0) {
    return bad();
  }
  return total;
}

Result<int64_t> parse_int(std::string_view text, bool allow_unlimited) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || (v < 0 && !(allow_unlimited && v == -1))) {
    return Status::error("invalid number \"" + std::string(text) + "\"" + (allow_unlimited ? " (-1: unlimited)" : ""));
  }
  return v;
}

Result<int64_t> parse_size(std::string_view text) {
  auto bad = [&] {
    return Status::error("invalid size \"" + std::string(text) +
                         "\" (use bytes or a unit: 512, 1KB, 10MiB, 1GB; -1: unlimited)");
  };
  if (text == "-1") return int64_t{-1};
  size_t n = 0;
  while (n < text.size() && (std::isdigit(static_cast<unsigned char>(text[n])) || text[n] == '.')) ++n;
  if (n == 0) return bad();
  std::string number(text.substr(0, n));
  std::string unit = lower(text.substr(n));
  if (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  double scale = 0;
  if (unit.empty() || unit == "b") {
    scale = 1;
  } else {
    static constexpr std::string_view kPrefixes = "kmgtp";
    size_t power = kPrefixes.find(unit.front());
    std::string_view tail = std::string_view(unit).substr(1);
    if (power == std::string_view::npos || !(tail.empty() || tail == "b" || tail == "ib")) return bad();
    scale = std::pow(1024.0, static_cast<double>(power + 1));
  }
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size()) return bad();
  double bytes = value * scale;
  if (bytes > 9.2e18) return bad();
  return static_cast<int64_t>(std::llround(bytes));
}

std::string human_bytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  v /= 1024;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, kUnits[unit]);
  return buf;
}

std::string human_bytes_exact(uint64_t bytes) {
  if (bytes < 1024) return human_bytes(bytes);
  return human_bytes(bytes) + " (" + format_count(static_cast<double>(bytes)) + " bytes)";
}

std::string human_duration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns < 0) return "-" + human_duration(-d);
  if (ns == 0) return "0s";
  if (ns < 1000) return std::to_string(ns) + "ns";
  if (ns < 1000000) return fraction_text(ns, 1000) + "\xC2\xB5s";
  if (ns < 1000000000) return fraction_text(ns, 1000000) + "ms";
  constexpr int64_t kSec = 1000000000, kMin = 60 * kSec, kHour = 60 * kMin, kDay = 24 * kHour;
  std::string out;
  if (ns >= kDay) out += std::to_string(ns / kDay) + "d";
  if (ns >= kHour) out += std::to_string(ns % kDay / kHour) + "h";
  if (ns >= kMin) out += std::to_string(ns % kHour / kMin) + "m";
  return out + seconds_text(ns % kMin) + "s";
}

std::optional<int64_t> parse_rfc3339(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, consumed = 0;
  std::string t(text);
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6)
    return std::nullopt;
  if (y <= 1) return std::nullopt;  // Go's zero time: "never"
  std::string_view rest = std::string_view(t).substr(static_cast<size_t>(consumed));
  int64_t frac_ns = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    int digits = 0;
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
      if (digits < 9) frac_ns = frac_ns * 10 + (rest.front() - '0'), ++digits;
      rest.remove_prefix(1);
    }
    for (; digits < 9; ++digits) frac_ns *= 10;
  }
  int64_t offset_s = 0;
  if (rest == "Z" || rest == "z") {
    offset_s = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (rest[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  int64_t secs = sys_days(ymd).time_since_epoch() / seconds(1) + h * 3600 + mi * 60 + s - offset_s;
  return secs * 1000000000 + frac_ns;
}

std::string human_time(std::string_view rfc3339, std::string_view fallback) {
  auto ns = parse_rfc3339(rfc3339);
  if (!ns) return std::string(fallback);
  std::time_t secs = static_cast<std::time_t>(*ns / 1000000000 - (*ns % 1000000000 < 0 ? 1 : 0));
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return buf;
}

std::string human_age(std::string_view rfc3339, std::string_view fallback) {
  auto ns = parse_rfc3339(rfc3339);
  if (!ns) return std::string(fallback);
  int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  int64_t age = std::max<int64_t>(now - *ns, 0);
  // Ages read best rounded: to the millisecond below a second, to the second above.
  age = age < 1000000000 ? age / 1000000 * 1000000 : (age + 500000000) / 1000000000 * 1000000000;
  return human_duration(std::chrono::nanoseconds(age));
}

std::string limit_count(int64_t n) { return n < 0 ? "unlimited" : std::to_string(n); }
std::string limit_bytes(int64_t n) { return n < 0 ? "unlimited" : human_bytes(static_cast<uint64_t>(n)); }
std::string limit_duration(int64_t ns) { return ns <= 0 ? "unlimited" : human_duration(std::chrono::nanoseconds(ns)); }

void FieldPrinter::print() const {
  size_t width = 0;
  for (const Row& r : rows_) {
    if (r.kind == Kind::Field) width = std::max(width, display_width(r.label));
  }
  std::string out;
  for (const Row& r : rows_) {
    switch (r.kind) {
      case Kind::Blank:
        out += "\n";
        break;
      case Kind::Section:
        out += r.label + "\n\n";
        break;
      case Kind::Field:
        out += "  " + std::string(width - display_width(r.label), ' ') + r.label + ": " + r.value;
        while (!out.empty() && out.back() == ' ') out.pop_back();
        out += "\n";
        break;
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

void Table::print() const {
  std::vector<size_t> widths(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string l;
    for (size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i < row.size() ? row[i] : "";
      l += cell;
      if (i + 1 < widths.size()) l += std::string(widths[i] - display_width(cell) + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header_);
  for (const auto& row : rows_) line(row);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    std::stringstream in(v);
    for (std::string part; std::getline(in, part, ',');) {
      size_t b = part.find_first_not_of(" \t"), e = part.find_last_not_of(" \t");
      if (b != std::string::npos) out.push_back(part.substr(b, e - b + 1));
    }
  }
  return out;
}

std::optional<bool> confirm(const std::string& question) {
  if (::isatty(STDIN_FILENO) != 1) return std::nullopt;
  std::fprintf(stderr, "%s [y/N] ", question.c_str());
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  answer = lower(answer);
  return answer == "y" || answer == "yes";
}

std::optional<int> require_force(const CommandParser& parser, const cxxopts::ParseResult& o,
                                 const std::string& question) {
  if (o.count("force") != 0) return std::nullopt;
  auto yes = confirm(question);
  if (!yes) return fail(kExitUsage, parser.name() + ": " + question + " Use -f/--force to confirm");
  if (!*yes) return kExitOk;
  return std::nullopt;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int64_t json_int(const ojson& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

uint64_t json_uint(const ojson& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  return it->is_number_unsigned() ? it->get<uint64_t>()
                                  : static_cast<uint64_t>(std::max<int64_t>(it->get<int64_t>(), 0));
}

std::string json_str(const ojson& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool json_bool(const ojson& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::string title_case(std::string_view policy) {
  if (policy == "workqueue") return "WorkQueue";
  if (policy == "last_per_subject") return "Last Per Subject";
  if (policy == "by_start_sequence") return "By Start Sequence";
  if (policy == "by_start_time") return "By Start Time";
  std::string out(policy);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace tern::cli
