#pragma once
// The Prometheus text exposition format, version 0.0.4, written by hand: Debian 12 ships no C++
// Prometheus client (no prometheus-cpp package), and /metrics needs only gauges, counters and
// one histogram. https://prometheus.io/docs/instrumenting/exposition_formats/
//
//   PromWriter w;
//   w.family("tern_connections", "Client connections open now", "gauge");
//   w.sample("tern_connections", {}, 3);
//   std::string body = w.take();
//
// Every sample of a family must follow its family() line, with no other family in between.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/monitor/histogram.h"

namespace tern::server {

using PromLabels = std::vector<std::pair<std::string, std::string>>;

// A label value with '\', '"' and newline escaped, as the format requires.
std::string prom_escape_label_value(std::string_view v);
// HELP text: '\' and newline escaped (quotes stay as they are).
std::string prom_escape_help(std::string_view v);
// A sample value: integers without exponent or fraction, "+Inf", "-Inf", "NaN", else shortest round-trip.
std::string prom_format_value(double v);

class PromWriter {
 public:
  // "# HELP name help" and "# TYPE name type" (type: counter, gauge, histogram, ...).
  void family(std::string_view name, std::string_view help, std::string_view type);
  void sample(std::string_view name, const PromLabels& labels, double value);
  void sample(std::string_view name, const PromLabels& labels, uint64_t value);
  // name_bucket{...,le="..."} for each bound and +Inf (cumulative), then name_sum and name_count.
  void histogram(std::string_view name, const PromLabels& labels, const Histogram::Snapshot& h);
  std::string take() { return std::move(out_); }

 private:
  void labels(const PromLabels& labels, std::string_view le = {});
  std::string out_;
};

}  // namespace tern::server
