#include "protocols/http/retry_after.h"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using sluice::http::ParseRetryAfter;

namespace {

// 2026-11-21T10:00:00Z
const std::chrono::system_clock::time_point kRetryAfterNow = std::chrono::system_clock::from_time_t(1795255200);

}  // namespace

TEST_CASE("retry-after: delta-seconds", "[unit][http]") {
  CHECK(ParseRetryAfter("0", kRetryAfterNow) == 0ms);
  CHECK(ParseRetryAfter("120", kRetryAfterNow) == 120s);
  CHECK(ParseRetryAfter(" 7 ", kRetryAfterNow) == 7s);
  CHECK(ParseRetryAfter("99999999999", kRetryAfterNow) == std::chrono::hours(24));
}

TEST_CASE("retry-after: the three HTTP-date formats, a date in the past is no wait", "[unit][http]") {
  CHECK(ParseRetryAfter("Sat, 21 Nov 2026 10:00:30 GMT", kRetryAfterNow) == 30s);
  CHECK(ParseRetryAfter("Saturday, 21-Nov-26 10:01:00 GMT", kRetryAfterNow) == 60s);
  CHECK(ParseRetryAfter("Sat Nov 21 10:00:05 2026", kRetryAfterNow) == 5s);
  CHECK(ParseRetryAfter("Fri, 20 Nov 2026 10:00:00 GMT", kRetryAfterNow) == 0ms);
}

TEST_CASE("retry-after: anything else is no hint", "[unit][http]") {
  CHECK_FALSE(ParseRetryAfter("", kRetryAfterNow).has_value());
  CHECK_FALSE(ParseRetryAfter("-5", kRetryAfterNow).has_value());
  CHECK_FALSE(ParseRetryAfter("1.5", kRetryAfterNow).has_value());
  CHECK_FALSE(ParseRetryAfter("soon", kRetryAfterNow).has_value());
}
