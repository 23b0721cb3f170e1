#pragma once
// Go's time.Duration text, both ways: nats-server writes durations with Duration.String() and
// reads them with time.ParseDuration (config files, -NAK <duration>, /connz rtt, 409 texts),
// so Tern has exactly one port of each.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern::server {

// Go's time.Duration String(): "0s", "512ns", "1.5µs", "2.25ms", "1m30s", "1h0m0s".
std::string go_duration_string(int64_t ns);
// Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?unit)+ or "0", units ns us µs ms s m h;
// nullopt when it is not one or it overflows int64 nanoseconds.
std::optional<int64_t> parse_go_duration(std::string_view text);

}  // namespace tern::server
