// --bwlimit: one token bucket shared by every worker of a transfer, so the
// limit applies to the job as a whole (as rclone's and rsync's do). Burst is
// a quarter second of the rate, so a 1 MiB read at a 100 KiB/s limit waits
// for its tokens instead of passing in one lump. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace sluice::transfer {

class RateLimiter {
 public:
  // bytes_per_second 0: unlimited (Acquire returns at once).
  explicit RateLimiter(uint64_t bytes_per_second);
  // Blocks until `bytes` may pass.
  void Acquire(uint64_t bytes);

 private:
  using Clock = std::chrono::steady_clock;
  const uint64_t rate_;
  const double burst_;
  std::mutex mu_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace sluice::transfer
