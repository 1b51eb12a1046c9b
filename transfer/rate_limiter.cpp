#include "transfer/rate_limiter.h"

#include <algorithm>
#include <thread>

namespace sluice::transfer {

RateLimiter::RateLimiter(uint64_t bytes_per_second)
    : rate_(bytes_per_second),
      burst_(std::max(65536.0, static_cast<double>(bytes_per_second) / 4)),
      tokens_(burst_),
      last_(Clock::now()) {}

void RateLimiter::Acquire(uint64_t bytes) {
  if (rate_ == 0) return;
  std::chrono::duration<double> wait{0};
  {
    std::lock_guard lock(mu_);
    const Clock::time_point now = Clock::now();
    tokens_ =
        std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * static_cast<double>(rate_));
    last_ = now;
    // Going into debt and sleeping it off keeps the long-run rate exact for
    // reads larger than the burst.
    tokens_ -= static_cast<double>(bytes);
    if (tokens_ < 0) wait = std::chrono::duration<double>(-tokens_ / static_cast<double>(rate_));
  }
  if (wait.count() > 0) std::this_thread::sleep_for(wait);
}

}  // namespace sluice::transfer
