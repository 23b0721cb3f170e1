// Fuzzes the config parser and the Options loader on top of it: any bytes must end in a tree or
// a one-line error naming the file, without crashing, hanging, reading out of bounds or using
// unbounded memory (nesting, includes and variable expansion are all capped).
// Includes never touch the disk: a path of even length reads a small fixed file, an odd one
// fails, so both branches run. Seeds: conf/*.conf, e.g.
//   fuzz_config -max_total_time=60 work/ conf/
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "server/config/conf_parser.h"
#include "server/config/options.h"

using namespace tern;
using namespace tern::server;

namespace {

Result<std::string> sandboxed_read(const std::string& path) {
  if (path.size() % 2 == 1) return Status::error("cannot open " + path + ": no files while fuzzing");
  return std::string("included: 1\nlisten: \"127.0.0.1:4222\"\nauthorization { token: $included }\n");
}

void check_one_line(const Status& s) {
  if (s.is_ok()) return;
  const std::string& m = s.message();
  if (m.empty() || m.find('\n') != std::string::npos || m.find('\r') != std::string::npos) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ConfFileReader reader = sandboxed_read;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<ConfMap> root = parse_conf(text, "fuzz.conf", reader);
  if (!root.is_ok()) {
    check_one_line(root.status());
    return 0;
  }
  Options opts;
  std::vector<std::string> warnings;
  Status s = apply_config(root.value(), opts, warnings);
  check_one_line(s);
  for (const std::string& w : warnings) check_one_line(Status::error(w));
  if (s.is_ok()) check_one_line(validate(opts));
  return 0;
}
