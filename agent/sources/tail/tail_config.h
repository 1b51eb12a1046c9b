// The options of a tail source ([sources.NAME] with type = "tail"), parsed and
// validated. Every option, its default and its one-line doc are read in
// ParseTailConfig, so `sluice agent check` prints them all.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config/reader.h"
#include "core/util/glob.h"

namespace sluice {

struct TailConfig {
  enum class StartAt { kBeginning, kEnd };

  std::vector<Glob> paths;    // files to tail
  std::vector<Glob> exclude;  // without '/': matched against the file name
  StartAt start_at = StartAt::kEnd;
  std::optional<std::string> multiline_start;  // a valid PCRE2 pattern
  std::chrono::milliseconds multiline_timeout{1000};
  uint64_t max_line = 1 << 20;
  std::chrono::milliseconds idle_flush{5000};
  std::chrono::milliseconds rotate_wait{5000};
  std::chrono::milliseconds scan_interval{1000};
  bool poll = false;
  uint64_t batch_bytes = 1 << 20;
  std::chrono::milliseconds commit_interval{1000};
  uint64_t read_buffer = 256 << 10;
  // 1 KiB, as Filebeat's fingerprint: several lines of a typical log, so
  // files that begin with the same banner or header are still told apart by
  // their first timestamps, and still a single small pread per check.
  uint64_t fingerprint_bytes = 1024;
};

// Reads every tail option from `r` (the [sources.NAME] table; the pipeline
// reads `type` itself and calls r.Finish() after). Throws ConfigError (via
// r.Fail) on a bad glob or regular expression.
TailConfig ParseTailConfig(TableReader& r);

}  // namespace sluice
