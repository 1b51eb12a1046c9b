#include "core/backoff.h"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

namespace sluice {

TEST_CASE("backoff: the ceiling doubles from base up to cap", "[unit]") {
  Backoff b(100ms, 1000ms, 1);
  CHECK(b.attempts() == 0);
  const std::vector<std::chrono::milliseconds> expected{100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms, 1000ms};
  for (auto want : expected) {
    CHECK(b.Ceiling() == want);
    const auto d = b.Next();
    CHECK(d >= 0ms);
    CHECK(d <= want);
  }
  CHECK(b.attempts() == expected.size());
  b.Reset();
  CHECK(b.attempts() == 0);
  CHECK(b.Ceiling() == 100ms);
}

TEST_CASE("backoff: every delay stays within [0, ceiling] over many draws", "[unit]") {
  Backoff b(10ms, 30'000ms, 42);
  for (int i = 0; i < 100'000; ++i) {
    const auto ceiling = b.Ceiling();
    const auto d = b.Next();
    REQUIRE(d >= 0ms);
    REQUIRE(d <= ceiling);
    REQUIRE(ceiling <= 30'000ms);
  }
  // Many attempts later the ceiling is still exactly the cap: no overflow.
  CHECK(b.Ceiling() == 30'000ms);
}

TEST_CASE("backoff: full jitter averages half the ceiling and uses its whole range", "[unit]") {
  Backoff b(1000ms, 1000ms, 12345);
  const int n = 20'000;
  double sum = 0;
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < n; ++i) {
    const int64_t d = b.Next().count();
    sum += static_cast<double>(d);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  const double mean = sum / n;
  // Uniform on [0, 1000]: mean 500, standard error ~2; the margin is huge.
  CHECK(mean > 450);
  CHECK(mean < 550);
  CHECK(lo < 50);
  CHECK(hi > 950);
}

TEST_CASE("backoff: the same seed gives the same delays", "[unit]") {
  Backoff a(50ms, 5000ms, 7), b(50ms, 5000ms, 7), c(50ms, 5000ms, 8);
  bool differs = false;
  for (int i = 0; i < 20; ++i) {
    const auto da = a.Next();
    CHECK(da == b.Next());
    differs = differs || da != c.Next();
  }
  CHECK(differs);
}

TEST_CASE("backoff: degenerate settings do not misbehave", "[unit]") {
  Backoff zero(0ms, 1000ms, 1);
  for (int i = 0; i < 10; ++i) CHECK(zero.Next() == 0ms);
  Backoff cap_below_base(500ms, 100ms, 1);
  CHECK(cap_below_base.Ceiling() == 100ms);
  for (int i = 0; i < 100; ++i) CHECK(cap_below_base.Next() <= 100ms);
  Backoff negative(-5ms, -5ms, 1);
  CHECK(negative.Next() == 0ms);
  Backoff huge(std::chrono::milliseconds(INT64_MAX / 2 + 1), std::chrono::milliseconds(INT64_MAX), 1);
  for (int i = 0; i < 5; ++i) CHECK(huge.Next() >= 0ms);
  CHECK(huge.Ceiling() == std::chrono::milliseconds(INT64_MAX));
}

}  // namespace sluice
