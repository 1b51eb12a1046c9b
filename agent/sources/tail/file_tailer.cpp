#include "agent/sources/tail/file_tailer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace sluice {

FileTailer::FileTailer(UniqueFd fd, FileId id, uint64_t offset, bool mid_line, Fingerprint fp,
                       const TailerOptions& options, PcreRegex* multiline, Clock::time_point now)
    : fd_(std::move(fd)),
      id_(id),
      options_(options),
      splitter_(options.max_line, offset, mid_line),
      fp_(fp),
      record_offset_(offset),
      record_mid_line_(mid_line),
      size_(offset),
      last_growth_(now) {
  if (multiline != nullptr) {
    aggregator_ = std::make_unique<MultilineAggregator>(*multiline, options.max_line, options.multiline_timeout);
  }
}

void FileTailer::OnRecord(const TailRecord& record, const Emit& emit) {
  record_offset_ = record.end_offset;
  record_mid_line_ = record.mid_line;
  emit(record);
}

void FileTailer::OnPiece(const LinePiece& piece, Clock::time_point now, const Emit& emit) {
  if (!aggregator_) {
    OnRecord(TailRecord{piece.bytes, piece.end_offset, !piece.newline}, emit);
    return;
  }
  aggregator_->Add(piece, now, [&](const TailRecord& r) { OnRecord(r, emit); });
}

Result<FileTailer::ReadResult> FileTailer::Read(std::span<char> buf, uint64_t budget, Clock::time_point now,
                                                const Emit& emit) {
  ReadResult result;
  const auto on_piece = [&](const LinePiece& p) { OnPiece(p, now, emit); };
  while (result.bytes < budget) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), budget - result.bytes));
    const ssize_t n = ::pread(fd_.get(), buf.data(), want, static_cast<off_t>(splitter_.fed_offset()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "reading a tailed file");
    }
    if (n == 0) {
      at_eof_ = true;
      struct stat st {};
      if (::fstat(fd_.get(), &st) != 0) return Status::FromErrno(errno, "fstat of a tailed file");
      size_ = static_cast<uint64_t>(st.st_size);
      if (size_ < splitter_.fed_offset()) {
        if (Status s = RestartFromZero(emit); !s.ok()) return s;
        result.truncated = true;
        continue;
      }
      break;
    }
    // Keep the fingerprint covering at least min(offset, fingerprint_bytes):
    // a checkpoint must never claim an offset past what its fingerprint
    // vouches for, or a rewrite in place would resume mid-file.
    const uint64_t at = splitter_.fed_offset();
    const uint64_t end = at + static_cast<uint64_t>(n);
    if (fp_.len < options_.fingerprint_bytes && at <= fp_.len && fp_.len < end) {
      const uint64_t stop = std::min<uint64_t>(end, options_.fingerprint_bytes);
      fp_ = ExtendFingerprint(fp_, std::string_view(buf.data() + (fp_.len - at), static_cast<size_t>(stop - fp_.len)));
    }
    splitter_.Feed(std::string_view(buf.data(), static_cast<size_t>(n)), on_piece);
    result.bytes += static_cast<uint64_t>(n);
    last_growth_ = now;
    size_ = std::max(size_, splitter_.fed_offset());
    if (static_cast<size_t>(n) < want) {
      // A short read of a regular file means end of file (for now).
      at_eof_ = true;
      break;
    }
    at_eof_ = false;
  }
  result.more = result.bytes >= budget;
  return result;
}

Status FileTailer::RestartFromZero(const Emit& emit) {
  // The pending bytes were really in the file before it was truncated (with
  // copytruncate they are in the copy too): emit them rather than lose them.
  FlushAll(emit);
  truncation_ = Truncation{splitter_.fed_offset(), splitter_.mid_line(), fp_};
  splitter_.Reset(0);
  record_offset_ = 0;
  record_mid_line_ = false;
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return Status::FromErrno(errno, "fstat of a tailed file");
  size_ = static_cast<uint64_t>(st.st_size);
  Result<Fingerprint> fp = ComputeFingerprint(fd_.get(), size_, options_.fingerprint_bytes);
  if (!fp.ok()) return fp.status();
  fp_ = *fp;
  return Status::Ok();
}

Result<FileTailer::CheckResult> FileTailer::Check(const Emit& emit) {
  CheckResult result;
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return Status::FromErrno(errno, "fstat of a tailed file");
  result.deleted = st.st_nlink == 0;
  const auto size = static_cast<uint64_t>(st.st_size);
  bool truncated = size < splitter_.fed_offset();
  if (!truncated) {
    Result<FingerprintCheck> check = CheckFingerprint(fd_.get(), fp_);
    if (!check.ok()) return check.status();
    truncated = *check != FingerprintCheck::kSame;
  }
  if (truncated) {
    if (Status s = RestartFromZero(emit); !s.ok()) return s;
    result.truncated = true;
    return result;
  }
  size_ = std::max(size, splitter_.fed_offset());
  if (fp_.len < options_.fingerprint_bytes && size > fp_.len) {
    Result<Fingerprint> fp = ComputeFingerprint(fd_.get(), size, options_.fingerprint_bytes);
    if (!fp.ok()) return fp.status();
    result.fingerprint_grew = !(*fp == fp_);
    fp_ = *fp;
  }
  return result;
}

void FileTailer::OnTimers(Clock::time_point now, const Emit& emit) {
  if (splitter_.pending_bytes() > 0 && now - last_growth_ >= options_.idle_flush) {
    splitter_.FlushPartial([&](const LinePiece& p) { OnPiece(p, now, emit); });
  }
  if (aggregator_) aggregator_->FlushIfDue(now, [&](const TailRecord& r) { OnRecord(r, emit); });
}

void FileTailer::FlushAll(const Emit& emit) {
  const Clock::time_point now = Clock::now();
  splitter_.FlushPartial([&](const LinePiece& p) { OnPiece(p, now, emit); });
  if (aggregator_) aggregator_->Flush([&](const TailRecord& r) { OnRecord(r, emit); });
}

std::optional<FileTailer::Clock::time_point> FileTailer::NextDeadline() const {
  std::optional<Clock::time_point> d;
  if (splitter_.pending_bytes() > 0) d = last_growth_ + options_.idle_flush;
  if (aggregator_) {
    if (auto m = aggregator_->deadline(); m && (!d || *m < *d)) d = m;
  }
  return d;
}

}  // namespace sluice
