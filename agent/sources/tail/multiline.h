// Groups lines into multiline records (stack traces, pretty-printed JSON):
// a line that matches the `start` regex begins a record, any other line is
// appended to the record before it, joined with '\n'.
//
// Owns the pending record. Invariants:
//  - the pending record never exceeds max_bytes: when the next line would
//    push it over, the pending record is emitted first (counted in splits()
//    unless the cut falls where the line splitter already cut), so memory
//    stays bounded however long a group runs;
//  - a record's end_offset is the end of its last line, so a checkpoint taken
//    after an emitted record never covers the pending one;
//  - continuation pieces (the rest of a line that was cut at max_line or
//    flushed while idle) are appended without an invented '\n'.
// A pending record is emitted when the next start line arrives, on Flush(),
// or by FlushIfDue() once no line was added for `timeout`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "agent/sources/tail/line_splitter.h"
#include "core/util/pcre_regex.h"

namespace sluice {

struct TailRecord {
  std::string_view bytes;  // valid only during the callback
  uint64_t end_offset = 0;
  bool mid_line = false;   // end_offset falls inside a line (the record ended without '\n')
};

class MultilineAggregator {
 public:
  using Clock = std::chrono::steady_clock;
  using Emit = std::function<void(const TailRecord&)>;

  // `start` must outlive the aggregator.
  MultilineAggregator(PcreRegex& start, size_t max_bytes, std::chrono::milliseconds timeout);

  void Add(const LinePiece& piece, Clock::time_point now, const Emit& emit);
  void Flush(const Emit& emit);
  // Emits the pending record if no line was added to it for `timeout`.
  void FlushIfDue(Clock::time_point now, const Emit& emit);
  // Drops the pending record (the file was truncated and will be re-read).
  void Reset();

  bool pending() const { return has_pending_; }
  std::optional<Clock::time_point> deadline() const;
  uint64_t splits() const { return splits_; }

 private:
  void Start(const LinePiece& piece, Clock::time_point now);

  PcreRegex* start_;
  size_t max_bytes_;
  std::chrono::milliseconds timeout_;
  std::string record_;
  bool has_pending_ = false;
  uint64_t end_offset_ = 0;
  bool end_mid_line_ = false;
  Clock::time_point last_add_{};
  uint64_t splits_ = 0;
};

}  // namespace sluice
