#pragma once
// MsgScanner: the load generator's reader of server -> client bytes. Counts MSG/HMSG
// frames, PONGs and server PINGs as fast as the bytes arrive.
//
// Why its own scanner rather than proto::Parser: the parser wants a whole op (control
// line and payload) contiguous in memory, so a reader must keep payload bytes around
// and compact them. A benchmark subscriber never looks at payloads: the scanner parses
// the control line, then just skips <size>+2 bytes, across reads if need be. Only a
// partial control line (< max_control_line bytes) is ever moved to the buffer's front.
//
// Buffer contract: read into write_ptr()/write_space(), call commit(n), then scan().
// After scan() everything is consumed except a partial control line, which is kept.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace tern::bench {

class MsgScanner {
 public:
  explicit MsgScanner(size_t buffer_bytes = 256 * 1024) : buf_(buffer_bytes) {}

  char* write_ptr() { return buf_.data() + end_; }
  size_t write_space() const { return buf_.size() - end_; }
  void commit(size_t n) { end_ += n; }

  // Consumes the buffered bytes. on_msg(args) is called with the control line's text
  // after "MSG " / "HMSG " (subject, sid, [reply], sizes) as soon as the line is complete;
  // the view is valid only during the call. msgs() counts a frame once its payload and
  // trailing CRLF have been consumed too.
  template <class OnMsg>
  void scan(OnMsg&& on_msg) {
    const char* p = buf_.data() + begin_;
    const char* const e = buf_.data() + end_;
    while (p < e) {
      if (skip_ > 0) {
        const size_t n = std::min<size_t>(skip_, static_cast<size_t>(e - p));
        p += n;
        skip_ -= n;
        if (skip_ == 0) ++msgs_;
        continue;
      }
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(e - p)));
      if (nl == nullptr) break;
      const char* le = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
      handle_line(std::string_view(p, static_cast<size_t>(le - p)), on_msg);
      p = nl + 1;
    }
    // Keep only the partial control line (or nothing), at the front.
    const size_t rest = static_cast<size_t>(e - p);
    if (rest > 0 && p != buf_.data()) std::memmove(buf_.data(), p, rest);
    begin_ = 0;
    end_ = rest;
    if (end_ == buf_.size()) bad_ = "control line longer than the read buffer";
  }
  void scan() {
    scan([](std::string_view) {});
  }

  uint64_t msgs() const { return msgs_; }
  uint64_t pongs() const { return pongs_; }
  uint64_t infos() const { return infos_; }
  uint64_t errors() const { return errors_; }
  // Server PINGs not answered yet; the connection owner answers and calls pings_answered().
  uint64_t pings_owed() const { return pings_owed_; }
  void pings_answered() { pings_owed_ = 0; }
  const std::string& last_error() const { return last_error_; }
  const std::string& protocol_problem() const { return bad_; }

 private:
  // The trailing decimal number of a line: the (total) size of MSG and HMSG.
  static int64_t trailing_number(std::string_view line) {
    size_t i = line.size();
    while (i > 0 && (line[i - 1] == ' ' || line[i - 1] == '\t')) --i;
    int64_t v = 0, mul = 1;
    size_t digits = 0;
    while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9') {
      v += (line[i - 1] - '0') * mul;
      mul *= 10;
      --i;
      ++digits;
    }
    return digits == 0 ? -1 : v;
  }

  template <class OnMsg>
  void handle_line(std::string_view line, OnMsg& on_msg) {
    if (line.empty()) return;
    switch (line[0]) {
      case 'M':
      case 'm':
      case 'H':
      case 'h': {
        const int64_t size = trailing_number(line);
        if (size < 0) {
          bad_ = "bad MSG line: " + std::string(line);
          return;
        }
        const size_t op_len = (line[0] == 'M' || line[0] == 'm') ? 4 : 5;
        on_msg(line.size() > op_len ? line.substr(op_len) : std::string_view());
        skip_ = static_cast<size_t>(size) + 2;  // payload and its CRLF
        return;
      }
      case 'P':
      case 'p':
        if (line.size() >= 2 && (line[1] == 'O' || line[1] == 'o'))
          ++pongs_;
        else
          ++pings_owed_;
        return;
      case 'I':
      case 'i':
        ++infos_;
        return;
      case '-':
        ++errors_;
        last_error_ = std::string(line);
        return;
      case '+':
        return;  // +OK: only when verbose, which the bench turns off
      default:
        bad_ = "unexpected line: " + std::string(line.substr(0, 80));
        return;
    }
  }

  std::vector<char> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t skip_ = 0;  // payload bytes (+CRLF) of the current MSG still to consume
  uint64_t msgs_ = 0;
  uint64_t pongs_ = 0;
  uint64_t infos_ = 0;
  uint64_t errors_ = 0;
  uint64_t pings_owed_ = 0;
  std::string last_error_;
  std::string bad_;
};

}  // namespace tern::bench
