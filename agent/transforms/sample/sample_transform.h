// sample: keeps 1 record in `rate`, counting the others
// (sluice_transform_records_in_total - _out_total). One count across every
// source the transform takes, so the ratio holds whatever the mix.
#pragma once

#include <cstdint>

#include "agent/transforms/transform.h"
#include "core/config/reader.h"

namespace sluice {

struct SampleConfig {
  uint64_t rate = 10;
};

SampleConfig ParseSampleConfig(TableReader& r);
TransformBuilder MakeSampleTransform(SampleConfig config);

}  // namespace sluice
