// A Source produces records and commits them, with its own checkpoint, into the
// buffer. It runs on its own thread until stop is requested, then commits what
// it has read (so a restart resumes exactly there) and returns.
#pragma once

#include <memory>
#include <stop_token>
#include <string>

#include "agent/buffer/buffer.h"
#include "core/log/log.h"
#include "core/metrics/metrics.h"

namespace sluice {

struct TransformTopology;

struct SourceContext {
  Buffer* buffer = nullptr;
  MetricsRegistry* metrics = nullptr;
  Logger log;
  std::string host;  // the "host" of every record
  // The agent's transforms; null when there are none. A source writes its
  // records through a StreamWriter built on it (agent/transforms).
  const TransformTopology* transforms = nullptr;
};

// What every source counts (sluice_source_records_total, _bytes_total), in
// the context's registry, or in one of its own when the context has none
// (unit tests). The source's other metrics go in registry() with labels().
class SourceMetrics {
 public:
  SourceMetrics(MetricsRegistry* registry, const std::string& source);
  MetricsRegistry& registry() { return *registry_; }
  const Labels& labels() const { return labels_; }
  Counter& records() { return *records_; }
  Counter& bytes() { return *bytes_; }

 private:
  std::unique_ptr<MetricsRegistry> own_;
  MetricsRegistry* registry_;
  Labels labels_;
  Counter* records_;
  Counter* bytes_;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual const std::string& name() const = 0;
  // Returns on stop (after a final commit) or on an unrecoverable error.
  virtual Status Run(std::stop_token stop) = 0;
};

}  // namespace sluice
