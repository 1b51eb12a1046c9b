// Stored batches re-encoded for objects: zstd as stored, gzip members and
// plain JSON Lines, each concatenable; S3 object keys in the lake layout.
#include "agent/sinks/batch_encoding.h"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <stdexcept>

#include "agent/sinks/s3/s3_sink.h"
#include "tests/support/compress.h"

namespace sluice {
namespace {

// A whole gzip stream, every member of it, as `gzip -dc` reads it.
std::string Gunzip(const std::string& in) {
  std::string out;
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 32) == Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[4096];
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    const int rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      REQUIRE(inflateReset(&z) == Z_OK);  // the next member
      continue;
    }
    if (rc != Z_OK) {
      inflateEnd(&z);
      throw std::runtime_error("gunzip failed");
    }
  }
  inflateEnd(&z);
  return out;
}

}  // namespace

TEST_CASE("batch encoding: zstd as stored, gzip and none, concatenated per batch", "[sinks]") {
  const std::string one = "{\"msg\":\"a\"}\n{\"msg\":\"b\"}\n";
  const std::string two = "{\"msg\":\"c\"}\n";
  const std::string f1 = test::ZstdBytes(one);
  const std::string f2 = test::ZstdBytes(two);

  CHECK(EncodeBatch(f1, ObjectCompression::kZstd).value() == f1);
  CHECK(EncodeBatch(f1, ObjectCompression::kNone).value() + EncodeBatch(f2, ObjectCompression::kNone).value() ==
        one + two);
  const std::string gz =
      EncodeBatch(f1, ObjectCompression::kGzip).value() + EncodeBatch(f2, ObjectCompression::kGzip).value();
  CHECK(Gunzip(gz) == one + two);

  // Two frames in one stored batch decode as one.
  CHECK(EncodeBatch(f1 + f2, ObjectCompression::kNone).value() == one + two);
  // A damaged or cut frame is reported, never passed on.
  CHECK(EncodeBatch(f1.substr(0, f1.size() - 3), ObjectCompression::kNone).status().code() == ErrorCode::kCorrupt);
  CHECK(EncodeBatch("not zstd at all", ObjectCompression::kGzip).status().code() == ErrorCode::kCorrupt);

  CHECK(ParseObjectCompression("gzip").value() == ObjectCompression::kGzip);
  CHECK_FALSE(ParseObjectCompression("lz4").ok());
}

TEST_CASE("s3 sink: object keys follow the lake layout under the prefix", "[sinks]") {
  S3SinkConfig c;
  c.bucket = "lake";
  CHECK(S3ObjectKey(c, "raw/app/dt=2026-11-22/hr=13", "0000000000000042-abc") ==
        "raw/app/dt=2026-11-22/hr=13/0000000000000042-abc.jsonl.zst");
  c.prefix = "edge/device-1";
  c.compression = ObjectCompression::kGzip;
  CHECK(S3ObjectKey(c, "raw/app/dt=2026-11-22/hr=13", "b1") == "edge/device-1/raw/app/dt=2026-11-22/hr=13/b1.jsonl.gz");
  c.compression = ObjectCompression::kNone;
  CHECK(S3ObjectKey(c, "raw/x/dt=2026-01-01/hr=00", "b2").ends_with("/b2.jsonl"));
}

}  // namespace sluice
