// Reads one open file from an offset and turns its bytes into records.
//
// Owns the file's descriptor, its line splitter and (with multiline.start) its
// multiline aggregator. Invariants:
//  - record_offset() is the end of the last record emitted: everything before
//    it is in an emitted record, nothing after it is. A pending partial line
//    or multiline record is never covered, so a checkpoint taken at
//    record_offset() makes a restart re-read exactly the pending bytes.
//  - memory is bounded: at most max_line pending bytes in the splitter and at
//    most max_line in the multiline record.
//  - the fingerprint covers at least min(read offset, fingerprint_bytes)
//    bytes, so a checkpoint's offset is always vouched for by its fingerprint;
//  - reads use pread at the splitter's offset, so restarting at 0 after a
//    truncation needs no seek and cannot race with the writer's position.
// Not thread-safe; the tail source drives all its tailers from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "agent/sources/tail/file_identity.h"
#include "agent/sources/tail/line_splitter.h"
#include "agent/sources/tail/multiline.h"
#include "agent/sources/tail/unique_fd.h"
#include "core/status.h"
#include "core/util/pcre_regex.h"

namespace sluice {

struct TailerOptions {
  size_t max_line = 1 << 20;
  std::chrono::milliseconds idle_flush{5000};
  std::chrono::milliseconds multiline_timeout{1000};
  uint32_t fingerprint_bytes = 1024;
};

class FileTailer {
 public:
  using Clock = std::chrono::steady_clock;
  using Emit = std::function<void(const TailRecord&)>;

  // Starts reading `fd` at `offset` (`mid_line` when that is inside a line).
  // `fp` is the fingerprint already known (len 0: none); `multiline` may be
  // null and must outlive the tailer.
  FileTailer(UniqueFd fd, FileId id, uint64_t offset, bool mid_line, Fingerprint fp, const TailerOptions& options,
             PcreRegex* multiline, Clock::time_point now);

  struct ReadResult {
    uint64_t bytes = 0;      // bytes read from the file
    bool more = false;       // the budget ran out before end of file
    bool truncated = false;  // the file shrank below our offset; restarted at 0
  };
  // Reads up to `budget` bytes in chunks of buf.size(), emitting records.
  Result<ReadResult> Read(std::span<char> buf, uint64_t budget, Clock::time_point now, const Emit& emit);

  struct CheckResult {
    bool deleted = false;              // no link left (st_nlink == 0)
    bool truncated = false;            // shrank or rewritten in place; restarted at 0
    bool fingerprint_grew = false;     // fingerprint() now covers more bytes
  };
  // fstat + fingerprint check, done on every scan. Extends the fingerprint
  // while the file is shorter than fingerprint_bytes.
  Result<CheckResult> Check(const Emit& emit);

  // Where the file was when it was last found truncated (taken once): the
  // source looks for a copytruncate copy to read the rest from there.
  struct Truncation {
    uint64_t offset = 0;
    bool mid_line = false;
    Fingerprint fp;
  };
  std::optional<Truncation> TakeTruncation() { return std::exchange(truncation_, std::nullopt); }

  // Emits a partial line idle for idle_flush and a multiline record idle for
  // multiline_timeout.
  void OnTimers(Clock::time_point now, const Emit& emit);
  // Emits everything pending: the file is being closed for good.
  void FlushAll(const Emit& emit);
  // When OnTimers next has something to do.
  std::optional<Clock::time_point> NextDeadline() const;
  // True when the last read found end of file and nothing was read for `d`.
  bool IdleAtEof(Clock::time_point now, std::chrono::milliseconds d) const {
    return at_eof_ && now - last_growth_ >= d;
  }

  FileId id() const { return id_; }
  int fd() const { return fd_.get(); }
  uint64_t record_offset() const { return record_offset_; }
  bool record_mid_line() const { return record_mid_line_; }
  uint64_t read_offset() const { return splitter_.fed_offset(); }
  const Fingerprint& fingerprint() const { return fp_; }
  uint64_t size() const { return size_; }
  // Lines cut at max_line (by the splitter or the multiline aggregator).
  uint64_t splits() const { return splitter_.splits() + (aggregator_ ? aggregator_->splits() : 0); }

 private:
  void OnPiece(const LinePiece& piece, Clock::time_point now, const Emit& emit);
  void OnRecord(const TailRecord& record, const Emit& emit);
  Status RestartFromZero(const Emit& emit);

  UniqueFd fd_;
  FileId id_;
  TailerOptions options_;
  LineSplitter splitter_;
  std::unique_ptr<MultilineAggregator> aggregator_;
  Fingerprint fp_;
  uint64_t record_offset_;
  bool record_mid_line_;
  uint64_t size_ = 0;
  bool at_eof_ = false;
  std::optional<Truncation> truncation_;
  Clock::time_point last_growth_;
};

}  // namespace sluice
