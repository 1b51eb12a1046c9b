#include "core/metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace sluice {
namespace {

// Prometheus data model: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]*. A bad name is a programming error, not input, so it
// throws rather than rendering an exposition Prometheus would reject.
bool ValidName(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

void CheckNames(std::string_view name, const Labels& labels) {
  if (!ValidName(name, true)) throw std::invalid_argument("invalid metric name '" + std::string(name) + "'");
  for (const auto& [k, v] : labels) {
    if (!ValidName(k, false) || k.starts_with("__"))
      throw std::invalid_argument("invalid label name '" + k + "' on metric '" + std::string(name) + "'");
  }
}

// Series identity must not depend on the order the caller listed labels in.
Labels Canonical(Labels labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

// HELP text: backslash and line feed are escaped (text format 0.0.4).
void AppendHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

// Label values additionally escape the double quote.
void AppendLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"') out += "\\\"";
    else out += c;
  }
}

void AppendLabels(std::string& out, const Labels& labels) {
  if (labels.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    AppendLabelValue(out, v);
    out += '"';
  }
  out += '}';
}

void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[64];
  std::to_chars_result r{};
  // Integral values print every digit, never an exponent (a byte count of
  // 1e+10 is hard to read and to grep); others get the shortest round-trip form.
  if (v == std::trunc(v) && std::fabs(v) < 1e20) {
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  } else {
    r = std::to_chars(buf, buf + sizeof buf, v);
  }
  out.append(buf, r.ptr);
}

void AppendValue(std::string& out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void AppendHeader(std::string& out, std::string_view name, std::string_view help, bool is_counter) {
  out += "# HELP ";
  out += name;
  out += ' ';
  AppendHelp(out, help);
  out += "\n# TYPE ";
  out += name;
  out += is_counter ? " counter\n" : " gauge\n";
}

// Samples gathered from collectors during one scrape.
struct CollectedFamily {
  std::string help;
  bool is_counter = false;
  std::vector<std::pair<Labels, double>> samples;
};

class CollectingWriter final : public MetricWriter {
 public:
  void Gauge(std::string_view name, std::string_view help, const Labels& labels, double value) override {
    Add(name, help, labels, value, false);
  }
  void Counter(std::string_view name, std::string_view help, const Labels& labels, double value) override {
    Add(name, help, labels, value, true);
  }
  std::map<std::string, CollectedFamily, std::less<>>& families() { return families_; }

 private:
  void Add(std::string_view name, std::string_view help, const Labels& labels, double value, bool is_counter) {
    CheckNames(name, labels);
    auto it = families_.find(name);
    if (it == families_.end()) {
      it = families_.emplace(std::string(name), CollectedFamily{std::string(help), is_counter, {}}).first;
    }
    it->second.samples.emplace_back(labels, value);
  }
  std::map<std::string, CollectedFamily, std::less<>> families_;
};

}  // namespace

void Gauge::Add(double d) {
  double cur = v_.load(std::memory_order_relaxed);
  while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

CollectorHandle& CollectorHandle::operator=(CollectorHandle&& o) noexcept {
  if (this != &o) {
    if (registry_ != nullptr) registry_->RemoveCollector(id_);
    registry_ = std::exchange(o.registry_, nullptr);
    id_ = std::exchange(o.id_, 0);
  }
  return *this;
}

CollectorHandle::~CollectorHandle() {
  if (registry_ != nullptr) registry_->RemoveCollector(id_);
}

Counter& MetricsRegistry::GetCounter(std::string_view name, std::string_view help, const Labels& labels) {
  CheckNames(name, labels);
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.help = std::string(help);
    it->second.is_counter = true;
  } else if (!it->second.is_counter) {
    throw std::logic_error("metric '" + std::string(name) + "' is a gauge, requested as a counter");
  }
  auto& slot = it->second.counters[Canonical(labels)];
  if (!slot) slot = std::make_unique<sluice::Counter>();
  return *slot;
}

Gauge& MetricsRegistry::GetGauge(std::string_view name, std::string_view help, const Labels& labels) {
  CheckNames(name, labels);
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.help = std::string(help);
    it->second.is_counter = false;
  } else if (it->second.is_counter) {
    throw std::logic_error("metric '" + std::string(name) + "' is a counter, requested as a gauge");
  }
  auto& slot = it->second.gauges[Canonical(labels)];
  if (!slot) slot = std::make_unique<sluice::Gauge>();
  return *slot;
}

CollectorHandle MetricsRegistry::AddCollector(std::function<void(MetricWriter&)> collect) {
  std::lock_guard lock(mu_);
  const uint64_t id = next_collector_id_++;
  collectors_.emplace(id, std::move(collect));
  return CollectorHandle(this, id);
}

void MetricsRegistry::RemoveCollector(uint64_t id) {
  std::lock_guard lock(mu_);
  collectors_.erase(id);
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::string out;
  // Collectors run under the lock so that a handle being destroyed waits for
  // a scrape in progress; the object a collector reads is then still alive.
  std::lock_guard lock(mu_);
  CollectingWriter writer;
  for (const auto& [id, collect] : collectors_) collect(writer);
  auto& collected = writer.families();
  for (auto& [name, fam] : collected) {
    std::stable_sort(fam.samples.begin(), fam.samples.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }

  // Both maps are sorted by name: merge them so each family is printed once,
  // with one HELP/TYPE, whether its samples come from the registry, a
  // collector, or both.
  auto reg = families_.begin();
  auto col = collected.begin();
  while (reg != families_.end() || col != collected.end()) {
    const bool take_reg = reg != families_.end() && (col == collected.end() || reg->first <= col->first);
    const bool take_col = col != collected.end() && (reg == families_.end() || col->first <= reg->first);
    const std::string& name = take_reg ? reg->first : col->first;
    if (take_reg) {
      AppendHeader(out, name, reg->second.help, reg->second.is_counter);
      for (const auto& [labels, c] : reg->second.counters) {
        out += name;
        AppendLabels(out, labels);
        out += ' ';
        AppendValue(out, c->value());
        out += '\n';
      }
      for (const auto& [labels, g] : reg->second.gauges) {
        out += name;
        AppendLabels(out, labels);
        out += ' ';
        AppendValue(out, g->value());
        out += '\n';
      }
    } else {
      AppendHeader(out, name, col->second.help, col->second.is_counter);
    }
    if (take_col) {
      for (const auto& [labels, v] : col->second.samples) {
        out += name;
        AppendLabels(out, labels);
        out += ' ';
        AppendValue(out, v);
        out += '\n';
      }
    }
    if (take_reg) ++reg;
    if (take_col) ++col;
  }
  return out;
}

}  // namespace sluice
