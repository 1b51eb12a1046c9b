#include "transfer/copier.h"

#include <fmt/format.h>

#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "core/backoff.h"
#include "transfer/chunk_pipe.h"
#include "transfer/planner.h"
#include "transfer/rel_path.h"

namespace sluice::transfer {
namespace {

using Clock = std::chrono::steady_clock;

// Buffers in flight between the reader and the writer of one file.
constexpr size_t kPipeDepth = 4;

bool Transient(const Status& s) { return s.code() == ErrorCode::kUnavailable || s.code() == ErrorCode::kIo; }

Status Cancelled(const CopyOptions& o) {
  if (o.cancel != nullptr && o.cancel->load(std::memory_order_relaxed)) return Status::Cancelled("interrupted");
  return Status::Ok();
}

// Reads until `buf` is full or the end of the file; the count read.
Result<size_t> ReadFull(ReadStream& in, std::span<char> buf) {
  size_t done = 0;
  while (done < buf.size()) {
    Result<size_t> n = in.Read(buf.subspan(done));
    if (!n.ok()) return n.status();
    if (n.value() == 0) break;
    done += n.value();
  }
  return done;
}

// The digest of a whole stored file, from the endpoint's own hash if it has one.
Result<std::string> HashStored(Endpoint& ep, const std::string& path, const CopyOptions& o, std::string* how) {
  Result<std::string> server = ep.ServerHash(path, HashName(o.hash));
  if (server.ok() || server.status().code() != ErrorCode::kUnsupported) {
    if (how != nullptr) *how = "server-hash";
    return server;
  }
  if (how != nullptr) *how = "readback";
  Result<std::unique_ptr<ReadStream>> in = ep.OpenRead(path, 0);
  if (!in.ok()) return in.status();
  std::unique_ptr<Hasher> h = Hasher::Create(o.hash);
  std::vector<char> buf(o.buffer_bytes);
  for (;;) {
    if (Status c = Cancelled(o); !c.ok()) return c;
    Result<size_t> n = in.value()->Read(buf);
    if (!n.ok()) return n.status();
    if (n.value() == 0) break;
    h->Update(std::string_view(buf.data(), n.value()));
  }
  return h->HexDigest();
}

class FileCopy {
 public:
  FileCopy(Endpoint& source, Endpoint& dest, const Action& action, const CopyOptions& options, FileResult& result)
      : src_(source),
        dst_(dest),
        action_(action),
        o_(options),
        r_(result),
        caps_(dest.capabilities()),
        // An endpoint whose writes appear whole at Close() needs no partial name.
        tmp_(caps_.atomic_writes
                 ? action.path
                 : JoinPath(ParentOf(action.path), PartialName(NameOf(action.path), caps_.max_name_bytes))),
        buf_(options.buffer_bytes),
        back_(options.buffer_bytes) {}

  // One try; on failure the bytes it reported are taken back. With
  // `trust_listing`, a source with versioned reads is not stat'ed: the
  // planner's entry stands for it (a later attempt stats it afresh).
  Status Attempt(bool allow_resume, bool trust_listing) {
    attempt_bytes_ = 0;
    Status s = AttemptInner(allow_resume, trust_listing);
    if (!s.ok() && o_.on_bytes && attempt_bytes_ != 0) o_.on_bytes(-static_cast<int64_t>(attempt_bytes_));
    return s;
  }

  // The file's partial copy, removed after a mismatch so the retry starts clean.
  void DiscardPartial() { (void)dst_.Remove(tmp_); }

 private:
  void Progress(uint64_t n) {
    attempt_bytes_ += n;
    if (o_.on_bytes) o_.on_bytes(static_cast<int64_t>(n));
  }

