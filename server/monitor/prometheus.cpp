#include "server/monitor/prometheus.h"

#include <charconv>
#include <cmath>

namespace tern::server {

std::string prom_escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string prom_escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string prom_format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Whole numbers below 2^53 print exactly, without "e+" (counters read better that way).
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    return std::string(buf, p);
  }
  // Shortest round-trip form; plain decimals ("0.0001", not "1e-04") where that stays short.
  char buf[64];
  double a = std::fabs(v);
  auto fmt = a >= 1e-9 && a < 1e15 ? std::chars_format::fixed : std::chars_format::general;
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v, fmt);
  return std::string(buf, p);
}

void PromWriter::family(std::string_view name, std::string_view help, std::string_view type) {
  out_.append("# HELP ").append(name).append(" ").append(prom_escape_help(help)).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PromWriter::labels(const PromLabels& labels, std::string_view le) {
  if (labels.empty() && le.empty()) return;
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_.append(k).append("=\"").append(prom_escape_label_value(v)).append("\"");
  }
  if (!le.empty()) {
    if (!first) out_ += ',';
    out_.append("le=\"").append(le).append("\"");
  }
  out_ += '}';
}

void PromWriter::sample(std::string_view name, const PromLabels& l, double value) {
  out_.append(name);
  labels(l);
  out_.append(" ").append(prom_format_value(value)).append("\n");
}

void PromWriter::sample(std::string_view name, const PromLabels& l, uint64_t value) {
  // Counters can pass 2^53: print the integer itself rather than a rounded double.
  out_.append(name);
  labels(l);
  out_.append(" ").append(std::to_string(value)).append("\n");
}

void PromWriter::histogram(std::string_view name, const PromLabels& l, const Histogram::Snapshot& h) {
  std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    out_.append(bucket);
    labels(l, prom_format_value(h.bounds[i]));
    out_.append(" ").append(std::to_string(h.cumulative[i])).append("\n");
  }
  out_.append(bucket);
  labels(l, "+Inf");
  out_.append(" ").append(std::to_string(h.count)).append("\n");
  sample(std::string(name) + "_sum", l, h.sum);
  sample(std::string(name) + "_count", l, h.count);
}

}  // namespace tern::server
