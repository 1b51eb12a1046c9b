#include "tests/unit/agent/buffer/buffer_test_util.h"

#include <zstd.h>

#include <catch2/catch.hpp>

namespace sluice::test {

EncodedBatch MakeBatch(const std::vector<std::string>& lines, int64_t ts_ms) {
  BatchBuilder b;
  for (const auto& l : lines) {
    b.staging() += l;
    b.staging() += '\n';
    b.EndRecord(ts_ms);
  }
  Result<EncodedBatch> r = b.Finish();
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::string out;
  out.reserve(n);
  uint64_t x = seed;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    out += static_cast<char>(x >> 56);
  }
  return out;
}

Logger QuietLogger() { return MakeLogger("test", LogFormat::kText, spdlog::level::off); }

std::unique_ptr<Buffer> OpenTestBuffer(const std::filesystem::path& dir, MetricsRegistry& m, BufferOptions o) {
  o.dir = dir;
  Result<std::unique_ptr<Buffer>> b = Buffer::Open(o, QuietLogger(), m);
  INFO(b.status().message());
  REQUIRE(b.ok());
  return std::move(b).value();
}

std::vector<std::string> DecodeLines(const std::string& zstd) {
  std::string text;
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> d(ZSTD_createDCtx(), ZSTD_freeDCtx);
  ZSTD_inBuffer in{zstd.data(), zstd.size(), 0};
  std::string chunk(1 << 16, '\0');
  while (in.pos < in.size) {
    ZSTD_outBuffer out{chunk.data(), chunk.size(), 0};
    const size_t rc = ZSTD_decompressStream(d.get(), &out, &in);
    REQUIRE_FALSE(ZSTD_isError(rc));
    text.append(chunk.data(), out.pos);
  }
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    REQUIRE(nl != std::string::npos);
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

}  // namespace sluice::test