  Status AttemptInner(bool allow_resume, bool trust_listing) {
    const std::string& src_path = SourcePath(action_);
    const bool pinned = src_.capabilities().versioned_reads;
    const bool listed =
        pinned && trust_listing && action_.source_path.empty() && action_.source.type == EntryType::kFile;
    Result<EntryInfo> before = listed ? Result<EntryInfo>(action_.source) : src_.Stat(src_path);
    if (!before.ok()) return before.status();
    if (before.value().type != EntryType::kFile) {
      return Status::InvalidArgument("no longer a regular file in the source");
    }
    const uint64_t size = before.value().size;
    r_.size = size;

    Result<std::unique_ptr<ReadStream>> in = src_.OpenRead(src_path, 0);
    if (!in.ok()) return in.status();
    std::unique_ptr<Hasher> hasher = Hasher::Create(o_.hash);
    uint64_t offset = 0;
    // An endpoint whose writes appear whole resumes inside its upload
    // (OpenUpload): every byte still streams through, so each stored piece is
    // checked against the source, and only what is missing or wrong is sent.
    if (allow_resume && !caps_.atomic_writes) {
      Result<uint64_t> kept = VerifyPrefix(*in.value(), *hasher, size);
      if (!kept.ok()) return kept.status();
      offset = kept.value();
      if (offset == 0 && source_consumed_) {
        // The prefix differed: start over with fresh state.
        in = src_.OpenRead(src_path, 0);
        if (!in.ok()) return in.status();
        hasher = Hasher::Create(o_.hash);
      }
    }

    Result<std::unique_ptr<WriteStream>> out =
        caps_.atomic_writes ? dst_.OpenUpload(tmp_, before.value(), allow_resume) : dst_.OpenWrite(tmp_, offset);
    if (!out.ok()) return out.status();
    uint64_t total = offset;
    const Status moved = size - offset > buf_.size() ? PipelinedCopy(*in.value(), *hasher, *out.value(), total)
                                                     : SimpleCopy(*in.value(), *hasher, *out.value(), total);
    if (!moved.ok()) return moved;
    if (Status c = out.value()->Close(); !c.ok()) return c;
    if (const uint64_t reused = out.value()->reused_bytes(); reused > 0) {
      r_.bytes_written -= std::min(reused, r_.bytes_written);
      r_.resumed_from = reused;
    }
    in.value().reset();
    const std::string digest = hasher->HexDigest();

    // A file that grew, shrank or was rewritten while we read it has no
    // single content to verify against: read it again. A source whose reads
    // are pinned to one version only has to have the size expected.
    if (pinned) {
      if (total != size) {
        return Status::Unavailable(
            fmt::format("the source changed since it was listed ({} bytes read, {} expected)", total, size));
      }
    } else {
      Result<EntryInfo> after = src_.Stat(src_path);
      if (!after.ok()) return after.status();
      if (total != size || after.value().size != size || after.value().mtime_ns != before.value().mtime_ns) {
        return Status::Unavailable(fmt::format("the source changed while it was read ({} bytes read, {} expected)",
                                               total, after.value().size));
      }
    }

    if (Status v = Verify(digest, total); !v.ok()) return v;
    if (Status a = SetAttributes(before.value()); !a.ok()) return a;
    if (tmp_ != action_.path) {
      if (Status n = dst_.Rename(tmp_, action_.path); !n.ok()) return n;
    }
    r_.hash = digest;
    return Status::Ok();
  }

  // mtime, mode and (--owners) uid/gid on the finished file, in one call the
  // endpoint may send as one request. A refused owner is retried without it
  // and reported as a warning.
  Status SetAttributes(const EntryInfo& source) {
    FileAttributes attrs;
    if (caps_.settable_times) attrs.mtime_ns = source.mtime_ns;
    if (source.mode.has_value() && caps_.modes) attrs.mode = *source.mode & 07777;
    const bool owner = o_.owners && caps_.owners && source.uid.has_value() && source.gid.has_value();
    if (owner) {
      attrs.uid = source.uid;
      attrs.gid = source.gid;
    }
    if (!attrs.mtime_ns && !attrs.mode && !attrs.uid) return Status::Ok();
    Status s = dst_.SetAttributes(tmp_, attrs);
    if (s.code() != ErrorCode::kPermissionDenied || !owner) return s;
    r_.warning = fmt::format("owner {}:{} not kept: {}", *source.uid, *source.gid, s.message());
    attrs.uid.reset();
    attrs.gid.reset();
    if (!attrs.mtime_ns && !attrs.mode) return Status::Ok();
    return dst_.SetAttributes(tmp_, attrs);
  }

  Status Sent(WriteStream& out, std::string_view chunk, uint64_t& total) {
    if (o_.limiter != nullptr) o_.limiter->Acquire(chunk.size());
    if (Status w = out.Write(chunk); !w.ok()) return w;
    total += chunk.size();
    r_.bytes_written += chunk.size();
    Progress(chunk.size());
    return Status::Ok();
  }

