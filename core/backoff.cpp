#include "core/backoff.h"

#include <algorithm>
#include <limits>

namespace sluice {

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, uint64_t seed)
    : base_(std::max(base, std::chrono::milliseconds(0))),
      cap_(std::max(cap, std::chrono::milliseconds(0))),
      rng_(seed) {}

std::chrono::milliseconds Backoff::Ceiling() const {
  const int64_t base = base_.count();
  const int64_t cap = cap_.count();
  if (base == 0) return std::chrono::milliseconds(0);
  // base * 2^attempt without overflow: stop doubling once the cap is reached.
  int64_t c = base;
  for (uint32_t i = 0; i < attempt_ && c < cap; ++i) {
    c = c > std::numeric_limits<int64_t>::max() / 2 ? std::numeric_limits<int64_t>::max() : c * 2;
  }
  return std::chrono::milliseconds(std::min(c, cap));
}

std::chrono::milliseconds Backoff::Next() {
  const int64_t ceiling = Ceiling().count();
  if (attempt_ < std::numeric_limits<uint32_t>::max()) ++attempt_;
  std::uniform_int_distribution<int64_t> dist(0, ceiling);
  return std::chrono::milliseconds(dist(rng_));
}

}  // namespace sluice
