#include "cli/common.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <random>

namespace tern::cli {

namespace {

constexpr const char* kDefaultUrl = "nats://127.0.0.1:4222";

// cxxopts quotes names with typographic quotes; one plain style reads better in a terminal log.
std::string plain_quotes(std::string text) {
  for (const char* q : {"\xE2\x80\x98", "\xE2\x80\x99"}) {  // ‘ and ’
    for (size_t at = text.find(q); at != std::string::npos; at = text.find(q)) text.replace(at, 3, "'");
  }
  return text;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "nats://user:secret@host" -> "nats://user:***@host", for every URL of a list.
std::string mask_password(std::string url) {
  size_t start = 0;
  while (start < url.size()) {
    size_t end = url.find(',', start);
    if (end == std::string::npos) end = url.size();
    size_t scheme = url.find("://", start);
    size_t auth_start = (scheme != std::string::npos && scheme < end) ? scheme + 3 : start;
    size_t at = url.find('@', auth_start);
    if (at != std::string::npos && at < end) {
      size_t colon = url.find(':', auth_start);
      if (colon != std::string::npos && colon < at) {
        url.replace(colon + 1, at - colon - 1, "***");
        end = url.find(',', start);
        if (end == std::string::npos) end = url.size();
      }
    }
    start = end + 1;
  }
  return url;
}

std::atomic<bool> stdout_failed_flag{false};

std::mt19937_64& random_engine() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

std::string random_alnum(size_t length) {
  static constexpr std::string_view kAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string out(length, ' ');
  for (char& c : out) c = kAlphabet[pick(random_engine())];
  return out;
}

// Go's time.RFC3339 in local time: 2006-01-02T15:04:05+07:00 (or ...Z in UTC).
std::string rfc3339_now() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &local);
  long offset = local.tm_gmtoff;
  if (offset == 0) return std::string(buf, n) + "Z";
  char zone[32];
  char sign = offset < 0 ? '-' : '+';
  offset = std::labs(offset);
  std::snprintf(zone, sizeof zone, "%c%02ld:%02ld", sign, offset / 3600, (offset % 3600) / 60);
  return std::string(buf, n) + zone;
}

std::string time_of_day() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[16];
  size_t n = std::strftime(buf, sizeof buf, "%H:%M:%S", &local);
  return std::string(buf, n);
}

// "Random(10,20)" or "Random 10 20" -> a random string; nullopt when it is not that.
std::optional<std::string> expand_random(std::string_view expr) {
  std::string_view rest = trim(expr.substr(6));  // after "Random"
  if (!rest.empty() && rest.front() == '(') {
    if (rest.back() != ')') return std::nullopt;
    rest = rest.substr(1, rest.size() - 2);
  }
  std::string args(rest);
  for (char& c : args) {
    if (c == ',') c = ' ';
  }
  char* end = nullptr;
  long lo = std::strtol(args.c_str(), &end, 10);
  if (end == args.c_str()) return std::nullopt;
  char* end2 = nullptr;
  long hi = std::strtol(end, &end2, 10);
  if (end2 == end || !trim(std::string_view(end2)).empty()) return std::nullopt;
  if (lo < 0 || hi < 0) return std::nullopt;
  if (hi < lo) std::swap(lo, hi);
  std::uniform_int_distribution<long> length(lo, hi);
  return random_alnum(static_cast<size_t>(length(random_engine())));
}

std::optional<std::string> expand_one(std::string_view expr, const TemplateContext& ctx) {
  using namespace std::chrono;
  if (expr == "Count") return std::to_string(ctx.count);
  if (expr == "TimeStamp") return rfc3339_now();
  if (expr == "Unix") return std::to_string(duration_cast<seconds>(system_clock::now().time_since_epoch()).count());
  if (expr == "UnixNano") {
    return std::to_string(duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count());
  }
  if (expr == "Time") return time_of_day();
  if (expr == "ID") return random_alnum(22);
  if (expr == "Request" && ctx.request != nullptr) return *ctx.request;
  if (expr.starts_with("Random")) return expand_random(expr);
  return std::nullopt;
}

void write_stdout(std::string_view s) {
  if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size()) stdout_failed_flag.store(true);
}

}  // namespace

