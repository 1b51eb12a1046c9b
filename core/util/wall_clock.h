// Wall-clock time as records and the buffer store it: milliseconds since the
// Unix epoch (UTC). For intervals use std::chrono::steady_clock instead.
#pragma once

#include <chrono>
#include <cstdint>

namespace sluice {

inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sluice
