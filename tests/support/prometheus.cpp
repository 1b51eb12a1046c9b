#include "tests/support/prometheus.h"

#include <algorithm>
#include <cstdlib>

#include "tests/support/net.h"

namespace sluice::test {
namespace {

std::string Key(std::string_view name, Labels labels) {
  std::sort(labels.begin(), labels.end());
  std::string key(name);
  if (labels.empty()) return key;
  key += '{';
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) key += ',';
    key += labels[i].first + "=\"" + labels[i].second + "\"";
  }
  key += '}';
  return key;
}

// Parses `{k="v",...}` starting at s[pos] == '{'; returns the position after
// '}' or npos on a malformed label set. Values keep their escapes as written.
size_t ParseLabels(std::string_view s, size_t pos, Labels& out) {
  ++pos;
  while (pos < s.size() && s[pos] != '}') {
    const size_t eq = s.find('=', pos);
    if (eq == std::string_view::npos || eq + 1 >= s.size() || s[eq + 1] != '"') return std::string_view::npos;
    std::string key(s.substr(pos, eq - pos));
    std::string value;
    size_t i = eq + 2;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) value += s[i++];
      value += s[i++];
    }
    if (i >= s.size()) return std::string_view::npos;
    out.emplace_back(std::move(key), std::move(value));
    pos = i + 1;
    if (pos < s.size() && s[pos] == ',') ++pos;
  }
  return pos < s.size() ? pos + 1 : std::string_view::npos;
}

}  // namespace

MetricsSnapshot MetricsSnapshot::Parse(std::string_view text) {
  MetricsSnapshot m;
  m.text_ = std::string(text);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, name_end);
    Labels labels;
    size_t pos = name_end;
    if (line[pos] == '{') {
      pos = ParseLabels(line, pos, labels);
      if (pos == std::string_view::npos) continue;
    }
    while (pos < line.size() && line[pos] == ' ') ++pos;
    const std::string value_text(line.substr(pos, line.find(' ', pos) - pos));
    char* parse_end = nullptr;
    const double value = std::strtod(value_text.c_str(), &parse_end);
    if (parse_end == value_text.c_str()) continue;
    m.series_[Key(name, std::move(labels))] = value;
    m.by_name_[std::string(name)].push_back(value);
  }
  return m;
}

std::optional<double> MetricsSnapshot::Value(std::string_view name, const Labels& labels) const {
  auto it = series_.find(Key(name, labels));
  if (it == series_.end()) return std::nullopt;
  return it->second;
}

double MetricsSnapshot::ValueOr0(std::string_view name, const Labels& labels) const {
  return Value(name, labels).value_or(0.0);
}

double MetricsSnapshot::Sum(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return 0;
  double sum = 0;
  for (double v : it->second) sum += v;
  return sum;
}

std::optional<MetricsSnapshot> ScrapeMetrics(uint16_t port) {
  std::optional<HttpResponse> r = HttpGet(port, "/metrics");
  if (!r || r->status != 200) return std::nullopt;
  return MetricsSnapshot::Parse(r->body);
}

}  // namespace sluice::test
