#include "server/config/go_duration.h"

namespace tern::server {
namespace {

constexpr int64_t kSecondNs = 1'000'000'000;

// Go's fmtFrac / fmtInt from time/time.go, writing backwards into buf ending at w.
void fmt_frac(char* buf, int* w, uint64_t* v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    uint64_t digit = *v % 10;
    print = print || digit != 0;
    if (print) buf[--*w] = static_cast<char>('0' + digit);
    *v /= 10;
  }
  if (print) buf[--*w] = '.';
}

void fmt_int(char* buf, int* w, uint64_t v) {
  if (v == 0) {
    buf[--*w] = '0';
    return;
  }
  while (v > 0) {
    buf[--*w] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

std::string go_duration_string(int64_t d) {
  char buf[32];
  int w = sizeof buf;
  uint64_t u = static_cast<uint64_t>(d);
  const bool neg = d < 0;
  if (neg) u = -u;
  if (u < static_cast<uint64_t>(kSecondNs)) {
    int prec = 0;
    buf[--w] = 's';
    --w;
    if (u == 0) return "0s";
    if (u < 1000) {
      prec = 0;
      buf[w] = 'n';
    } else if (u < 1'000'000) {
      prec = 3;
      --w;  // "µ" (U+00B5) is two bytes
      buf[w] = '\xc2';
      buf[w + 1] = '\xb5';
    } else {
      prec = 6;
      buf[w] = 'm';
    }
    fmt_frac(buf, &w, &u, prec);
    fmt_int(buf, &w, u);
  } else {
    buf[--w] = 's';
    fmt_frac(buf, &w, &u, 9);
    fmt_int(buf, &w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      fmt_int(buf, &w, u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        fmt_int(buf, &w, u);
      }
    }
  }
  if (neg) buf[--w] = '-';
  return std::string(buf + w, sizeof buf - w);
}

std::optional<int64_t> parse_go_duration(std::string_view s) {
  // A port of Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ or "0".
  constexpr uint64_t kMax = uint64_t{1} << 63;
  uint64_t d = 0;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  while (!s.empty()) {
    uint64_t v = 0, f = 0;
    double scale = 1;
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return std::nullopt;
    size_t i = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (v > kMax / 10) return std::nullopt;
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kMax) return std::nullopt;
    }
    const bool pre = i > 0;
    s.remove_prefix(i);
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t k = 0;
      bool overflow = false;
      for (; k < s.size() && s[k] >= '0' && s[k] <= '9'; ++k) {
        if (overflow) continue;
        if (f > (kMax - 1) / 10) {
          overflow = true;
          continue;
        }
        uint64_t y = f * 10 + static_cast<uint64_t>(s[k] - '0');
        if (y > kMax) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = k > 0;
      s.remove_prefix(k);
    }
    if (!pre && !post) return std::nullopt;
    size_t n = 0;
    while (n < s.size() && s[n] != '.' && !(s[n] >= '0' && s[n] <= '9')) ++n;
    if (n == 0) return std::nullopt;
    std::string_view unit_name = s.substr(0, n);
    s.remove_prefix(n);
    uint64_t unit = 0;
    if (unit_name == "ns") unit = 1;
    else if (unit_name == "us" || unit_name == "\xc2\xb5s" || unit_name == "\xce\xbcs") unit = 1000;
    else if (unit_name == "ms") unit = 1'000'000;
    else if (unit_name == "s") unit = 1'000'000'000;
    else if (unit_name == "m") unit = 60'000'000'000;
    else if (unit_name == "h") unit = 3'600'000'000'000;
    else return std::nullopt;
    if (v > kMax / unit) return std::nullopt;
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kMax) return std::nullopt;
    }
    d += v;
    if (d > kMax) return std::nullopt;
  }
  if (neg) return static_cast<int64_t>(-static_cast<__int128>(d));
  if (d > kMax - 1) return std::nullopt;
  return static_cast<int64_t>(d);
}

}  // namespace tern::server
