// throttle: at most `rate` records per second per key (a token bucket of
// `burst` records, default one second's worth), counting what it drops.
// The key is a field's value (`key`, e.g. "topic" or "fields.device"),
// default the record's file path or MQTT topic. Time is the records' own
// arrival time (ts), so a backlog read after a restart is throttled as it
// arrived, not as fast as it is read. Buckets are shared by every source the
// transform takes; at most `max_keys` keys are tracked (idle ones are
// forgotten first).
#pragma once

#include <cstdint>
#include <optional>

#include "agent/transforms/json_doc.h"
#include "agent/transforms/transform.h"
#include "core/config/reader.h"

namespace sluice {

struct ThrottleConfig {
  double rate = 100;
  double burst = 0;  // 0: rate
  std::optional<JsonPath> key;
  uint64_t max_keys = 100'000;
};

ThrottleConfig ParseThrottleConfig(TableReader& r);
TransformBuilder MakeThrottleTransform(ThrottleConfig config);

}  // namespace sluice
