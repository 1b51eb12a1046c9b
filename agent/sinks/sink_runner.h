// The delivery loop every sink shares: wait until the sink's batching policy
// says "now" (enough bytes, or the oldest pending batch old enough), call
// Sink::Deliver, and advance the cursor only on success. Failures retry the
// same batches with exponential backoff and full jitter; the buffer keeps them
// meanwhile, so a sink that is down costs disk, not memory. When the sink
// reports a Retry-After hint (Sink::retry_after), the wait is the longer of
// the jittered backoff and the hint, the hint capped at kMaxRetryAfter so a
// destination cannot park a sink for hours; every wait ends at `abort`.
//
// Shutdown has two phases: `drain` delivers everything pending regardless of
// max_age and returns when nothing is left; `abort` returns as soon as
// possible (what is pending stays in the buffer for the next start).
#pragma once

#include <chrono>
#include <stop_token>

#include "agent/buffer/buffer.h"
#include "agent/sinks/sink.h"
#include "core/log/log.h"
#include "core/metrics/metrics.h"

namespace sluice {

struct RetryPolicy {
  std::chrono::milliseconds initial{200};
  std::chrono::milliseconds max{30'000};
};

// The longest a destination's Retry-After can hold a sink back.
inline constexpr std::chrono::milliseconds kMaxRetryAfter{10 * 60 * 1000};

class SinkRunner {
 public:
  SinkRunner(Sink& sink, Buffer& buffer, MetricsRegistry& metrics, Logger log, RetryPolicy retry);

  // Runs until `abort` is requested, or `drain` is requested and nothing is pending.
  void Run(std::stop_token drain, std::stop_token abort);

 private:
  // Sleeps up to `d`; returns false if `abort` was requested.
  static bool SleepFor(std::chrono::milliseconds d, std::stop_token abort);

  Sink& sink_;
  Buffer& buffer_;
  Logger log_;
  RetryPolicy retry_;
  Counter& batches_out_;
  Counter& records_out_;
  Counter& bytes_out_;
  Counter& retries_;
  Counter& errors_;
  Counter& skipped_corrupt_;
};

}  // namespace sluice
