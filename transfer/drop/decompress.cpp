#include "transfer/drop/decompress.h"

#include <zlib.h>
#include <zstd.h>

#include <cctype>
#include <string>
#include <vector>

namespace sluice::transfer::drop {
namespace {

constexpr size_t kOutChunk = 256 * 1024;

class GzipDecompressor final : public Decompressor {
 public:
  GzipDecompressor() : out_(kOutChunk) {
    // 16 + MAX_WBITS: gzip format only (a bare zlib stream is not a .gz file).
    ok_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
  }
  ~GzipDecompressor() override {
    if (ok_) inflateEnd(&z_);
  }

  Status Feed(std::string_view in, const Output& out) override {
    if (!ok_) return Status::Internal("gzip: inflateInit2 failed");
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    offset_base_ += in.size();
    for (;;) {
      if (member_ended_) {
        if (z_.avail_in == 0) break;
        // Another member follows (gzip -c a >> f; gzip -c b >> f).
        if (inflateReset(&z_) != Z_OK) return Status::Internal("gzip: inflateReset failed");
        member_ended_ = false;
      }
      z_.next_out = reinterpret_cast<Bytef*>(out_.data());
      z_.avail_out = static_cast<uInt>(out_.size());
      const int rc = inflate(&z_, Z_NO_FLUSH);
      const size_t produced = out_.size() - z_.avail_out;
      if (produced > 0) {
        if (Status s = out(std::string_view(out_.data(), produced)); !s.ok()) return s;
      }
      if (rc == Z_STREAM_END) {
        member_ended_ = true;
        continue;
      }
      if (rc == Z_BUF_ERROR) break;  // no progress possible: it needs more input
      if (rc != Z_OK) {
        return Status::Corrupt(std::string("not valid gzip data: ") + (z_.msg ? z_.msg : zError(rc)) + " (near byte " +
                               std::to_string(offset_base_ - z_.avail_in) + ")");
      }
      if (z_.avail_in == 0 && z_.avail_out > 0) break;  // all input taken, nothing held back
    }
    fed_ = true;
    return Status::Ok();
  }

  Status Finish() override {
    if (!fed_) return Status::Corrupt("not valid gzip data: the file is empty");
    if (!member_ended_)
      return Status::Corrupt("not valid gzip data: the file ends in the middle of a member (truncated)");
    return Status::Ok();
  }

 private:
  z_stream z_{};
  bool ok_ = false;
  bool fed_ = false;
  bool member_ended_ = false;
  uint64_t offset_base_ = 0;
  std::vector<char> out_;
};

class ZstdDecompressor final : public Decompressor {
 public:
  ZstdDecompressor() : ctx_(ZSTD_createDCtx()), out_(ZSTD_DStreamOutSize()) {}
  ~ZstdDecompressor() override { ZSTD_freeDCtx(ctx_); }

  Status Feed(std::string_view in, const Output& out) override {
    if (ctx_ == nullptr) return Status::Internal("zstd: ZSTD_createDCtx failed");
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    while (input.pos < input.size) {
      ZSTD_outBuffer output{out_.data(), out_.size(), 0};
      const size_t rc = ZSTD_decompressStream(ctx_, &output, &input);
      if (ZSTD_isError(rc)) {
        return Status::Corrupt(std::string("not valid zstd data: ") + ZSTD_getErrorName(rc) + " (near byte " +
                               std::to_string(consumed_ + input.pos) + ")");
      }
      if (output.pos > 0) {
        if (Status s = out(std::string_view(out_.data(), output.pos)); !s.ok()) return s;
      }
      frame_ended_ = rc == 0;
    }
    // Flush what the decoder still holds for this input.
    for (;;) {
      ZSTD_outBuffer output{out_.data(), out_.size(), 0};
      const size_t rc = ZSTD_decompressStream(ctx_, &output, &input);
      if (ZSTD_isError(rc)) {
        return Status::Corrupt(std::string("not valid zstd data: ") + ZSTD_getErrorName(rc));
      }
      if (output.pos == 0) break;  // nothing held back (and rc would only hint at the next frame)
      if (Status s = out(std::string_view(out_.data(), output.pos)); !s.ok()) return s;
      frame_ended_ = rc == 0;
      if (output.pos < output.size) break;
    }
    consumed_ += in.size();
    return Status::Ok();
  }

  Status Finish() override {
    if (consumed_ == 0) return Status::Corrupt("not valid zstd data: the file is empty");
    if (!frame_ended_)
      return Status::Corrupt("not valid zstd data: the file ends in the middle of a frame (truncated)");
    return Status::Ok();
  }

 private:
  ZSTD_DCtx* ctx_;
  std::vector<char> out_;
  uint64_t consumed_ = 0;
  bool frame_ended_ = false;
};

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<Decompressor> Decompressor::ForSuffix(std::string_view suffix) {
  if (EqualsNoCase(suffix, ".gz")) return std::make_unique<GzipDecompressor>();
  if (EqualsNoCase(suffix, ".zst")) return std::make_unique<ZstdDecompressor>();
  return nullptr;
}

}  // namespace sluice::transfer::drop
