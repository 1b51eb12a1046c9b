#include "agent/buffer/batch_builder.h"

#include <catch2/catch.hpp>

#include "agent/sinks/batch_encoding.h"
#include "tests/unit/agent/buffer/buffer_test_util.h"

using namespace sluice;
using sluice::test::DecodeLines;

namespace {

void AddLine(BatchBuilder& b, const std::string& line, int64_t ts) {
  b.staging() += line;
  b.staging() += '\n';
  b.EndRecord(ts);
}

}  // namespace

TEST_CASE("batch builder: pieces appended between staged records keep every record in order", "[unit]") {
  BatchBuilder piece_maker;
  AddLine(piece_maker, "p1", 20);
  AddLine(piece_maker, "p2", 21);
  Result<EncodedBatch> piece = piece_maker.Finish();
  REQUIRE(piece.ok());
  REQUIRE(piece.value().records == 2);

  BatchBuilder b;
  AddLine(b, "s1", 10);  // a frame open when the piece comes
  REQUIRE(b.Append(piece.value()).ok());
  REQUIRE(b.Append(EncodedBatch{}).ok());  // nothing
  REQUIRE(b.Append(piece.value()).ok());   // right after another piece
  AddLine(b, "s2", 30);
  REQUIRE(b.records() == 6);

  Result<EncodedBatch> batch = b.Finish();
  REQUIRE(batch.ok());
  CHECK(batch.value().records == 6);
  CHECK(batch.value().first_ts_ms == 10);
  CHECK(batch.value().last_ts_ms == 30);
  CHECK(batch.value().raw_bytes == 18);
  CHECK(DecodeLines(batch.value().zstd) == std::vector<std::string>{"s1", "p1", "p2", "p1", "p2", "s2"});
  // The sinks' decoder reads the frames as one stream.
  Result<std::string> plain = EncodeBatch(batch.value().zstd, ObjectCompression::kNone);
  REQUIRE(plain.ok());
  CHECK(plain.value() == "s1\np1\np2\np1\np2\ns2\n");

  SECTION("a batch of pieces only is their concatenation, with no empty frame of its own") {
    BatchBuilder only;
    REQUIRE(only.Append(piece.value()).ok());
    Result<EncodedBatch> b2 = only.Finish();
    REQUIRE(b2.ok());
    CHECK(b2.value().zstd == piece.value().zstd);
    CHECK(b2.value().first_ts_ms == 20);
    CHECK(only.Finish().value().empty());  // reusable, and empty after
  }
}