int fail(int exit_code, std::string_view message) {
  std::string line = "tern: ";
  line.append(message);
  // One line, whatever the message holds.
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  line += '\n';
  std::fflush(stdout);
  std::fwrite(line.data(), 1, line.size(), stderr);
  return exit_code;
}

std::string GlobalOptions::url() const {
  if (!server.empty()) return server;
  if (const char* env = std::getenv("NATS_URL"); env != nullptr && *env != '\0') return env;
  return kDefaultUrl;
}

CommandParser::CommandParser(std::string name, std::string description, std::string positional_help,
                             size_t min_positional, size_t max_positional)
    : program_(std::move(name)),
      name_(program_.starts_with("tern ") ? program_.substr(5) : program_),
      positional_help_(std::move(positional_help)),
      min_positional_(min_positional),
      max_positional_(max_positional),
      options_(program_, std::move(description)) {
  options_.custom_help("[OPTIONS]");
  options_.positional_help(positional_help_);
  options_.set_width(100);
  // clang-format off
  options_.add_options("Global")
    ("s,server", "NATS server URL(s), comma separated (default: $NATS_URL, else " + std::string(kDefaultUrl) + ")",
     cxxopts::value<std::string>(), "URL")
    ("user", "User name", cxxopts::value<std::string>(), "USER")
    ("password", "Password", cxxopts::value<std::string>(), "PASSWORD")
    ("token", "Authentication token", cxxopts::value<std::string>(), "TOKEN")
    ("timeout", "Connect timeout (and for req, the request timeout)",
     cxxopts::value<std::string>()->default_value("2s"), "DURATION")
    ("h,help", "Shows this help");
  options_.add_options("positional")
    ("args", "", cxxopts::value<std::vector<std::string>>());
  // clang-format on
  options_.parse_positional({"args"});
}

std::string CommandParser::help() { return options_.help({"", "Global"}); }

std::optional<int> CommandParser::parse(const std::vector<std::string>& args, CommandLine& out) {
  std::vector<const char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  try {
    out.options = options_.parse(static_cast<int>(args.size()), argv.data());
  } catch (const cxxopts::exceptions::exception& e) {
    return fail(kExitUsage, name_ + ": " + plain_quotes(e.what()) + " (see '" + program_ + " --help')");
  }
  const cxxopts::ParseResult& r = out.options;
  if (r.count("help") != 0) {
    std::cout << help() << std::flush;
    return kExitOk;
  }
  out.positional = r.count("args") != 0 ? r["args"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (out.positional.size() < min_positional_ || out.positional.size() > max_positional_) {
    std::string why = out.positional.size() < min_positional_ ? "missing arguments" : "too many arguments";
    std::string usage = program_ + " [OPTIONS]" + (positional_help_.empty() ? "" : " " + positional_help_);
    return fail(kExitUsage, name_ + ": " + why + "; usage: " + usage);
  }
  GlobalOptions& g = out.global;
  if (r.count("server") != 0) g.server = r["server"].as<std::string>();
  if (r.count("user") != 0) g.user = r["user"].as<std::string>();
  if (r.count("password") != 0) g.password = r["password"].as<std::string>();
  if (r.count("token") != 0) g.token = r["token"].as<std::string>();
  std::chrono::nanoseconds timeout{};
  if (auto d = parse_duration(r["timeout"].as<std::string>()); !d) {
    return fail(kExitUsage, name_ + ": --timeout: " + d.status().message());
  } else {
    timeout = *d;
  }
  if (timeout <= std::chrono::nanoseconds::zero()) {
    return fail(kExitUsage, name_ + ": --timeout must be more than 0");
  }
  g.timeout = std::chrono::ceil<std::chrono::milliseconds>(timeout);
  return std::nullopt;
}

Result<std::unique_ptr<Connection>> connect(const GlobalOptions& global, Options opts) {
  std::string url = global.url();
  opts.url = url;
  opts.name = global.name;
  if (!global.user.empty()) opts.user = global.user;
  if (!global.password.empty()) opts.password = global.password;
  if (!global.token.empty()) opts.token = global.token;
  opts.connect_timeout = global.timeout;
  auto conn = Connection::connect(std::move(opts));
  if (!conn) return Status::error("cannot connect to " + mask_password(url) + ": " + conn.status().message());
  return conn;
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  auto bad = [&] {
    return Status::error("invalid duration \"" + std::string(text) + "\" (use a number and a unit: 500ms, 2s, 1m)");
  };
  if (text == "0") return std::chrono::nanoseconds::zero();
  if (text.empty()) return bad();
  long double total_ns = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t n = 0;
    bool digits = false;
    while (n < rest.size() && ((rest[n] >= '0' && rest[n] <= '9') || rest[n] == '.')) {
      digits = digits || rest[n] != '.';
      ++n;
    }
    if (!digits) return bad();
    std::string number(rest.substr(0, n));
    if (std::count(number.begin(), number.end(), '.') > 1) return bad();
    rest.remove_prefix(n);
    size_t u = 0;
    while (u < rest.size() && !((rest[u] >= '0' && rest[u] <= '9') || rest[u] == '.')) ++u;
    std::string_view unit = rest.substr(0, u);
    rest.remove_prefix(u);
    long double scale = 0;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      scale = 1e3;
    else if (unit == "ms")
      scale = 1e6;
    else if (unit == "s")
      scale = 1e9;
    else if (unit == "m")
      scale = 60e9;
    else if (unit == "h")
      scale = 3600e9;
    else
      return bad();
    total_ns += std::strtold(number.c_str(), nullptr) * scale;
  }
  if (total_ns > 1e18) return bad();  // ~31 years: surely a typo
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(static_cast<double>(total_ns))));
}

