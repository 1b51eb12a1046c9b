#include "transfer/drop/lander.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <span>
#include <vector>

#include "transfer/drop/decompress.h"
#include "transfer/drop/landing.h"
#include "transfer/drop/sidecar.h"
#include "transfer/hash.h"
#include "transfer/planner.h"
#include "transfer/rel_path.h"

namespace sluice::transfer::drop {
namespace {

constexpr size_t kBuffer = 1 << 20;

// A read buffer for a file of `expected` bytes: one byte more, so that one read
// can see the end, up to kBuffer. Left uninitialized: a zeroed megabyte per read
// pass was a tenth of the drop's CPU time at 16 KiB a file.
class ReadBuffer {
 public:
  explicit ReadBuffer(uint64_t expected)
      : size_(static_cast<size_t>(std::min<uint64_t>(expected + 1, kBuffer))),
        data_(std::make_unique_for_overwrite<char[]>(size_)) {}
  std::span<char> span() { return {data_.get(), size_}; }
  const char* data() const { return data_.get(); }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;
};

Status Cancelled(const LandRequest& r) {
  if (r.cancel != nullptr && r.cancel->load(std::memory_order_relaxed)) return Status::Cancelled("stopping");
  return Status::Ok();
}

// The SHA-256 of a stored file: the endpoint's own, else read back.
Result<std::string> HashStored(Endpoint& ep, const std::string& path, uint64_t size, const LandRequest& r,
                               std::string* how) {
  Result<std::string> server = ep.ServerHash(path, "sha256");
  if (server.ok() || server.status().code() != ErrorCode::kUnsupported) {
    *how = "server-hash";
    return server;
  }
  *how = "readback";
  Result<std::unique_ptr<ReadStream>> in = ep.OpenRead(path, 0);
  if (!in.ok()) return in.status();
  std::unique_ptr<Hasher> h = Hasher::Create(HashAlgorithm::kSha256);
  ReadBuffer buf(size);
  for (;;) {
    if (Status c = Cancelled(r); !c.ok()) return c;
    Result<size_t> n = in.value()->Read(buf.span());
    if (!n.ok()) return n.status();
    if (n.value() == 0) break;
    h->Update(std::string_view(buf.data(), n.value()));
  }
  return h->HexDigest();
}

}  // namespace

std::string TempPathFor(std::string_view landed_path, size_t max_name_bytes) {
  const size_t slash = landed_path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? landed_path : landed_path.substr(slash + 1);
  return JoinPath(ParentOf(landed_path), PartialName(name, max_name_bytes));
}

LandResult CopyToTemp(Endpoint& source, Endpoint& dest, const LandRequest& r) {
  LandResult out;
  auto fail = [&](Status s) {
    out.status = std::move(s);
    return out;
  };
  Result<std::unique_ptr<ReadStream>> in = source.OpenRead(r.source_path, 0);
  if (!in.ok()) {
    if (in.status().code() == ErrorCode::kNotFound) out.source_changed = true;
    return fail(in.status());
  }
  // Where directories are key prefixes (S3), making one would only leave a marker object in the lake.
  if (!dest.capabilities().implicit_directories) {
    if (Status s = dest.MakeDirectory(ParentOf(r.temp_path)); !s.ok()) return fail(s);
  }
  Result<std::unique_ptr<WriteStream>> w = dest.OpenWrite(r.temp_path, 0);
  if (!w.ok()) return fail(w.status());

  std::unique_ptr<Hasher> sha = Hasher::Create(HashAlgorithm::kSha256);
  std::unique_ptr<Hasher> md5 = r.md5 ? MakeMd5Hasher() : nullptr;
  std::unique_ptr<Decompressor> dec =
      r.decompress ? Decompressor::ForSuffix(CompressionSuffix(r.source_path)) : nullptr;
  // What is written differs from what is read only when decompressing; otherwise
  // the source's digest is the landed file's and hashing it twice costs a core.
  std::unique_ptr<Hasher> landed_sha = dec ? Hasher::Create(HashAlgorithm::kSha256) : nullptr;
  const Decompressor::Output write = [&](std::string_view piece) -> Status {
    if (landed_sha) landed_sha->Update(piece);
    out.landed_bytes += piece.size();
    return w.value()->Write(piece);
  };

  ReadBuffer buf(r.size);
  uint64_t read = 0;
  for (;;) {
    if (Status c = Cancelled(r); !c.ok()) return fail(c);
    Result<size_t> n = in.value()->Read(buf.span());
    if (!n.ok()) return fail(n.status());
    if (n.value() == 0) break;
    const std::string_view piece(buf.data(), n.value());
    read += piece.size();
    if (read > r.size) break;  // it grew: not the file that was listed
    sha->Update(piece);
    if (md5) md5->Update(piece);
    if (Status s = dec ? dec->Feed(piece, write) : write(piece); !s.ok()) {
      return fail(s.code() == ErrorCode::kCorrupt ? Status::Corrupt(fmt::format("{}: {}", r.source_path, s.message()))
                                                  : s);
    }
  }
  in.value().reset();
  // The file must still be the one that was listed: same size, same mtime.
  Result<EntryInfo> now = source.Stat(r.source_path);
  if (!now.ok() && now.status().code() != ErrorCode::kNotFound) return fail(now.status());
  if (!now.ok() || read != r.size || now.value().size != r.size || now.value().mtime_ns != r.mtime_ns) {
    out.source_changed = true;
    (void)w.value()->Close();
    (void)dest.Remove(r.temp_path);
    return fail(Status::Unavailable(
        fmt::format("{}: changed while it was copied ({} bytes listed, {} read)", r.source_path, r.size, read)));
  }
  if (dec) {
    if (Status s = dec->Finish(); !s.ok())
      return fail(Status::Corrupt(fmt::format("{}: {}", r.source_path, s.message())));
  }
  if (Status s = w.value()->Close(); !s.ok()) return fail(s);
  out.sha256 = sha->HexDigest();
  if (md5) out.md5 = md5->HexDigest();
  const std::string expected = landed_sha ? landed_sha->HexDigest() : out.sha256;

  // Verify what is stored under the temporary name.
  Result<EntryInfo> stored = dest.Stat(r.temp_path);
  if (!stored.ok()) return fail(stored.status());
  if (stored.value().size != out.landed_bytes) {
    return fail(
        Status::Io(fmt::format("{}: {} bytes stored, {} written", r.temp_path, stored.value().size, out.landed_bytes)));
  }
  out.verified_by = "size";
  if (r.verify == VerifyLanded::kReadback) {
    Result<std::string> got = HashStored(dest, r.temp_path, out.landed_bytes, r, &out.verified_by);
    if (!got.ok()) return fail(got.status());
    if (got.value() != expected) {
      return fail(Status::Io(fmt::format("{}: stored content differs from what was written (sha256 {} != {})",
                                         r.temp_path, got.value(), expected)));
    }
  }
  out.status = Status::Ok();
  return out;
}

Result<std::string> ReadSmallFile(Endpoint& ep, std::string_view path, size_t limit) {
  Result<std::unique_ptr<ReadStream>> in = ep.OpenRead(path, 0);
  if (!in.ok()) return in.status();
  std::string content;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    Result<size_t> n = in.value()->Read(buf);
    if (!n.ok()) return n.status();
    if (n.value() == 0) break;
    content.append(buf.data(), n.value());
    if (content.size() > limit) {
      return Status::InvalidArgument(fmt::format("{}: larger than {} bytes", path, limit));
    }
  }
  return content;
}

Status WriteSmallFile(Endpoint& ep, std::string_view path, std::string_view content) {
  const std::string temp = TempPathFor(path, ep.capabilities().max_name_bytes);
  if (!ep.capabilities().implicit_directories) {
    if (Status s = ep.MakeDirectory(ParentOf(path)); !s.ok()) return s;
  }
  Result<std::unique_ptr<WriteStream>> w = ep.OpenWrite(temp, 0);
  if (!w.ok()) return w.status();
  if (Status s = w.value()->Write(content); !s.ok()) return s;
  if (Status s = w.value()->Close(); !s.ok()) return s;
  return ep.Rename(temp, path);
}

}  // namespace sluice::transfer::drop
