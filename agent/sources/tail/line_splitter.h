// Splits the bytes of one file, fed in arbitrary chunks, into lines.
//
// Owns the pending partial line (bytes after the last '\n'), which never holds
// more than max_line bytes: when a line grows past max_line without a '\n', its
// first max_line bytes are emitted as a part (`split` set) and the rest is a
// continuation. A line of exactly max_line bytes is not split.
//
// Every emitted piece carries the file offset just after it (after its '\n'
// when it has one), so a caller can checkpoint "everything up to here is in a
// record". Pieces exclude the '\n'; a '\r' before it is kept (nothing is
// silently altered). `continuation` is set on a piece that continues a line
// whose earlier bytes were already emitted (after a split or a FlushPartial),
// so a multiline aggregator can rejoin it without inventing a newline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sluice {

struct LinePiece {
  std::string_view bytes;  // valid only during the callback
  uint64_t end_offset = 0;
  bool continuation = false;  // continues a line already partly emitted
  bool split = false;         // cut at max_line, more of the same line follows
  bool newline = false;       // ended by '\n' (false for split parts and flushed partials)
};

class LineSplitter {
 public:
  using Emit = std::function<void(const LinePiece&)>;

  // `offset` is the file offset of the first byte that will be fed;
  // `continuation` says whether that byte continues a partly emitted line.
  LineSplitter(size_t max_line, uint64_t offset, bool continuation = false);

  // Feeds the next bytes of the file; emits every complete line or part.
  void Feed(std::string_view data, const Emit& emit);
  // Emits the pending partial line, if any (idle flush, file closed).
  void FlushPartial(const Emit& emit);
  // Forgets pending bytes and restarts at `offset` (truncation).
  void Reset(uint64_t offset);

  // File offset of the next byte to feed.
  uint64_t fed_offset() const { return fed_offset_; }
  // Offset just after the last emitted piece: what a checkpoint may cover.
  uint64_t emitted_offset() const { return fed_offset_ - pending_.size(); }
  size_t pending_bytes() const { return pending_.size(); }
  // Whether the next emitted piece will continue an already emitted line.
  bool mid_line() const { return continuation_; }
  uint64_t splits() const { return splits_; }

 private:
  void EmitPiece(std::string_view bytes, uint64_t end, bool split, bool newline, const Emit& emit);

  size_t max_line_;
  uint64_t fed_offset_;
  bool continuation_;
  std::string pending_;
  uint64_t splits_ = 0;
};

}  // namespace sluice
