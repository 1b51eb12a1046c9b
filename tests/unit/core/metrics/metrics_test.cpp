#include "core/metrics/metrics.h"

#include <thread>

#include <catch2/catch.hpp>

namespace sluice {

TEST_CASE("metrics: counters and gauges render in the Prometheus text format", "[unit]") {
  MetricsRegistry reg;
  reg.GetCounter("sluice_records_in_total", "Records read.", {{"source", "app"}}).Inc(3);
  reg.GetCounter("sluice_records_in_total", "Records read.", {{"source", "sensors"}}).Inc();
  reg.GetGauge("sluice_buffer_bytes", "Bytes in the buffer.").Set(1048576);
  reg.GetGauge("sluice_age_seconds", "Oldest record age.", {{"sink", "lake"}}).Set(1.25);
  CHECK(reg.RenderPrometheus() ==
        "# HELP sluice_age_seconds Oldest record age.\n"
        "# TYPE sluice_age_seconds gauge\n"
        "sluice_age_seconds{sink=\"lake\"} 1.25\n"
        "# HELP sluice_buffer_bytes Bytes in the buffer.\n"
        "# TYPE sluice_buffer_bytes gauge\n"
        "sluice_buffer_bytes 1048576\n"
        "# HELP sluice_records_in_total Records read.\n"
        "# TYPE sluice_records_in_total counter\n"
        "sluice_records_in_total{source=\"app\"} 3\n"
        "sluice_records_in_total{source=\"sensors\"} 1\n");
}

TEST_CASE("metrics: the same name and labels return the same object", "[unit]") {
  MetricsRegistry reg;
  Counter& a = reg.GetCounter("c_total", "h", {{"x", "1"}, {"y", "2"}});
  Counter& b = reg.GetCounter("c_total", "h", {{"y", "2"}, {"x", "1"}});
  Counter& c = reg.GetCounter("c_total", "h", {{"x", "2"}, {"y", "2"}});
  CHECK(&a == &b);
  CHECK(&a != &c);
  Gauge& g1 = reg.GetGauge("g", "h");
  Gauge& g2 = reg.GetGauge("g", "h");
  CHECK(&g1 == &g2);
}

TEST_CASE("metrics: misuse is a programming error", "[unit]") {
  MetricsRegistry reg;
  reg.GetCounter("c_total", "h");
  CHECK_THROWS_AS(reg.GetGauge("c_total", "h"), std::logic_error);
  reg.GetGauge("g", "h");
  CHECK_THROWS_AS(reg.GetCounter("g", "h"), std::logic_error);
  CHECK_THROWS_AS(reg.GetCounter("bad-name", "h"), std::invalid_argument);
  CHECK_THROWS_AS(reg.GetCounter("9lives", "h"), std::invalid_argument);
  CHECK_THROWS_AS(reg.GetCounter("", "h"), std::invalid_argument);
  CHECK_THROWS_AS(reg.GetCounter("ok_total", "h", {{"bad label", "v"}}), std::invalid_argument);
  CHECK_THROWS_AS(reg.GetCounter("ok_total", "h", {{"__reserved", "v"}}), std::invalid_argument);
  CHECK_NOTHROW(reg.GetCounter("ns:ok_total", "h", {{"_l1", "v"}}));
}

TEST_CASE("metrics: label values and help text are escaped", "[unit]") {
  MetricsRegistry reg;
  reg.GetGauge("g", "line one\nback\\slash \"quotes\" stay").Set(1);
  reg.GetGauge("g", "", {{"path", "C:\\logs\\\"a\"\nb"}}).Set(2);
  CHECK(reg.RenderPrometheus() ==
        "# HELP g line one\\nback\\\\slash \"quotes\" stay\n"
        "# TYPE g gauge\n"
        "g 1\n"
        "g{path=\"C:\\\\logs\\\\\\\"a\\\"\\nb\"} 2\n");
}

TEST_CASE("metrics: values keep full precision", "[unit]") {
  MetricsRegistry reg;
  reg.GetCounter("big_total", "h").Inc(18446744073709551615ULL);
  reg.GetGauge("g", "h", {{"k", "a"}}).Set(1e15);
  reg.GetGauge("g", "h", {{"k", "b"}}).Set(-3);
  reg.GetGauge("g", "h", {{"k", "c"}}).Set(0.1);
  reg.GetGauge("g", "h", {{"k", "d"}}).Set(std::numeric_limits<double>::infinity());
  reg.GetGauge("g", "h", {{"k", "e"}}).Set(-std::numeric_limits<double>::infinity());
  reg.GetGauge("g", "h", {{"k", "f"}}).Set(std::numeric_limits<double>::quiet_NaN());
  reg.GetGauge("g", "h", {{"k", "g"}}).Set(9007199254740993.0);  // rounds to 2^53 + 0 or 2
  reg.GetGauge("g", "h", {{"k", "h"}}).Set(1e300);
  const std::string out = reg.RenderPrometheus();
  CHECK_THAT(out, Catch::Contains("big_total 18446744073709551615\n"));
  CHECK_THAT(out, Catch::Contains("g{k=\"a\"} 1000000000000000\n"));
  CHECK_THAT(out, Catch::Contains("g{k=\"b\"} -3\n"));
  CHECK_THAT(out, Catch::Contains("g{k=\"c\"} 0.1\n"));
  CHECK_THAT(out, Catch::Contains("g{k=\"d\"} +Inf\n"));
  CHECK_THAT(out, Catch::Contains("g{k=\"e\"} -Inf\n"));
  CHECK_THAT(out, Catch::Contains("g{k=\"f\"} NaN\n"));
  CHECK_THAT(out, Catch::Contains("g{k=\"g\"} 9007199254740992\n"));
  CHECK_THAT(out, Catch::Contains("g{k=\"h\"} 1e+300\n"));
}

TEST_CASE("metrics: Gauge::Add is atomic across threads", "[unit]") {
  MetricsRegistry reg;
  Gauge& g = reg.GetGauge("g", "h");
  Counter& c = reg.GetCounter("c_total", "h");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        g.Add(1);
        g.Add(-0.5);
        c.Inc();
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(g.value() == 20000);
  CHECK(c.value() == 40000);
}

TEST_CASE("metrics: collectors are merged by family and removed with their handle", "[unit]") {
  MetricsRegistry reg;
  reg.GetGauge("sluice_file_bytes_behind", "Bytes not yet read.", {{"path", "/a"}}).Set(5);
  reg.GetCounter("sluice_z_total", "Last.").Inc(2);
  int files = 2;
  CollectorHandle h = reg.AddCollector([&](MetricWriter& w) {
    for (int i = files; i > 0; --i) {
      w.Gauge("sluice_file_bytes_behind", "ignored: the registry's help wins",
              {{"path", "/f" + std::to_string(i)}}, i * 10);
    }
    w.Counter("sluice_collected_total", "From a collector.", {}, 7);
  });
  CHECK(reg.RenderPrometheus() ==
        "# HELP sluice_collected_total From a collector.\n"
        "# TYPE sluice_collected_total counter\n"
        "sluice_collected_total 7\n"
        "# HELP sluice_file_bytes_behind Bytes not yet read.\n"
        "# TYPE sluice_file_bytes_behind gauge\n"
        "sluice_file_bytes_behind{path=\"/a\"} 5\n"
        "sluice_file_bytes_behind{path=\"/f1\"} 10\n"
        "sluice_file_bytes_behind{path=\"/f2\"} 20\n"
        "# HELP sluice_z_total Last.\n"
        "# TYPE sluice_z_total counter\n"
        "sluice_z_total 2\n");

  SECTION("two collectors writing one family print one HELP/TYPE") {
    CollectorHandle h2 = reg.AddCollector(
        [](MetricWriter& w) { w.Counter("sluice_collected_total", "From a collector.", {{"k", "v"}}, 1); });
    const std::string out = reg.RenderPrometheus();
    CHECK_THAT(out, Catch::Contains("# TYPE sluice_collected_total counter\n"
                                    "sluice_collected_total 7\n"
                                    "sluice_collected_total{k=\"v\"} 1\n"));
    size_t count = 0;
    for (size_t pos = 0; (pos = out.find("# HELP sluice_collected_total", pos)) != std::string::npos; ++pos) ++count;
    CHECK(count == 1);
  }
  SECTION("a destroyed handle removes its collector") {
    { CollectorHandle gone = std::move(h); }
    CHECK(reg.RenderPrometheus() ==
          "# HELP sluice_file_bytes_behind Bytes not yet read.\n"
          "# TYPE sluice_file_bytes_behind gauge\n"
          "sluice_file_bytes_behind{path=\"/a\"} 5\n"
          "# HELP sluice_z_total Last.\n"
          "# TYPE sluice_z_total counter\n"
          "sluice_z_total 2\n");
  }
  SECTION("move assignment releases the old collector") {
    CollectorHandle other = reg.AddCollector([](MetricWriter& w) { w.Gauge("sluice_other", "o", {}, 1); });
    CHECK_THAT(reg.RenderPrometheus(), Catch::Contains("sluice_other 1\n"));
    other = std::move(h);
    const std::string out = reg.RenderPrometheus();
    CHECK_THAT(out, !Catch::Contains("sluice_other"));
    CHECK_THAT(out, Catch::Contains("sluice_collected_total 7\n"));
    CollectorHandle empty;
    other = std::move(empty);
    CHECK_THAT(reg.RenderPrometheus(), !Catch::Contains("sluice_collected_total"));
  }
}

TEST_CASE("metrics: an empty registry renders nothing", "[unit]") {
  MetricsRegistry reg;
  CHECK(reg.RenderPrometheus().empty());
}

}  // namespace sluice
