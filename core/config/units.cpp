#include "core/config/units.h"

#include <array>
#include <cctype>
#include <cmath>
#include <limits>

namespace sluice {
namespace {

struct Unit {
  std::string_view name;
  uint64_t factor;
};

constexpr uint64_t kKi = 1024;
constexpr std::array<Unit, 13> kSizeUnits{{
    {"", 1},
    {"B", 1},
    {"K", kKi},
    {"KiB", kKi},
    {"KB", 1000},
    {"M", kKi * kKi},
    {"MiB", kKi * kKi},
    {"MB", 1000 * 1000},
    {"G", kKi * kKi * kKi},
    {"GiB", kKi * kKi * kKi},
    {"GB", 1000ULL * 1000 * 1000},
    {"TiB", kKi * kKi * kKi * kKi},
    {"TB", 1000ULL * 1000 * 1000 * 1000},
}};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text) {
  const std::string_view s = Trim(text);
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("expected a size such as \"512MiB\", \"10MB\" or \"4096\", got \"" +
                                   std::string(text) + "\" (" + std::string(why) + ")");
  };
  size_t i = 0;
  uint64_t whole = 0;
  bool digits = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    const uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (whole > (std::numeric_limits<uint64_t>::max() - d) / 10) return bad("too large");
    whole = whole * 10 + d;
    digits = true;
    ++i;
  }
  double fraction = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    double scale = 0.1;
    bool frac_digits = false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      fraction += scale * (s[i] - '0');
      scale /= 10;
      frac_digits = true;
      ++i;
    }
    if (!frac_digits) return bad("a digit must follow the decimal point");
  }
  if (!digits) return bad("it must start with a number");
  std::string_view unit = Trim(s.substr(i));
  for (const Unit& u : kSizeUnits) {
    if (unit != u.name) continue;
    if (u.factor == 1 && fraction != 0) return bad("a number of bytes must be whole");
    if (whole > std::numeric_limits<uint64_t>::max() / u.factor) return bad("too large");
    const uint64_t frac_bytes = static_cast<uint64_t>(std::llround(fraction * static_cast<double>(u.factor)));
    // The rounded fraction can reach a whole unit, so the sum can still overflow.
    if (frac_bytes > std::numeric_limits<uint64_t>::max() - whole * u.factor) return bad("too large");
    return whole * u.factor + frac_bytes;
  }
  return bad("unknown unit \"" + std::string(unit) + "\"; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB");
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const std::string_view s = Trim(text);
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("expected a duration such as \"30s\", \"250ms\" or \"1h30m\", got \"" +
                                   std::string(text) + "\" (" + std::string(why) + ")");
  };
  if (s.empty()) return bad("it is empty");
  uint64_t total_ms = 0;
  size_t i = 0;
  while (i < s.size()) {
    uint64_t n = 0;
    bool digits = false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      const uint64_t d = static_cast<uint64_t>(s[i] - '0');
      if (n > (std::numeric_limits<uint64_t>::max() - d) / 10) return bad("too large");
      n = n * 10 + d;
      digits = true;
      ++i;
    }
    if (!digits) return bad("each part must be a whole number followed by a unit");
    if (i < s.size() && s[i] == '.') return bad("fractions are not supported; use a smaller unit, e.g. 1500ms");
    // "1h 30m" and "5 s" read as written; the unit is still required.
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
    const std::string_view unit = s.substr(i, j - i);
    uint64_t factor = 0;
    if (unit == "ms") factor = 1;
    else if (unit == "s") factor = 1000;
    else if (unit == "m") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else if (unit == "d") factor = 86'400'000;
    else if (unit.empty()) return bad("a unit is required: ms, s, m, h or d");
    else return bad("unknown unit \"" + std::string(unit) + "\"; use ms, s, m, h or d");
    if (n > std::numeric_limits<int64_t>::max() / factor / 2) return bad("too large");
    total_ms += n * factor;
    if (total_ms > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 2)) return bad("too large");
    i = j;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

std::string FormatSize(uint64_t bytes) {
  static constexpr std::array<std::string_view, 5> kNames{"B", "KiB", "MiB", "GiB", "TiB"};
  size_t u = 0;
  uint64_t v = bytes;
  while (u + 1 < kNames.size() && v != 0 && v % 1024 == 0) {
    v /= 1024;
    ++u;
  }
  return std::to_string(v) + std::string(kNames[u]);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  if (d.count() == 0) return "0s";
  std::string out;
  // The magnitude as unsigned, so that even the most negative value prints.
  uint64_t ms = static_cast<uint64_t>(d.count());
  if (d.count() < 0) {
    out = "-";
    ms = 0 - ms;
  }
  const auto take = [&](uint64_t unit, std::string_view name) {
    if (ms >= unit) {
      out += std::to_string(ms / unit);
      out += name;
      ms %= unit;
    }
  };
  take(86'400'000, "d");
  take(3'600'000, "h");
  take(60'000, "m");
  take(1000, "s");
  take(1, "ms");
  return out;
}

}  // namespace sluice
