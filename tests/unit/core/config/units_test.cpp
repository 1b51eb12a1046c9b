#include "core/config/units.h"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

namespace sluice {
namespace {

std::string SizeError(std::string_view text) {
  Result<uint64_t> r = ParseSize(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kInvalidArgument);
  return r.status().message();
}

std::string DurationError(std::string_view text) {
  Result<std::chrono::milliseconds> r = ParseDuration(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == ErrorCode::kInvalidArgument);
  return r.status().message();
}

}  // namespace

TEST_CASE("units: sizes with and without units", "[unit]") {
  CHECK(ParseSize("512MiB").value() == 512ULL * 1024 * 1024);
  CHECK(ParseSize("1.5GiB").value() == 1536ULL * 1024 * 1024);
  CHECK(ParseSize("10MB").value() == 10'000'000);
  CHECK(ParseSize("4096").value() == 4096);
  CHECK(ParseSize("0").value() == 0);
  CHECK(ParseSize("7B").value() == 7);
  CHECK(ParseSize("1K").value() == 1024);
  CHECK(ParseSize("1KiB").value() == 1024);
  CHECK(ParseSize("1KB").value() == 1000);
  CHECK(ParseSize("2M").value() == 2 * 1024 * 1024);
  CHECK(ParseSize("3G").value() == 3ULL << 30);
  CHECK(ParseSize("3GB").value() == 3'000'000'000ULL);
  CHECK(ParseSize("2TiB").value() == 2ULL << 40);
  CHECK(ParseSize("2TB").value() == 2'000'000'000'000ULL);
  CHECK(ParseSize("1.5KB").value() == 1500);
  CHECK(ParseSize(" 512 MiB ").value() == 512ULL << 20);
  CHECK(ParseSize("18446744073709551615").value() == UINT64_MAX);
  CHECK(ParseSize("16777215TiB").value() == 16777215ULL << 40);
}

TEST_CASE("units: bad sizes say what was expected", "[unit]") {
  const std::string prefix = R"(expected a size such as "512MiB", "10MB" or "4096", got )";
  CHECK(SizeError("") == prefix + R"("" (it must start with a number))");
  CHECK(SizeError("abc") == prefix + R"("abc" (it must start with a number))");
  CHECK(SizeError("-1") == prefix + R"("-1" (it must start with a number))");
  CHECK(SizeError("5XB") ==
        prefix + R"("5XB" (unknown unit "XB"; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB))");
  CHECK(SizeError("10mb") ==
        prefix + R"("10mb" (unknown unit "mb"; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB))");
  CHECK(SizeError("1.MiB") == prefix + R"("1.MiB" (a digit must follow the decimal point))");
  CHECK(SizeError("1.5") == prefix + R"("1.5" (a number of bytes must be whole))");
  CHECK(SizeError("1.5B") == prefix + R"("1.5B" (a number of bytes must be whole))");
  CHECK(SizeError("18446744073709551616") == prefix + R"("18446744073709551616" (too large))");
  CHECK(SizeError("16777216TiB") == prefix + R"("16777216TiB" (too large))");
  CHECK(SizeError("99999999999999999999999") == prefix + R"("99999999999999999999999" (too large))");
  // The fraction rounds up to a whole unit on top of the largest whole value.
  CHECK(SizeError("18014398509481983.9999999999KiB") ==
        prefix + R"("18014398509481983.9999999999KiB" (too large))");
}

TEST_CASE("units: durations", "[unit]") {
  CHECK(ParseDuration("30s").value() == 30s);
  CHECK(ParseDuration("1h30m").value() == 90min);
  CHECK(ParseDuration("250ms").value() == 250ms);
  CHECK(ParseDuration("2d").value() == 48h);
  CHECK(ParseDuration("0s").value() == 0ms);
  CHECK(ParseDuration("1m1s1ms").value() == 61001ms);
  CHECK(ParseDuration(" 1h 30m ").value() == 90min);
  CHECK(ParseDuration("5 s").value() == 5s);
}

TEST_CASE("units: bad durations say what was expected", "[unit]") {
  const std::string prefix = R"(expected a duration such as "30s", "250ms" or "1h30m", got )";
  CHECK(DurationError("") == prefix + R"("" (it is empty))");
  CHECK(DurationError("30") == prefix + R"("30" (a unit is required: ms, s, m, h or d))");
  CHECK(DurationError("5 parsecs") == prefix + R"("5 parsecs" (unknown unit "parsecs"; use ms, s, m, h or d))");
  CHECK(DurationError("s") == prefix + R"("s" (each part must be a whole number followed by a unit))");
  CHECK(DurationError("-5s") == prefix + R"("-5s" (each part must be a whole number followed by a unit))");
  CHECK(DurationError("1h30") == prefix + R"("1h30" (a unit is required: ms, s, m, h or d))");
  CHECK(DurationError("1.5s") == prefix + R"("1.5s" (fractions are not supported; use a smaller unit, e.g. 1500ms))");
  CHECK(DurationError("99999999999999999999999s") == prefix + R"("99999999999999999999999s" (too large))");
  CHECK(DurationError("200000000000d") == prefix + R"("200000000000d" (too large))");
  CHECK(DurationError("53375995583d53375995583d") ==
        prefix + R"("53375995583d53375995583d" (too large))");
}

TEST_CASE("units: FormatSize is the shortest exact form and round-trips", "[unit]") {
  CHECK(FormatSize(0) == "0B");
  CHECK(FormatSize(1500) == "1500B");
  CHECK(FormatSize(1024) == "1KiB");
  CHECK(FormatSize(1536) == "1536B");
  CHECK(FormatSize(1048576) == "1MiB");
  CHECK(FormatSize(3ULL << 30) == "3GiB");
  CHECK(FormatSize(5ULL << 40) == "5TiB");
  CHECK(FormatSize(1ULL << 50) == "1024TiB");
  for (uint64_t v : std::vector<uint64_t>{0, 1, 1000, 1023, 1024, 1536, 10'000'000, 512ULL << 20, 3ULL << 30,
                                         (1ULL << 40) + 1024, 1ULL << 50, UINT64_MAX}) {
    INFO(v);
    CHECK(ParseSize(FormatSize(v)).value() == v);
  }
}

TEST_CASE("units: FormatDuration and round trips", "[unit]") {
  CHECK(FormatDuration(90000ms) == "1m30s");
  CHECK(FormatDuration(250ms) == "250ms");
  CHECK(FormatDuration(0ms) == "0s");
  CHECK(FormatDuration(86'400'001ms) == "1d1ms");
  CHECK(FormatDuration(5400s) == "1h30m");
  CHECK(FormatDuration(-1500ms) == "-1s500ms");
  for (int64_t ms : std::vector<int64_t>{0LL, 1LL, 999LL, 1000LL, 61001LL, 3'600'000LL, 90'061'001LL, 86'400'000LL * 365}) {
    INFO(ms);
    CHECK(ParseDuration(FormatDuration(std::chrono::milliseconds(ms))).value().count() == ms);
  }
}

}  // namespace sluice
