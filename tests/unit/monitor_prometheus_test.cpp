// The hand-written Prometheus text exposition (server/monitor/prometheus.h) and the Go-style
// duration strings the monitor's JSON uses.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "server/config/go_duration.h"
#include "server/monitor/monitor.h"
#include "server/monitor/prometheus.h"

using namespace tern::server;

TEST_CASE("prometheus: label values and help text are escaped per the format", "[monitor][prometheus]") {
  CHECK(prom_escape_label_value(R"(a"b\c)") == R"(a\"b\\c)");
  CHECK(prom_escape_label_value("line\nbreak") == "line\\nbreak");
  CHECK(prom_escape_label_value("plain.stream-1") == "plain.stream-1");
  CHECK(prom_escape_help("say \"hi\"\\now\n") == "say \"hi\"\\\\now\\n");  // quotes stay in HELP
}

TEST_CASE("prometheus: values", "[monitor][prometheus]") {
  CHECK(prom_format_value(0) == "0");
  CHECK(prom_format_value(42) == "42");
  CHECK(prom_format_value(-3) == "-3");
  CHECK(prom_format_value(0.25) == "0.25");
  CHECK(prom_format_value(1e-4) == "0.0001");
  CHECK(prom_format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(prom_format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(prom_format_value(std::nan("")) == "NaN");
}

TEST_CASE("prometheus: families and samples with labels", "[monitor][prometheus]") {
  PromWriter w;
  w.family("tern_stream_messages", "Messages stored in the stream.", "gauge");
  w.sample("tern_stream_messages", {{"stream", "ORDERS"}}, uint64_t{5});
  w.sample("tern_stream_messages", {{"stream", "we\"ird"}}, uint64_t{18446744073709551615ull});
  w.family("tern_consumer_num_pending", "Pending.", "gauge");
  w.sample("tern_consumer_num_pending", {{"stream", "S"}, {"consumer", "c\\1"}}, 2.5);
  w.family("tern_connections", "Open.", "gauge");
  w.sample("tern_connections", {}, uint64_t{3});
  CHECK(w.take() ==
        "# HELP tern_stream_messages Messages stored in the stream.\n"
        "# TYPE tern_stream_messages gauge\n"
        "tern_stream_messages{stream=\"ORDERS\"} 5\n"
        "tern_stream_messages{stream=\"we\\\"ird\"} 18446744073709551615\n"
        "# HELP tern_consumer_num_pending Pending.\n"
        "# TYPE tern_consumer_num_pending gauge\n"
        "tern_consumer_num_pending{stream=\"S\",consumer=\"c\\\\1\"} 2.5\n"
        "# HELP tern_connections Open.\n"
        "# TYPE tern_connections gauge\n"
        "tern_connections 3\n");
}

TEST_CASE("prometheus: a histogram has cumulative buckets, +Inf, _sum and _count", "[monitor][prometheus]") {
  Histogram h({0.001, 0.01, 0.1});
  h.record(0.0005);  // <= 0.001
  h.record(0.001);   // on the bound: le is inclusive
  h.record(0.005);   // <= 0.01
  h.record(0.5);     // above every bound: only +Inf
  h.record(2.0);
  PromWriter w;
  w.family("tern_storage_sync_seconds", "Sync time.", "histogram");
  w.histogram("tern_storage_sync_seconds", {}, h.snapshot());
  CHECK(w.take() ==
        "# HELP tern_storage_sync_seconds Sync time.\n"
        "# TYPE tern_storage_sync_seconds histogram\n"
        "tern_storage_sync_seconds_bucket{le=\"0.001\"} 2\n"
        "tern_storage_sync_seconds_bucket{le=\"0.01\"} 3\n"
        "tern_storage_sync_seconds_bucket{le=\"0.1\"} 3\n"
        "tern_storage_sync_seconds_bucket{le=\"+Inf\"} 5\n"
        "tern_storage_sync_seconds_sum 2.5065\n"
        "tern_storage_sync_seconds_count 5\n");

  PromWriter labelled;
  labelled.histogram("h", {{"stream", "S"}}, Histogram({1.0}).snapshot());
  CHECK(labelled.take() ==
        "h_bucket{stream=\"S\",le=\"1\"} 0\n"
        "h_bucket{stream=\"S\",le=\"+Inf\"} 0\n"
        "h_sum{stream=\"S\"} 0\n"
        "h_count{stream=\"S\"} 0\n");
}

TEST_CASE("monitor: Go duration strings (connz rtt) and nats uptimes", "[monitor]") {
  CHECK(go_duration_string(0) == "0s");
  CHECK(go_duration_string(512) == "512ns");
  CHECK(go_duration_string(1500) == "1.5µs");
  CHECK(go_duration_string(2'250'000) == "2.25ms");
  CHECK(go_duration_string(1'000'000'000) == "1s");
  CHECK(go_duration_string(90'500'000'000) == "1m30.5s");
  CHECK(go_duration_string(3'723'000'000'000) == "1h2m3s");
  CHECK(go_duration_string(-1500) == "-1.5µs");
  CHECK(nats_uptime(0) == "0s");
  CHECK(nats_uptime(62'900'000'000) == "1m2s");
  CHECK(nats_uptime(3'600'000'000'000) == "1h0m0s");
  CHECK(nats_uptime(int64_t{86400 + 1} * 1'000'000'000) == "1d0h0m1s");
  CHECK(nats_uptime(int64_t{366} * 86400 * 1'000'000'000) == "1y1d0h0m0s");
}
