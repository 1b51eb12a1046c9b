#include "agent/sinks/batch_encoding.h"

#include <zlib.h>
#include <zstd.h>

#include <memory>

namespace sluice {
namespace {

Result<std::string> ZstdDecompress(std::string_view frame) {
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(), ZSTD_freeDStream);
  if (!ds) return Status::Internal("zstd: out of memory");
  std::string out;
  const unsigned long long known = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (known != ZSTD_CONTENTSIZE_UNKNOWN && known != ZSTD_CONTENTSIZE_ERROR) out.reserve(known);
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  std::string chunk(ZSTD_DStreamOutSize(), '\0');
  for (;;) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    const size_t rc = ZSTD_decompressStream(ds.get(), &o, &in);
    if (ZSTD_isError(rc)) {
      return Status::Corrupt(std::string("stored batch does not decompress: ") + ZSTD_getErrorName(rc));
    }
    out.append(chunk.data(), o.pos);
    if (rc == 0 && in.pos == in.size) break;  // every frame complete
    // All input taken, output room left, and still not done: cut short.
    if (in.pos == in.size && o.pos < o.size) return Status::Corrupt("stored batch is a truncated zstd frame");
  }
  return out;
}

Result<std::string> GzipMember(std::string_view data) {
  z_stream z{};
  // 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return Status::Internal("zlib: init");
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const size_t produced = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Status::Internal("zlib: deflate did not finish");
  out.resize(produced);
  return out;
}

Result<std::string> ZstdFrame(std::string_view data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  if (ZSTD_isError(n)) return Status::Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

}  // namespace

Result<ObjectCompression> ParseObjectCompression(std::string_view name) {
  if (name == "zstd") return ObjectCompression::kZstd;
  if (name == "gzip") return ObjectCompression::kGzip;
  if (name == "none") return ObjectCompression::kNone;
  return Status::InvalidArgument("compression must be \"zstd\", \"gzip\" or \"none\"");
}

std::string_view ObjectSuffix(ObjectCompression c) {
  switch (c) {
    case ObjectCompression::kZstd:
      return ".jsonl.zst";
    case ObjectCompression::kGzip:
      return ".jsonl.gz";
    case ObjectCompression::kNone:
      return ".jsonl";
  }
  return ".jsonl";
}

Result<std::string> EncodeBatch(std::string_view zstd_frame, ObjectCompression c) {
  if (c == ObjectCompression::kZstd) return std::string(zstd_frame);
  Result<std::string> plain = ZstdDecompress(zstd_frame);
  if (!plain.ok() || c == ObjectCompression::kNone) return plain;
  return GzipMember(plain.value());
}

Result<std::string> CompressBytes(std::string_view plain, ObjectCompression c) {
  switch (c) {
    case ObjectCompression::kZstd:
      return ZstdFrame(plain);
    case ObjectCompression::kGzip:
      return GzipMember(plain);
    case ObjectCompression::kNone:
      break;
  }
  return std::string(plain);
}

}  // namespace sluice
