#include "agent/sources/tail/multiline.h"

namespace sluice {

MultilineAggregator::MultilineAggregator(PcreRegex& start, size_t max_bytes, std::chrono::milliseconds timeout)
    : start_(&start), max_bytes_(max_bytes == 0 ? 1 : max_bytes), timeout_(timeout) {}

void MultilineAggregator::Start(const LinePiece& piece, Clock::time_point now) {
  record_.assign(piece.bytes);
  has_pending_ = true;
  end_offset_ = piece.end_offset;
  end_mid_line_ = !piece.newline;
  last_add_ = now;
}

void MultilineAggregator::Add(const LinePiece& piece, Clock::time_point now, const Emit& emit) {
  if (!has_pending_) {
    Start(piece, now);
    return;
  }
  if (piece.continuation) {
    if (record_.size() + piece.bytes.size() > max_bytes_) {
      // Not counted: the line was already cut here (by the splitter, or by
      // an idle flush), this only keeps the parts apart.
      Flush(emit);
      Start(piece, now);
      return;
    }
    record_.append(piece.bytes);
  } else {
    if (start_->Search(piece.bytes)) {
      Flush(emit);
      Start(piece, now);
      return;
    }
    if (record_.size() + 1 + piece.bytes.size() > max_bytes_) {
      ++splits_;
      Flush(emit);
      Start(piece, now);
      return;
    }
    record_ += '\n';
    record_.append(piece.bytes);
  }
  end_offset_ = piece.end_offset;
  end_mid_line_ = !piece.newline;
  last_add_ = now;
}

void MultilineAggregator::Flush(const Emit& emit) {
  if (!has_pending_) return;
  has_pending_ = false;
  emit(TailRecord{record_, end_offset_, end_mid_line_});
  record_.clear();
}

void MultilineAggregator::FlushIfDue(Clock::time_point now, const Emit& emit) {
  if (has_pending_ && now - last_add_ >= timeout_) Flush(emit);
}

void MultilineAggregator::Reset() {
  has_pending_ = false;
  record_.clear();
}

std::optional<MultilineAggregator::Clock::time_point> MultilineAggregator::deadline() const {
  if (!has_pending_) return std::nullopt;
  return last_add_ + timeout_;
}

}  // namespace sluice