  // Small files: one thread, no hand-off.
  Status SimpleCopy(ReadStream& in, Hasher& hasher, WriteStream& out, uint64_t& total) {
    for (;;) {
      if (Status c = Cancelled(o_); !c.ok()) return c;
      Result<size_t> n = in.Read(buf_);
      if (!n.ok()) return n.status();
      if (n.value() == 0) return Status::Ok();
      const std::string_view chunk(buf_.data(), n.value());
      hasher.Update(chunk);
      if (Status w = Sent(out, chunk, total); !w.ok()) return w;
    }
  }

  // Larger files: a reader thread reads and hashes while this one writes
  // (chunk_pipe.h says why).
  Status PipelinedCopy(ReadStream& in, Hasher& hasher, WriteStream& out, uint64_t& total) {
    ChunkPipe pipe(kPipeDepth, buf_.size());
    std::thread reader([&] {
      for (;;) {
        if (Status c = Cancelled(o_); !c.ok()) return pipe.Close(c);
        std::optional<ChunkPipe::Chunk> chunk = pipe.TakeEmpty();
        if (!chunk.has_value()) return;
        Result<size_t> n = in.Read(chunk->buf);
        if (!n.ok()) return pipe.Close(n.status());
        if (n.value() == 0) return pipe.Close(Status::Ok());
        chunk->size = n.value();
        hasher.Update(std::string_view(chunk->buf.data(), chunk->size));
        pipe.PutFull(std::move(*chunk));
      }
    });
    Status written;
    while (std::optional<ChunkPipe::Chunk> chunk = pipe.TakeFull()) {
      written = Sent(out, std::string_view(chunk->buf.data(), chunk->size), total);
      pipe.GiveBack(std::move(*chunk));
      if (!written.ok()) {
        pipe.Close(written);
        break;
      }
    }
    reader.join();
    if (!written.ok()) return written;
    return pipe.status();
  }

  // Compares a partial file left by an earlier run with the source's first
  // bytes, feeding the source bytes to `hasher`; how many to keep (0: none).
  Result<uint64_t> VerifyPrefix(ReadStream& in, Hasher& hasher, uint64_t size) {
    prefix_read_ = 0;
    source_consumed_ = false;
    Result<EntryInfo> partial = dst_.Stat(tmp_);
    if (!partial.ok()) {
      return partial.status().code() == ErrorCode::kNotFound ? Result<uint64_t>(uint64_t{0}) : partial.status();
    }
    const uint64_t have = partial.value().size;
    if (partial.value().type != EntryType::kFile || have == 0 || have > size) return uint64_t{0};
    Result<std::unique_ptr<ReadStream>> back = dst_.OpenRead(tmp_, 0);
    if (!back.ok()) return back.status();
    source_consumed_ = true;
    while (prefix_read_ < have) {
      if (Status c = Cancelled(o_); !c.ok()) return c;
      const size_t want = static_cast<size_t>(std::min<uint64_t>(buf_.size(), have - prefix_read_));
      Result<size_t> a = ReadFull(in, std::span<char>(buf_.data(), want));
      if (!a.ok()) return a.status();
      Result<size_t> b = ReadFull(*back.value(), std::span<char>(back_.data(), want));
      if (!b.ok()) return b.status();
      if (a.value() != want || b.value() != want || std::memcmp(buf_.data(), back_.data(), want) != 0) {
        r_.resumed_from = 0;
        return uint64_t{0};
      }
      hasher.Update(std::string_view(buf_.data(), want));
      prefix_read_ += want;
    }
    r_.resumed_from = have;
    Progress(have);
    return have;
  }

  Status Verify(const std::string& digest, uint64_t total) {
    Result<std::string> server = dst_.ServerHash(tmp_, HashName(o_.hash));
    if (server.ok()) {
      r_.verified_by = "server-hash";
      if (server.value() != digest) {
        return Status::Corrupt(
            fmt::format("the destination's {} is {}, the source's {}", HashName(o_.hash), server.value(), digest));
      }
      return Status::Ok();
    }
    if (server.status().code() != ErrorCode::kUnsupported) return server.status();
    if (o_.verify == VerifyMode::kReadback) {
      r_.verified_by = "readback";
      Result<std::string> landed = HashStored(dst_, tmp_, o_, nullptr);
      if (!landed.ok()) return landed.status();
      if (landed.value() != digest) {
        return Status::Corrupt(fmt::format("read back, the destination's {} is {}, the source's {}", HashName(o_.hash),
                                           landed.value(), digest));
      }
      return Status::Ok();
    }
    r_.verified_by = "size";
    Result<EntryInfo> landed = dst_.Stat(tmp_);
    if (!landed.ok()) return landed.status();
    if (landed.value().size != total) {
      return Status::Corrupt(
          fmt::format("the destination holds {} bytes, {} were written", landed.value().size, total));
    }
    return Status::Ok();
  }

