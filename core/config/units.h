// Human-readable sizes ("512MiB", "1GB", "4096") and durations ("30s", "1h30m",
// "250ms") as they appear in configuration and on the command line.
//
// Sizes: a non-negative integer or decimal with an optional unit. B, KB/MB/GB/TB
// are powers of 1000; KiB/MiB/GiB/TiB (and K/M/G/T) are powers of 1024.
// Durations: one or more <number><unit> groups, unit in ms, s, m, h, d.
// Both parsers reject anything else, including overflow, with a message that
// says what was expected.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

Result<uint64_t> ParseSize(std::string_view text);
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The shortest exact rendering: 1048576 -> "1MiB", 1500 -> "1500B".
std::string FormatSize(uint64_t bytes);
// 90000ms -> "1m30s", 250ms -> "250ms".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace sluice
