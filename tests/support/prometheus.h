// Reading a Prometheus text exposition (what `/metrics` serves) in tests:
// parse it into series, and look one up by name and labels whatever order the
// exporter printed the labels in. Comments (# HELP, # TYPE) are skipped;
// timestamps after the value are ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::test {

using Labels = std::vector<std::pair<std::string, std::string>>;

class MetricsSnapshot {
 public:
  static MetricsSnapshot Parse(std::string_view text);

  // The value of the series `name{labels}` (labels in any order; exact match).
  std::optional<double> Value(std::string_view name, const Labels& labels = {}) const;
  // Value(...) or 0 when the series is absent (counters not yet touched).
  double ValueOr0(std::string_view name, const Labels& labels = {}) const;
  // The sum over every series named `name`.
  double Sum(std::string_view name) const;
  bool empty() const { return series_.empty(); }
  const std::string& text() const { return text_; }

 private:
  // Key: name{k1="v1",k2="v2"} with labels sorted by key.
  std::map<std::string, double, std::less<>> series_;
  std::map<std::string, std::vector<double>, std::less<>> by_name_;
  std::string text_;
};

// GET http://127.0.0.1:port/metrics; nullopt when it does not answer 200.
std::optional<MetricsSnapshot> ScrapeMetrics(uint16_t port);

}  // namespace sluice::test
