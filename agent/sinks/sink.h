// A Sink writes batches to one destination. The SinkRunner owns the loop:
// it reads batches after the sink's cursor, groups them by the sink's batching
// policy, calls Deliver with retries and backoff, and advances the cursor only
// when Deliver succeeded. A Sink only has to make Deliver durable and
// idempotent: delivering the same batches again must not duplicate data where
// the destination allows (e.g. objects named after batch ids).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "agent/buffer/buffer.h"
#include "core/log/log.h"
#include "core/metrics/metrics.h"
#include "core/status.h"

namespace sluice {

using BatchLoader = std::function<Result<std::string>(const BatchInfo&)>;

// What a sink is built with besides its own configuration.
struct SinkContext {
  Logger log;
  MetricsRegistry* metrics = nullptr;  // the agent's registry (null in unit tests: the sink keeps its own)
  std::filesystem::path data_dir;      // the agent's data_dir, for what a sink keeps on disk (dead letters)
  // Built by `sluice agent replay` (replay.h): sinks that write files named
  // after batches keep the groups of files that already exist, so a replay
  // rewrites them instead of adding copies under other names.
  bool replay = false;
};

struct BatchPolicy {
  uint64_t max_bytes = 64ULL << 20;          // stored bytes delivered at once
  std::chrono::milliseconds max_age{60000};  // deliver when the oldest pending batch is this old
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual const std::string& name() const = 0;
  virtual BatchPolicy policy() const = 0;
  // Durably delivers `batches` (seq order, all from this sink's inputs),
  // loading each one's data with `load` when it needs it, so that memory
  // holds one batch at a time. Ok only when every record is stored at the
  // destination.
  virtual Status Deliver(std::span<const BatchInfo> batches, const BatchLoader& load) = 0;
  // After a failed Deliver, the least time the destination asked to wait
  // before the next attempt (an HTTP Retry-After); zero when it said nothing.
  // The runner waits the longer of this and its own backoff (capped: see
  // SinkRunner).
  virtual std::chrono::milliseconds retry_after() const { return {}; }
};

}  // namespace sluice
