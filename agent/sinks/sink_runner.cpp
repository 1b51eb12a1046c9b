#include "agent/sinks/sink_runner.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "core/backoff.h"
#include "core/util/wall_clock.h"

namespace sluice {
namespace {

// Enough batches per delivery that per-call overhead vanishes; the byte limit
// of the policy is what normally ends a group.
constexpr size_t kMaxBatchesPerDelivery = 4096;

}  // namespace

SinkRunner::SinkRunner(Sink& sink, Buffer& buffer, MetricsRegistry& metrics, Logger log, RetryPolicy retry)
    : sink_(sink),
      buffer_(buffer),
      log_(std::move(log)),
      retry_(retry),
      batches_out_(metrics.GetCounter("sluice_sink_batches_total", "Batches delivered", {{"sink", sink.name()}})),
      records_out_(metrics.GetCounter("sluice_sink_records_total", "Records delivered", {{"sink", sink.name()}})),
      bytes_out_(metrics.GetCounter("sluice_sink_bytes_total", "Uncompressed record bytes delivered",
                                    {{"sink", sink.name()}})),
      retries_(metrics.GetCounter("sluice_sink_retries_total", "Delivery attempts that will be retried",
                                  {{"sink", sink.name()}})),
      errors_(metrics.GetCounter("sluice_sink_errors_total", "Failed delivery attempts", {{"sink", sink.name()}})),
      skipped_corrupt_(metrics.GetCounter("sluice_sink_corrupt_batches_skipped_total",
                                          "Batches skipped because their stored data was corrupt",
                                          {{"sink", sink.name()}})) {}

bool SinkRunner::SleepFor(std::chrono::milliseconds d, std::stop_token abort) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait_for(lock, abort, d, [] { return false; });
  return !abort.stop_requested();
}

void SinkRunner::Run(std::stop_token drain, std::stop_token abort) {
  const BatchPolicy policy = sink_.policy();
  Backoff backoff(retry_.initial, retry_.max);
  bool failing = false;
  int64_t corrupt_seq = 0;  // a batch that failed to load as corrupt: deliver up to it, then skip it
  while (!abort.stop_requested()) {
    const int64_t mark = buffer_.last_seq();
    Result<std::vector<BatchInfo>> pending =
        buffer_.ListPending(sink_.name(), kMaxBatchesPerDelivery, policy.max_bytes);
    if (!pending.ok()) {
      errors_.Inc();
      log_->error("cannot read pending batches: {}", pending.status().message());
      if (!SleepFor(backoff.Next(), abort)) return;
      continue;
    }
    std::vector<BatchInfo>& batches = pending.value();
    if (corrupt_seq != 0) {
      if (!batches.empty() && batches.front().seq == corrupt_seq) {
        log_->error("skipping batch seq {}: its stored data is corrupt", corrupt_seq);
        skipped_corrupt_.Inc();
        if (Status a = buffer_.Ack(sink_.name(), corrupt_seq); !a.ok()) {
          log_->error("cannot step over the corrupt batch: {}", a.message());
          if (!SleepFor(backoff.Next(), abort)) return;
        } else {
          corrupt_seq = 0;
        }
        continue;
      }
      std::erase_if(batches, [&](const BatchInfo& b) { return b.seq >= corrupt_seq; });
      if (batches.empty()) corrupt_seq = 0;
    }
    if (batches.empty()) {
      if (drain.stop_requested()) return;
      buffer_.WaitForData(mark, std::chrono::seconds(1), abort);
      continue;
    }

    // Deliver now if the group is full, the oldest batch is old enough, or we are draining.
    uint64_t bytes = 0;
    for (const auto& b : batches) bytes += b.stored_bytes;
    const bool full = bytes + batches.back().stored_bytes > policy.max_bytes ||
                      batches.size() == kMaxBatchesPerDelivery || corrupt_seq != 0;
    const int64_t age = WallClockMs() - batches.front().created_ms;
    if (!full && age < policy.max_age.count() && !drain.stop_requested()) {
      // Wake when more data may complete the group, or at the age deadline.
      const auto wait = std::chrono::milliseconds(std::min<int64_t>(policy.max_age.count() - age, 1000));
      buffer_.WaitForData(mark, wait, abort);
      continue;
    }

    // Corrupt batches are skipped (logged and counted): they can never be
    // delivered, and holding the cursor on them would stop the sink forever.
    std::vector<int64_t> corrupt;
    bool batch_gone = false;
    const BatchLoader load = [&](const BatchInfo& info) -> Result<std::string> {
      Result<std::string> data = buffer_.LoadBatch(info.seq);
      if (!data.ok() && data.status().code() == ErrorCode::kCorrupt) corrupt.push_back(info.seq);
      if (!data.ok() && data.status().code() == ErrorCode::kNotFound) batch_gone = true;
      return data;
    };
    const Status s = sink_.Deliver(batches, load);
    if (s.ok()) {
      if (Status a = buffer_.Ack(sink_.name(), batches.back().seq); !a.ok()) {
        errors_.Inc();
        log_->error("delivered {} batches but could not advance the cursor: {}", batches.size(), a.message());
        if (!SleepFor(backoff.Next(), abort)) return;
        continue;
      }
      uint64_t records = 0, raw = 0;
      for (const auto& b : batches) {
        records += b.records;
        raw += b.raw_bytes;
      }
      batches_out_.Inc(batches.size());
      records_out_.Inc(records);
      bytes_out_.Inc(raw);
      if (failing) log_->info("delivering again after {} failed attempts", backoff.attempts());
      failing = false;
      backoff.Reset();
      continue;
    }
    if (!corrupt.empty()) {
      corrupt_seq = corrupt.front();
      continue;
    }
    // A batch dropped by drop_oldest meanwhile: list again. (A destination's
    // own "not found", a missing bucket or stream, is a failure like any other.)
    if (batch_gone) continue;
    errors_.Inc();
    retries_.Inc();
    const auto delay = std::max(backoff.Next(), std::min(sink_.retry_after(), kMaxRetryAfter));
    // One line per failure streak change keeps logs readable during long outages.
    if (!failing || backoff.attempts() % 10 == 0) {
      log_->warn("delivery of {} batches failed (attempt {}), retrying in {} ms: {}", batches.size(),
                 backoff.attempts(), delay.count(), s.message());
    }
    failing = true;
    if (!SleepFor(delay, abort)) return;
  }
}

}  // namespace sluice
