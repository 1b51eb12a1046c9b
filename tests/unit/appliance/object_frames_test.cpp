// ObjectWriter::AppendFrames: zstd frames made elsewhere (the export's
// reading threads make a bundle's tar members into frames of their own) and
// the writer's own frame make one stored object that ObjectReader reads back
// whole, compressed or not, encrypted or not.
#include <sodium.h>
#include <zstd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "appliance/sealed_stream.h"
#include "tests/support/temp_dir.h"

using namespace sluice;
using namespace sluice::appliance;

namespace {

std::string FrameOf(const std::string& plain, const SealOptions& o) {
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  SetFrameParameters(cctx.get(), o);
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  const size_t n = ZSTD_compress2(cctx.get(), out.data(), out.size(), plain.data(), plain.size());
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::string ReadBack(const std::filesystem::path& path, const SealOptions& o) {
  Result<std::unique_ptr<ObjectReader>> r = ObjectReader::Open(path, o);
  REQUIRE(r.ok());
  std::string out, buf(1000, '\0');  // small reads: frames end inside them
  for (;;) {
    Result<size_t> got = r.value()->Read(buf.data(), buf.size());
    REQUIRE(got.ok());
    if (got.value() == 0) break;
    out.append(buf.data(), got.value());
  }
  return out;
}

size_t FramesIn(const std::string& stored) {
  size_t frames = 0;
  for (size_t pos = 0; pos < stored.size(); ++frames) {
    const size_t n = ZSTD_findFrameCompressedSize(stored.data() + pos, stored.size() - pos);
    REQUIRE_FALSE(ZSTD_isError(n));
    pos += n;
  }
  return frames;
}

}  // namespace

TEST_CASE("object: whole frames and the writer's own frame read back as one stream", "[unit][appliance]") {
  REQUIRE(sodium_init() >= 0);
  test::TempDir dir("sluice-frames");
  std::string a, b;
  for (int i = 0; i < 20000; ++i) a += "line " + std::to_string(i) + "\n";
  for (int i = 0; i < 3000; ++i) b += static_cast<char>((i * 7919) % 251);
  const std::string tail(1024, '\0');
  for (bool compress : {true, false}) {
    for (bool encrypted : {false, true}) {
      SealOptions o;
      o.compress = compress;
      if (encrypted) o.key = std::string(32, 'k');
      INFO("compress " << compress << ", encrypted " << encrypted);
      const auto path = dir / ("obj-" + std::to_string(compress) + std::to_string(encrypted));
      Result<std::unique_ptr<ObjectWriter>> w = ObjectWriter::Create(path, o);
      REQUIRE(w.ok());
      // Without compression the "frames" are the plaintext itself.
      REQUIRE(w.value()->AppendFrames(compress ? FrameOf(a, o) : a).ok());
      REQUIRE(w.value()->AppendFrames(compress ? FrameOf(b, o) : b).ok());
      REQUIRE(w.value()->Append(tail).ok());
      Result<StoredObject> stored = w.value()->Commit();
      REQUIRE(stored.ok());
      CHECK(ReadBack(path, o) == a + b + tail);
      if (compress && !encrypted) CHECK(FramesIn(test::ReadFile(path)) == 3);
    }
  }
}

TEST_CASE("object: whole frames are refused inside the writer's open frame", "[unit][appliance]") {
  test::TempDir dir("sluice-frames");
  SealOptions o;
  Result<std::unique_ptr<ObjectWriter>> w = ObjectWriter::Create(dir / "obj", o);
  REQUIRE(w.ok());
  REQUIRE(w.value()->Append("plain bytes in the writer's frame").ok());
  const Status s = w.value()->AppendFrames(FrameOf("a frame of its own", o));
  CHECK(s.code() == ErrorCode::kInternal);
}