std::optional<int> read_duration_option(const cxxopts::ParseResult& options, const std::string& name,
                                        std::chrono::nanoseconds& out) {
  if (options.count(name) == 0 && !options[name].has_default()) return std::nullopt;
  auto d = parse_duration(options[name].as<std::string>());
  if (!d) return fail(kExitUsage, "--" + name + ": " + d.status().message());
  out = *d;
  return std::nullopt;
}

std::string format_duration(std::chrono::nanoseconds d) {
  double ns = static_cast<double>(d.count());
  const char* unit = "ns";
  double v = ns;
  if (ns >= 1e9) {
    v = ns / 1e9;
    unit = "s";
  } else if (ns >= 1e6) {
    v = ns / 1e6;
    unit = "ms";
  } else if (ns >= 1e3) {
    v = ns / 1e3;
    unit = "\xC2\xB5s";  // µs, as Go prints it
  }
  if (unit == std::string_view("ns")) return std::to_string(d.count()) + "ns";
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
  std::string out = buf;
  if (out.find('.') != std::string::npos) {  // "2.00" -> "2", "1.50" -> "1.5", as Go prints them
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out + unit;
}

std::string format_count(double n) {
  std::string digits = std::to_string(static_cast<unsigned long long>(std::llround(std::max(n, 0.0))));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string expand_template(std::string_view text, const TemplateContext& ctx) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    std::string_view expr = trim(text.substr(open + 2, close - open - 2));
    if (auto value = expand_one(expr, ctx)) {
      out += *value;
    } else {
      out.append(text.substr(open, close + 2 - open));  // not ours: left as it is
    }
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

Result<Headers> parse_headers(const std::vector<std::string>& specs, const TemplateContext& ctx) {
  Headers headers;
  for (const std::string& spec : specs) {
    size_t colon = spec.find(':');
    std::string_view key =
        colon == std::string::npos ? std::string_view{} : trim(std::string_view(spec).substr(0, colon));
    if (key.empty()) return Status::error("invalid header \"" + spec + "\" (use -H key:value)");
    std::string_view value = trim(std::string_view(spec).substr(colon + 1));
    headers.add(std::string(key), expand_template(value, ctx));
  }
  return headers;
}

std::string read_all_stdin() {
  if (::isatty(STDIN_FILENO) == 1) std::fputs("Reading payload from STDIN (end with Ctrl-D)\n", stderr);
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n > 0) {
      data.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  return data;
}

void print_msg_body(const Msg& msg, MsgFormat format) {
  if (!msg.headers.fields().empty()) {
    for (const auto& [key, value] : msg.headers.fields()) {
      write_stdout(key);
      write_stdout(": ");
      write_stdout(value);
      write_stdout("\n");
    }
    write_stdout("\n");
  }
  if (format != MsgFormat::HeadersOnly) {
    write_stdout(msg.data);
    write_stdout("\n");
    if (msg.data.empty() || msg.data.back() != '\n') write_stdout("\n");
  }
  if (std::fflush(stdout) != 0) stdout_failed_flag.store(true);
}

bool stdout_failed() { return stdout_failed_flag.load(); }

void print_msg(const Msg& msg, uint64_t number, MsgFormat format) {
  if (format == MsgFormat::Raw) {
    write_stdout(msg.data);
    write_stdout("\n");
    if (std::fflush(stdout) != 0) stdout_failed_flag.store(true);
    return;
  }
  std::string line = "[#" + std::to_string(number) + "] Received on \"" + msg.subject + "\"";
  if (!msg.reply.empty()) line += " with reply \"" + msg.reply + "\"";
  line += "\n";
  write_stdout(line);
  print_msg_body(msg, format);
}

SignalWaiter::SignalWaiter() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int SignalWaiter::wait(std::chrono::milliseconds timeout) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1000000);
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

void StopFlag::finish() {
  std::lock_guard lock(mu_);
  finished_ = true;
}

void StopFlag::fail(Status why) {
  std::lock_guard lock(mu_);
  if (failed_.is_ok()) failed_ = std::move(why);
}

Status StopFlag::failure() {
  std::lock_guard lock(mu_);
  return failed_;
}

StopFlag::Reason StopFlag::wait(SignalWaiter& signals) {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (!failed_.is_ok()) return Reason::Failed;
      if (finished_) return Reason::Finished;
    }
    if (stdout_failed()) return Reason::StdoutClosed;
    if (signals.wait(std::chrono::milliseconds(50)) != 0) return Reason::Signal;
  }
}

