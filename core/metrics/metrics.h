// The metrics registry: named counters and gauges with labels, rendered in the
// Prometheus text exposition format (version 0.0.4).
//
// Counters and gauges are created once (GetCounter/GetGauge return a reference
// that stays valid for the registry's lifetime) and updated lock-free on hot
// paths. Per-object series that come and go (one per tailed file) are exposed
// through collectors, called at scrape time and removed with their handle.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// One thread's increments of a Counter that several threads add to for every
// record: kept in a plain integer and added to the counter by Flush (once per
// batch of records), so the counter's cache line does not travel between
// cores with every record. Owned and used by one thread.
class CounterShare {
 public:
  explicit CounterShare(Counter* counter = nullptr) : counter_(counter) {}
  void Inc(uint64_t n = 1) { pending_ += n; }
  void Flush() {
    if (counter_ != nullptr && pending_ != 0) counter_->Inc(pending_);
    pending_ = 0;
  }

 private:
  Counter* counter_;
  uint64_t pending_ = 0;
};

class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Receives samples from a collector at scrape time.
class MetricWriter {
 public:
  virtual ~MetricWriter() = default;
  virtual void Gauge(std::string_view name, std::string_view help, const Labels& labels, double value) = 0;
  virtual void Counter(std::string_view name, std::string_view help, const Labels& labels, double value) = 0;
};

class MetricsRegistry;

// Removes its collector when destroyed. Must not outlive the registry.
class CollectorHandle {
 public:
  CollectorHandle() = default;
  CollectorHandle(MetricsRegistry* registry, uint64_t id) : registry_(registry), id_(id) {}
  CollectorHandle(CollectorHandle&& o) noexcept { *this = std::move(o); }
  CollectorHandle& operator=(CollectorHandle&& o) noexcept;
  CollectorHandle(const CollectorHandle&) = delete;
  CollectorHandle& operator=(const CollectorHandle&) = delete;
  ~CollectorHandle();

 private:
  MetricsRegistry* registry_ = nullptr;
  uint64_t id_ = 0;
};

class MetricsRegistry {
 public:
  // Names follow Prometheus conventions: sluice_<what>_<unit>[_total].
  // The same name and labels (in any order) always return the same object.
  // An invalid name, or a name already used by the other type, is a
  // programming error and throws std::invalid_argument / std::logic_error.
  sluice::Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  sluice::Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});

  // `collect` runs at scrape time under the registry's lock (so destroying the
  // handle waits for a scrape in progress): it must not call back into the registry.
  [[nodiscard]] CollectorHandle AddCollector(std::function<void(MetricWriter&)> collect);

  // The whole registry in the Prometheus text format.
  std::string RenderPrometheus() const;

 private:
  friend class CollectorHandle;
  void RemoveCollector(uint64_t id);

  struct Family {
    std::string help;
    bool is_counter = false;
    std::map<Labels, std::unique_ptr<sluice::Counter>> counters;
    std::map<Labels, std::unique_ptr<sluice::Gauge>> gauges;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  std::map<uint64_t, std::function<void(MetricWriter&)>> collectors_;
  uint64_t next_collector_id_ = 1;
};

}  // namespace sluice
