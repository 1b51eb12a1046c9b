// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential
// Backoff And Jitter"): the n-th delay is uniform in [0, min(cap, base * 2^n)].
// Not thread-safe; one Backoff per retry loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace sluice {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, uint64_t seed = std::random_device{}());

  // The next delay; grows the ceiling until it reaches cap.
  std::chrono::milliseconds Next();
  void Reset() { attempt_ = 0; }
  uint32_t attempts() const { return attempt_; }
  // The ceiling the next delay is drawn under.
  std::chrono::milliseconds Ceiling() const;

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  uint32_t attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace sluice
