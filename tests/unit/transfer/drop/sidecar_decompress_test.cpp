#include <catch2/catch.hpp>
#include <string>

#include "tests/support/compress.h"
#include "transfer/drop/decompress.h"
#include "transfer/drop/sidecar.h"

namespace sluice::transfer::drop {
namespace {

using sluice::test::GzipBytes;
using sluice::test::ZstdBytes;

const std::string kSha(64, 'a');
const std::string kMd5 = "0123456789ABCDEF0123456789abcdef";

TEST_CASE("sidecar: the forms sha256sum, md5sum and BSD tools write", "[drop]") {
  CHECK(ParseSidecarDigest(kSha + "\n", SidecarKind::kSha256, "a.csv").value() == kSha);
  CHECK(ParseSidecarDigest(kSha + "  a.csv\n", SidecarKind::kSha256, "a.csv").value() == kSha);
  CHECK(ParseSidecarDigest(kSha + " *a.csv", SidecarKind::kSha256, "a.csv").value() == kSha);
  CHECK(ParseSidecarDigest("SHA256 (a.csv) = " + kSha, SidecarKind::kSha256, "a.csv").value() == kSha);
  CHECK(ParseSidecarDigest(kMd5 + "  a.csv\r\n", SidecarKind::kMd5, "a.csv").value() ==
        "0123456789abcdef0123456789abcdef");
  // Several lines: the one naming the file.
  const std::string other(64, 'b');
  CHECK(ParseSidecarDigest(other + "  b.csv\n" + kSha + "  a.csv\n", SidecarKind::kSha256, "a.csv").value() == kSha);
  // Wrong length or no digest at all: an error that says so.
  Result<std::string> bad = ParseSidecarDigest(kMd5, SidecarKind::kSha256, "a.csv");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("64 hex digits") != std::string::npos);
  CHECK_FALSE(ParseSidecarDigest("", SidecarKind::kMd5, "a").ok());
  CHECK_FALSE(ParseSidecarDigest(other + "  b.csv\n" + other + "  c.csv\n", SidecarKind::kSha256, "a.csv").ok());
  CHECK(SidecarKindOf("x/a.csv.md5") == SidecarKind::kMd5);
}

TEST_CASE("md5 hasher matches the reference digest", "[drop]") {
  auto h = MakeMd5Hasher();
  h->Update("The quick brown fox ");
  h->Update("jumps over the lazy dog");
  CHECK(h->HexDigest() == "9e107d9d372bb6826bd81d3542a419d6");
}

// Feeds `in` in pieces of `piece` bytes; the output, or the error.
Result<std::string> Decompress(std::string_view suffix, const std::string& in, size_t piece) {
  auto d = Decompressor::ForSuffix(suffix);
  REQUIRE(d);
  std::string out;
  for (size_t at = 0; at < in.size(); at += piece) {
    Status s = d->Feed(std::string_view(in).substr(at, piece), [&](std::string_view p) {
      out.append(p);
      return Status::Ok();
    });
    if (!s.ok()) return s;
  }
  if (Status s = d->Finish(); !s.ok()) return s;
  return out;
}

std::string Sample(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += std::to_string(i * 2654435761u % 1000003) + ",";
  s.resize(n);
  return s;
}

TEST_CASE("decompress: gzip and zstd, whole or in pieces, several members", "[drop]") {
  const std::string a = Sample(3 << 20), b = Sample(1000);
  for (size_t piece : {size_t{1} << 20, size_t{7}, size_t{65536}}) {
    CHECK(Decompress(".gz", GzipBytes(a), piece).value() == a);
    CHECK(Decompress(".zst", ZstdBytes(a), piece).value() == a);
    CHECK(Decompress(".GZ", GzipBytes(a) + GzipBytes(b), piece).value() == a + b);  // gzip -c a >> f; gzip -c b >> f
    CHECK(Decompress(".zst", ZstdBytes(b) + ZstdBytes(a), piece).value() == b + a);
  }
  CHECK(Decompress(".gz", GzipBytes(""), 10).value().empty());
  CHECK(Decompressor::ForSuffix(".bz2") == nullptr);
}

TEST_CASE("decompress: corrupt, truncated and empty input are errors", "[drop]") {
  const std::string a = Sample(200000);
  std::string gz = GzipBytes(a);
  std::string zs = ZstdBytes(a);
  auto corrupt = [](std::string_view suffix, const std::string& in) {
    Result<std::string> r = Decompress(suffix, in, 4096);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kCorrupt);
    return r.status().message();
  };
  CHECK(corrupt(".gz", gz.substr(0, gz.size() / 2)).find("truncated") != std::string::npos);
  CHECK(corrupt(".zst", zs.substr(0, zs.size() / 2)).find("truncated") != std::string::npos);
  CHECK(corrupt(".gz", "this is not gzip").find("not valid gzip") != std::string::npos);
  CHECK(corrupt(".zst", "this is not zstd").find("not valid zstd") != std::string::npos);
  CHECK(corrupt(".gz", "").find("empty") != std::string::npos);
  gz[gz.size() - 6] ^= 0x40;  // the CRC-32 in the trailer
  corrupt(".gz", gz);
  std::string flipped = GzipBytes(a);
  flipped[flipped.size() / 2] ^= 0x01;  // inside the deflate data
  corrupt(".gz", flipped);
}

}  // namespace
}  // namespace sluice::transfer::drop