  Endpoint& src_;
  Endpoint& dst_;
  const Action& action_;
  const CopyOptions& o_;
  FileResult& r_;
  const EndpointCapabilities caps_;
  const std::string tmp_;
  std::vector<char> buf_;
  std::vector<char> back_;
  uint64_t prefix_read_ = 0;
  bool source_consumed_ = false;  // VerifyPrefix read from the source stream
  uint64_t attempt_bytes_ = 0;
};

// --checksum: the same content on both sides needs no copy.
Result<bool> SameContent(Endpoint& source, Endpoint& dest, const Action& action, const CopyOptions& o, FileResult& r) {
  Result<std::string> a = HashStored(source, SourcePath(action), o, nullptr);
  if (!a.ok()) return a.status();
  Result<std::string> b = HashStored(dest, action.path, o, nullptr);
  if (!b.ok()) return b.status();
  if (a.value() != b.value()) return false;
  r.hash = a.value();
  r.verified_by = "content";
  return true;
}

}  // namespace

const char* FileOutcomeName(FileOutcome outcome) {
  switch (outcome) {
    case FileOutcome::kCopied:
      return "copied";
    case FileOutcome::kUpToDate:
      return "up-to-date";
    case FileOutcome::kFailed:
      return "failed";
    case FileOutcome::kCancelled:
      return "cancelled";
  }
  return "?";
}

FileResult CopyFile(Endpoint& source, Endpoint& dest, const Action& action, const CopyOptions& options) {
  const Clock::time_point start = Clock::now();
  FileResult r;
  r.size = action.source.size;
  auto finish = [&](FileOutcome outcome, std::string error) {
    r.outcome = outcome;
    r.error = std::move(error);
    r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return r;
  };

  Backoff backoff(options.retry_base, options.retry_cap);
  bool mismatch_retried = false;
  // Look for a partial file only where the planner saw one, or after an
  // attempt of ours may have left one.
  const EndpointCapabilities dest_caps = dest.capabilities();
  const bool resumable = options.resume && (!dest_caps.atomic_writes || dest_caps.resumable_uploads);
  bool allow_resume = resumable && action.partial_seen;
  bool compare = action.compare_content;
  for (;;) {
    ++r.attempts;
    Status s;
    if (compare) {
      Result<bool> same = SameContent(source, dest, action, options, r);
      if (same.ok() && same.value()) {
        if (options.on_bytes) options.on_bytes(static_cast<int64_t>(action.source.size));
        return finish(FileOutcome::kUpToDate, "");
      }
      s = same.status();
      if (s.ok()) compare = false;
    }
    if (s.ok()) {
      FileCopy copy(source, dest, action, options, r);
      s = copy.Attempt(allow_resume, /*trust_listing=*/r.attempts == 1);
      if (s.ok()) return finish(FileOutcome::kCopied, "");
      if (s.code() == ErrorCode::kCorrupt) {
        copy.DiscardPartial();
        allow_resume = false;
        if (!mismatch_retried) {
          mismatch_retried = true;
          continue;
        }
      }
    }
    if (s.code() == ErrorCode::kCancelled) return finish(FileOutcome::kCancelled, s.message());
    if (s.code() != ErrorCode::kCorrupt) allow_resume = resumable;
    if (!Transient(s) || r.attempts > options.retries) {
      return finish(FileOutcome::kFailed,
                    r.attempts > 1 ? fmt::format("{} (after {} attempts)", s.message(), r.attempts) : s.message());
    }
    std::this_thread::sleep_for(backoff.Next());
  }
}

Status CopySymlink(Endpoint& dest, const Action& action) {
  const std::string tmp =
      JoinPath(ParentOf(action.path), PartialName(NameOf(action.path), dest.capabilities().max_name_bytes));
  (void)dest.Remove(tmp);
  if (Status s = dest.Symlink(action.source.link_target, tmp); !s.ok()) return s;
  return dest.Rename(tmp, action.path);
}

}  // namespace sluice::transfer