void StopFlag::watch(Options& opts) {
  opts.disconnected = [](Connection&) { std::fputs("Disconnected from the server, reconnecting\n", stderr); };
  opts.reconnected = [](Connection& c) {
    std::fprintf(stderr, "Reconnected to nats://%s\n", c.server_info().connected_url.c_str());
  };
  opts.closed = [this](Connection& c) {
    // last_error() is ok when we closed it ourselves (drain at the end).
    if (Status why = c.last_error(); !why.is_ok()) fail(Status::error("connection closed: " + why.message()));
  };
  opts.error = [this](Connection&, const Status& s) {
    if (error_code(s) == ErrorCode::PermissionViolation) {
      fail(s);
    } else {
      std::fprintf(stderr, "Warning: %s\n", s.message().c_str());
    }
  };
}

ProgressBar::ProgressBar(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), enabled_(total > 0 && ::isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(uint64_t done) {
  if (!enabled_ || finished_) return;
  done = std::min(done, total_);
  int percent = static_cast<int>(done * 100 / total_);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  constexpr int kWidth = 40;
  int filled = percent * kWidth / 100;
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\r%s [%s] %3d%% %llu/%llu", label_.c_str(), bar.c_str(), percent,
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_));
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  update(total_);
  finished_ = true;
  std::fputs("\n", stderr);
}

Result<Subscription> listen(Connection& nc, const std::string& subject, const std::string& queue, uint64_t count,
                            MsgHandler handler, std::chrono::milliseconds timeout) {
  auto sub = queue.empty() ? nc.subscribe(subject, std::move(handler)) : nc.queue_subscribe(subject, queue, std::move(handler));
  if (!sub) return Status::error("cannot subscribe to \"" + subject + "\": " + sub.status().message());
  if (count != 0) (void)sub->auto_unsubscribe(count);
  // The server has the SUB once the PONG is back: only then may the caller say it listens.
  if (Status st = nc.flush(timeout); !st) return Status::error("subscribe failed: " + st.message());
  return sub;
}

int wait_then_drain(StopFlag& stop, SignalWaiter& signals, Connection& nc, std::chrono::milliseconds timeout) {
  StopFlag::Reason reason = stop.wait(signals);
  if (reason == StopFlag::Reason::Failed) return fail(kExitFailure, stop.failure().message());
  if (reason != StopFlag::Reason::StdoutClosed) (void)nc.drain(std::max(timeout, std::chrono::milliseconds(2000)));
  return kExitOk;
}

}  // namespace tern::cli
