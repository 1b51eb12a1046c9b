#include "agent/sources/tail/line_splitter.h"

#include <cstring>

namespace sluice {

LineSplitter::LineSplitter(size_t max_line, uint64_t offset, bool continuation)
    : max_line_(max_line == 0 ? 1 : max_line), fed_offset_(offset), continuation_(continuation) {}

void LineSplitter::EmitPiece(std::string_view bytes, uint64_t end, bool split, bool newline, const Emit& emit) {
  LinePiece piece;
  piece.bytes = bytes;
  piece.end_offset = end;
  piece.continuation = continuation_;
  piece.split = split;
  piece.newline = newline;
  if (split) ++splits_;
  continuation_ = !newline;
  emit(piece);
}

void LineSplitter::Feed(std::string_view data, const Emit& emit) {
  const uint64_t base = fed_offset_;
  size_t pos = 0;
  while (pos < data.size()) {
    const void* nl = std::memchr(data.data() + pos, '\n', data.size() - pos);
    const size_t end = nl == nullptr ? data.size() : static_cast<size_t>(static_cast<const char*>(nl) - data.data());
    // Cut parts while the line so far is longer than max_line.
    while (pending_.size() + (end - pos) > max_line_) {
      const size_t take = max_line_ - pending_.size();
      if (pending_.empty()) {
        EmitPiece(data.substr(pos, take), base + pos + take, true, false, emit);
      } else {
        pending_.append(data.data() + pos, take);
        EmitPiece(pending_, base + pos + take, true, false, emit);
        pending_.clear();
      }
      pos += take;
    }
    if (nl == nullptr) {
      pending_.append(data.data() + pos, end - pos);
      break;
    }
    if (pending_.empty()) {
      EmitPiece(data.substr(pos, end - pos), base + end + 1, false, true, emit);
    } else {
      pending_.append(data.data() + pos, end - pos);
      EmitPiece(pending_, base + end + 1, false, true, emit);
      pending_.clear();
    }
    pos = end + 1;
  }
  fed_offset_ = base + data.size();
}

void LineSplitter::FlushPartial(const Emit& emit) {
  if (pending_.empty()) return;
  std::string line;
  line.swap(pending_);
  EmitPiece(line, fed_offset_, false, false, emit);
}

void LineSplitter::Reset(uint64_t offset) {
  pending_.clear();
  pending_.shrink_to_fit();
  fed_offset_ = offset;
  continuation_ = false;
}

}  // namespace sluice
