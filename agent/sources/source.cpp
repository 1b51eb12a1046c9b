#include "agent/sources/source.h"

namespace sluice {

SourceMetrics::SourceMetrics(MetricsRegistry* registry, const std::string& source)
    : own_(registry == nullptr ? std::make_unique<MetricsRegistry>() : nullptr),
      registry_(registry == nullptr ? own_.get() : registry),
      labels_{{"source", source}},
      records_(&registry_->GetCounter("sluice_source_records_total", "Records read by a source", labels_)),
      bytes_(&registry_->GetCounter("sluice_source_bytes_total", "Raw bytes read by a source", labels_)) {}

}  // namespace sluice
