// gaps: expects a record at least every `expect_every` per key (the record's
// MQTT topic or file path by default, or a field's value with `key`; only
// topics matching `topics` when it is set). When a key has been silent that
// long, a timer writes a gap_started event to _events and counts it
// (sluice_transform_gaps_total, _gaps_open); when its data resumes, a
// gap_ended event gives the gap's duration, committed with the record that
// ended it. Records pass through unchanged.
//
// The clock is the agent's: a record's ts is its arrival. Keys are learned
// from records, so a key silent since before the agent started is noticed
// only once it has sent something (a restart forgets the last-seen times).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/transforms/json_doc.h"
#include "agent/transforms/transform.h"
#include "core/config/reader.h"

namespace sluice {

struct GapsConfig {
  std::chrono::milliseconds expect_every{10'000};
  std::optional<JsonPath> key;
  std::vector<std::string> topics;
  uint64_t max_keys = 100'000;
};

GapsConfig ParseGapsConfig(TableReader& r);
TransformBuilder MakeGapsTransform(GapsConfig config);

}  // namespace sluice
