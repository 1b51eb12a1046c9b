// `sluice agent replay`: sends the batches the buffer still holds (kept for
// `retain` after delivery, or not yet delivered) whose first record's time
// falls in a window to one sink again, from a process of its own. The first
// record's time is what the lake and S3 partition a batch by, so replaying
// an hour rebuilds that hour's partition and writes into no other.
//
// It builds its own instance of the sink from the configuration and reads the
// buffer read-only (buffer_reader.h), so it works while the agent runs or is
// stopped and never moves a cursor: the live sink's delivery is unaffected.
// The window goes out one hour at a time, each hour in one delivery. The lake
// sink (built with SinkContext::replay) starts a file wherever one already
// starts, so replaying a whole hour rewrites that partition's remaining files
// with the same batches and recreates the deleted ones: no record twice.
// Streams (Kafka, Kinesis, Firehose, HTTP, MQTT) receive the window's
// records again; that is what a replay to them is for.
// A batch the agent deletes meanwhile (its retention ran out) is skipped and
// counted; a failed delivery is retried with the sink's backoff until it
// succeeds or the replay is stopped.
#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>

#include "agent/agent_config.h"
#include "core/log/log.h"
#include "core/status.h"

namespace sluice {

struct ReplayWindow {
  std::string sink;
  int64_t since_ms = 0;
  int64_t until_ms = INT64_MAX;
};

struct ReplayProgress {
  int64_t batches_total = 0;  // in the window when the replay started
  int64_t records_total = 0;
  int64_t batches_done = 0;
  int64_t records_done = 0;
  uint64_t bytes_done = 0;  // stored (compressed) bytes
  int64_t skipped = 0;      // batches deleted by the agent before they were sent
  int64_t retries = 0;
};

// Runs the replay to completion; `progress` is called after every delivery.
// kInvalidArgument for an unknown sink; kCancelled when `stop` was requested.
Status RunReplay(const AgentConfig& config, const ReplayWindow& window, Logger log, std::stop_token stop,
                 const std::function<void(const ReplayProgress&)>& progress);

// A replay time: RFC 3339 ("2026-11-22T10:00:00Z", "...+01:00", fractions
// allowed; a date alone is its midnight UTC) or a duration back from `now_ms`
// ("90m", "24h", "7d"). The error says which forms are accepted.
Result<int64_t> ParseReplayTime(std::string_view text, int64_t now_ms);

}  // namespace sluice
