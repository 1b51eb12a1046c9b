#include "agent/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <limits>
#include <thread>

#include "agent/buffer/buffer_reader.h"
#include "agent/record/json_record.h"
#include "core/backoff.h"
#include "core/config/units.h"

namespace sluice {

namespace {

// Sleeps up to `d`; false when `stop` was requested.
bool ReplaySleep(std::chrono::milliseconds d, std::stop_token stop) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
    if (stop.stop_requested()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(d, std::chrono::milliseconds(50)));
  }
  return !stop.stop_requested();
}

// Digits at s[i..i+n) as a number, or -1.
int Digits(std::string_view s, size_t i, size_t n) {
  if (i + n > s.size()) return -1;
  int v = 0;
  for (size_t k = i; k < i + n; ++k) {
    if (s[k] < '0' || s[k] > '9') return -1;
    v = v * 10 + (s[k] - '0');
  }
  return v;
}

// RFC 3339 (or a date alone, meaning its midnight UTC) to epoch ms.
std::optional<int64_t> ParseRfc3339(std::string_view s) {
  const int year = Digits(s, 0, 4), month = Digits(s, 5, 2), day = Digits(s, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || s[4] != '-' || s[7] != '-') return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  int64_t ms = 0;
  int64_t offset_s = 0;
  if (s.size() > 10) {
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
    const int hh = Digits(s, 11, 2), mm = Digits(s, 14, 2), ss = Digits(s, 17, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 || s[13] != ':' || s[16] != ':') {
      return std::nullopt;
    }
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    size_t i = 19;
    if (i < s.size() && s[i] == '.') {
      int64_t scale = 100;
      for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        ms += (s[i] - '0') * scale;
        scale /= 10;
      }
    }
    if (i >= s.size()) return std::nullopt;  // RFC 3339 requires the offset
    if (s[i] == 'Z' || s[i] == 'z') {
      if (i + 1 != s.size()) return std::nullopt;
    } else if (s[i] == '+' || s[i] == '-') {
      const int oh = Digits(s, i + 1, 2), om = Digits(s, i + 4, 2);
      if (oh < 0 || om < 0 || s.size() != i + 6 || s[i + 3] != ':') return std::nullopt;
      offset_s = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    } else {
      return std::nullopt;
    }
  }
  const int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_s;
  return secs * 1000 + ms;
}

}  // namespace

Result<int64_t> ParseReplayTime(std::string_view text, int64_t now_ms) {
  if (std::optional<int64_t> t = ParseRfc3339(text)) return *t;
  if (Result<std::chrono::milliseconds> d = ParseDuration(text); d.ok()) return now_ms - d.value().count();
  return Status::InvalidArgument("\"" + std::string(text) +
                                 "\" is not a time: use RFC 3339 (2026-11-22T10:00:00Z, 2026-11-22T11:00:00+01:00, "
                                 "2026-11-22) or a duration back from now (90m, 24h, 7d)");
}

Status RunReplay(const AgentConfig& config, const ReplayWindow& window, Logger log, std::stop_token stop,
                 const std::function<void(const ReplayProgress&)>& progress) {
  auto spec =
      std::find_if(config.sinks.begin(), config.sinks.end(), [&](const SinkSpec& s) { return s.name == window.sink; });
  if (spec == config.sinks.end()) {
    std::string names;
    for (const SinkSpec& s : config.sinks) names += (names.empty() ? "" : ", ") + s.name;
    return Status::InvalidArgument("no sink named '" + window.sink + "' in " + config.config_path.string() +
                                   " (its sinks: " + names + ")");
  }
  Result<BufferReader> reader = BufferReader::Open(config.buffer.dir);
  if (!reader.ok()) return reader.status();

  MetricsRegistry metrics;
  SinkContext ctx{ChildLogger(log, spec->type + " " + spec->name), &metrics, config.buffer.dir};
  ctx.replay = true;
  std::unique_ptr<Sink> sink = spec->build(ctx);

  ReplayProgress p;
  Result<BufferReader::WindowSize> size = reader->CountWindow(spec->inputs, window.since_ms, window.until_ms);
  if (!size.ok()) return size.status();
  p.batches_total = size->batches;
  p.records_total = size->records;
  log->info("replay to sink {}: {} batches ({} records, {} stored) with records from {} to {}", spec->name,
            p.batches_total, p.records_total, FormatSize(static_cast<uint64_t>(size->stored_bytes)),
            FormatTimestampMs(window.since_ms), FormatTimestampMs(window.until_ms));

  Backoff backoff(spec->retry.initial, spec->retry.max);
  // One delivery per hour of the window: an hour is one lake or S3
  // partition, delivered whole so its files are grouped as before.
  constexpr int64_t kHour = 3'600'000;
  for (int64_t hour = window.since_ms - (window.since_ms % kHour + kHour) % kHour; hour < window.until_ms;
       hour += kHour) {
    if (stop.stop_requested()) return Status::Cancelled("replay stopped");
    const int64_t lo = std::max(hour, window.since_ms);
    const int64_t hi = std::min(hour + kHour, window.until_ms);
    Result<std::vector<BatchInfo>> listed =
        reader->ListWindow(spec->inputs, lo, hi, 0, std::numeric_limits<int32_t>::max(), UINT64_MAX);
    if (!listed.ok()) return listed.status();
    std::vector<BatchInfo>& batches = listed.value();
    // A batch the agent deleted since it was counted (its retention ran
    // out) is skipped, not an error: checked first so the sink never sees a
    // batch it cannot read.
    std::erase_if(batches, [&](const BatchInfo& b) {
      const bool gone = reader->LoadBatch(b.seq).status().code() == ErrorCode::kNotFound;
      if (gone) {
        ++p.skipped;
        log->warn("replay: batch {} was deleted from the buffer meanwhile (retain ran out): skipped", b.id);
      }
      return gone;
    });
    if (batches.empty()) continue;
    const BatchLoader load = [&](const BatchInfo& b) { return reader->LoadBatch(b.seq); };
    for (;;) {
      Status s = sink->Deliver(batches, load);
      if (s.ok()) break;
      ++p.retries;
      log->warn("replay to sink {}: delivery of {} batches failed (retrying): {}", spec->name, batches.size(),
                s.message());
      if (s.code() == ErrorCode::kNotFound) {
        // Deleted between the check and the delivery: drop what is gone and send the rest again.
        std::erase_if(batches, [&](const BatchInfo& b) {
          const bool gone = reader->LoadBatch(b.seq).status().code() == ErrorCode::kNotFound;
          p.skipped += gone ? 1 : 0;
          return gone;
        });
        if (batches.empty()) break;
        continue;
      }
      if (!ReplaySleep(backoff.Next(), stop)) return Status::Cancelled("replay stopped");
    }
    backoff.Reset();
    for (const BatchInfo& b : batches) {
      ++p.batches_done;
      p.records_done += b.records;
      p.bytes_done += b.stored_bytes;
    }
    progress(p);
  }
  log->info("replay to sink {} done: {} batches, {} records sent again, {} skipped", spec->name, p.batches_done,
            p.records_done, p.skipped);
  return Status::Ok();
}

}  // namespace sluice
