// The times `sluice agent replay --since/--until` take: RFC 3339 with any
// offset and fraction, a date alone, or a duration back from now.
#include <catch2/catch.hpp>

#include "agent/replay.h"

namespace sluice {

TEST_CASE("replay time: RFC 3339, dates and durations back from now", "[agent][replay]") {
  constexpr int64_t kNow = 1'795'258'800'000;  // 2026-11-21T11:00:00Z
  CHECK(ParseReplayTime("2026-11-21T11:00:00Z", kNow).value() == kNow);
  CHECK(ParseReplayTime("2026-11-21T12:00:00+01:00", kNow).value() == kNow);
  CHECK(ParseReplayTime("2026-11-21T05:30:00-05:30", kNow).value() == kNow);
  CHECK(ParseReplayTime("2026-11-21T11:00:00.250Z", kNow).value() == kNow + 250);
  CHECK(ParseReplayTime("2026-11-21", kNow).value() == kNow - 11 * 3'600'000);
  CHECK(ParseReplayTime("90m", kNow).value() == kNow - 90 * 60'000);
  CHECK(ParseReplayTime("7d", kNow).value() == kNow - 7 * 86'400'000LL);
  for (const char* bad : {"yesterday", "2026-11-21T11:00:00", "2026-13-01", "2026-11-21T25:00:00Z", "", "-1h"}) {
    INFO(bad);
    const Result<int64_t> r = ParseReplayTime(bad, kNow);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("RFC 3339") != std::string::npos);
  }
}

}  // namespace sluice
