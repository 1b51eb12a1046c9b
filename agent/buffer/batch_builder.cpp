#include "agent/buffer/batch_builder.h"

#include <zstd.h>

namespace sluice {
namespace {

// Staged records are compressed once this much has accumulated: large enough
// for zstd to work efficiently, small enough to keep memory flat.
constexpr size_t kStagingFlush = 128 * 1024;

}  // namespace

struct BatchBuilder::Ctx {
  struct Free {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  };
  std::unique_ptr<ZSTD_CCtx, Free> cctx;
};

BatchBuilder::BatchBuilder(int zstd_level, int hash_log) : ctx_(std::make_unique<Ctx>()) {
  ctx_->cctx.reset(ZSTD_createCCtx());
  ZSTD_CCtx_setParameter(ctx_->cctx.get(), ZSTD_c_compressionLevel, zstd_level);
  if (hash_log != 0) ZSTD_CCtx_setParameter(ctx_->cctx.get(), ZSTD_c_hashLog, hash_log);
  // The frame checksum lets every reader detect a corrupted batch.
  ZSTD_CCtx_setParameter(ctx_->cctx.get(), ZSTD_c_checksumFlag, 1);
  staging_.reserve(kStagingFlush + 64 * 1024);
}

BatchBuilder::~BatchBuilder() = default;

void BatchBuilder::EndRecord(int64_t ts_ms) {
  if (records_ == 0) first_ts_ = ts_ms;
  last_ts_ = ts_ms;
  ++records_;
  frame_open_ = true;
  if (staging_.size() >= kStagingFlush) {
    // A compression error here is impossible short of memory exhaustion; it
    // is reported by Finish, which runs the same call again.
    (void)Compress(false);
  }
}

Status BatchBuilder::Compress(bool end) {
  ZSTD_inBuffer in{staging_.data(), staging_.size(), 0};
  const ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
  for (;;) {
    const size_t room = ZSTD_CStreamOutSize();
    const size_t old = out_.size();
    out_.resize(old + room);
    ZSTD_outBuffer out{out_.data() + old, room, 0};
    const size_t rc = ZSTD_compressStream2(ctx_->cctx.get(), &out, &in, mode);
    out_.resize(old + out.pos);
    if (ZSTD_isError(rc)) return Status::Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(rc));
    const bool done = end ? rc == 0 : in.pos == in.size;
    if (done) break;
  }
  raw_bytes_ += staging_.size();
  staging_.clear();
  if (end) frame_open_ = false;
  return Status::Ok();
}

Status BatchBuilder::Append(const EncodedBatch& piece) {
  if (piece.empty()) return Status::Ok();
  if (frame_open_) {
    if (Status s = Compress(true); !s.ok()) return s;
  }
  if (records_ == 0) first_ts_ = piece.first_ts_ms;
  last_ts_ = piece.last_ts_ms;
  records_ += piece.records;
  raw_bytes_ += piece.raw_bytes;
  out_ += piece.zstd;
  return Status::Ok();
}

Result<EncodedBatch> BatchBuilder::Finish() {
  EncodedBatch batch;
  if (records_ == 0) return batch;
  if (frame_open_) {
    if (Status s = Compress(true); !s.ok()) {
      ZSTD_CCtx_reset(ctx_->cctx.get(), ZSTD_reset_session_only);
      return s;
    }
  }
  batch.zstd = std::move(out_);
  batch.records = records_;
  batch.raw_bytes = raw_bytes_;
  batch.first_ts_ms = first_ts_;
  batch.last_ts_ms = last_ts_;
  out_ = std::string();
  records_ = 0;
  raw_bytes_ = 0;
  return batch;
}

}  // namespace sluice
