#include "agent/sources/tail/line_splitter.h"

#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace sluice {
namespace {

struct Piece {
  std::string bytes;
  uint64_t end = 0;
  bool continuation = false;
  bool split = false;
  bool newline = false;
  bool operator==(const Piece&) const = default;
};

struct Collector {
  std::vector<Piece> pieces;
  LineSplitter::Emit emit() {
    return [this](const LinePiece& p) {
      pieces.push_back({std::string(p.bytes), p.end_offset, p.continuation, p.split, p.newline});
    };
  }
};

std::vector<Piece> SplitInChunks(std::string_view data, size_t max_line, const std::vector<size_t>& chunks) {
  Collector c;
  LineSplitter s(max_line, 0);
  size_t pos = 0;
  size_t i = 0;
  while (pos < data.size()) {
    const size_t n = std::min(chunks[i++ % chunks.size()], data.size() - pos);
    s.Feed(data.substr(pos, n), c.emit());
    pos += n;
  }
  s.FlushPartial(c.emit());
  return c.pieces;
}

TEST_CASE("tail: lines are split on newlines with their end offsets", "[unit]") {
  Collector c;
  LineSplitter s(1024, 100);
  s.Feed("a\nbb\r\n\nccc", c.emit());
  REQUIRE(c.pieces.size() == 3);
  CHECK(c.pieces[0] == Piece{"a", 102, false, false, true});
  CHECK(c.pieces[1] == Piece{"bb\r", 106, false, false, true});  // '\r' is kept
  CHECK(c.pieces[2] == Piece{"", 107, false, false, true});      // empty lines are records too
  CHECK(s.pending_bytes() == 3);
  CHECK(s.emitted_offset() == 107);
  CHECK(s.fed_offset() == 110);
  s.Feed("d\n", c.emit());
  REQUIRE(c.pieces.size() == 4);
  CHECK(c.pieces[3] == Piece{"cccd", 112, false, false, true});
  CHECK(s.pending_bytes() == 0);
}

TEST_CASE("tail: line splitting does not depend on read chunk boundaries", "[unit]") {
  std::mt19937 rng(42);
  std::string data;
  for (int i = 0; i < 300; ++i) {
    const size_t len = rng() % 40;
    for (size_t k = 0; k < len; ++k) data += static_cast<char>('a' + rng() % 26);
    if (rng() % 5 == 0) data += '\r';
    data += '\n';
  }
  data += "no newline at the end";
  const std::vector<Piece> whole = SplitInChunks(data, 32, {data.size()});
  for (std::vector<size_t> chunks : {std::vector<size_t>{1}, {2}, {3, 7}, {31, 32, 33}, {4096}}) {
    INFO("chunks starting with " << chunks[0]);
    CHECK(SplitInChunks(data, 32, chunks) == whole);
  }
  // Re-joining the pieces gives the input back: nothing lost or altered.
  std::string joined;
  for (const Piece& p : whole) joined += p.bytes + (p.newline ? "\n" : "");
  CHECK(joined == data);
}

TEST_CASE("tail: a line longer than max_line is split into max_line parts", "[unit]") {
  Collector c;
  LineSplitter s(4, 0);
  s.Feed("abcdefghij\n", c.emit());
  REQUIRE(c.pieces.size() == 3);
  CHECK(c.pieces[0] == Piece{"abcd", 4, false, true, false});
  CHECK(c.pieces[1] == Piece{"efgh", 8, true, true, false});
  CHECK(c.pieces[2] == Piece{"ij", 11, true, false, true});
  CHECK(s.splits() == 2);

  // Exactly max_line bytes is not split, even when the '\n' arrives later.
  Collector e;
  LineSplitter t(4, 0);
  t.Feed("wxyz", e.emit());
  CHECK(e.pieces.empty());
  CHECK(t.pending_bytes() == 4);
  t.Feed("\nnext\n", e.emit());
  REQUIRE(e.pieces.size() == 2);
  CHECK(e.pieces[0] == Piece{"wxyz", 5, false, false, true});
  CHECK(t.splits() == 0);
}

TEST_CASE("tail: pending bytes never exceed max_line", "[unit]") {
  Collector c;
  LineSplitter s(1000, 0);
  const std::string chunk(777, 'x');
  for (int i = 0; i < 100; ++i) {
    s.Feed(chunk, c.emit());
    CHECK(s.pending_bytes() <= 1000);
  }
  CHECK(c.pieces.size() == 77);
  for (const Piece& p : c.pieces) CHECK(p.bytes.size() == 1000);
  CHECK(s.emitted_offset() == 77000);
}

TEST_CASE("tail: a flushed partial line is continued without a newline", "[unit]") {
  Collector c;
  LineSplitter s(100, 0);
  s.Feed("part", c.emit());
  s.FlushPartial(c.emit());
  REQUIRE(c.pieces.size() == 1);
  CHECK(c.pieces[0] == Piece{"part", 4, false, false, false});
  CHECK(s.mid_line());
  s.Feed("ial\nnew\n", c.emit());
  REQUIRE(c.pieces.size() == 3);
  CHECK(c.pieces[1] == Piece{"ial", 8, true, false, true});
  CHECK(c.pieces[2] == Piece{"new", 12, false, false, true});
  s.FlushPartial(c.emit());  // nothing pending: nothing emitted
  CHECK(c.pieces.size() == 3);
}

TEST_CASE("tail: Reset forgets pending bytes", "[unit]") {
  Collector c;
  LineSplitter s(100, 0);
  s.Feed("abc\ndef", c.emit());
  s.Reset(0);
  CHECK(s.pending_bytes() == 0);
  CHECK(s.fed_offset() == 0);
  s.Feed("xy\n", c.emit());
  REQUIRE(c.pieces.size() == 2);
  CHECK(c.pieces[1] == Piece{"xy", 3, false, false, true});
}

}  // namespace
}  // namespace sluice
