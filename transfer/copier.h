// The copier: moves one file from a source endpoint to a destination
// endpoint, verified end to end, resumable, retried.
//
// The guarantee, per file:
//  - The bytes go to a temporary name in the destination directory
//    (PartialName); only a verified, durable (WriteStream::Close) file with
//    its mtime and mode set is renamed to its final name, so a partial or
//    corrupt file never appears under the final name.
//  - The content hash is computed over the bytes as they are read from the
//    source, and what landed is checked against it: the destination's own
//    hash where it has one (Endpoint::ServerHash), else by reading the file
//    back under --verify=readback, else by its size.
//  - Resume trusts nothing: a temporary file left by an interrupted run is
//    compared byte for byte with the source's prefix before the copy
//    continues after it; any difference restarts from zero. An endpoint with
//    atomic writes and resumable uploads (S3) is instead handed every byte
//    again and keeps the stored parts that match them (Endpoint::OpenUpload).
//  - Transient errors (kUnavailable, kIo) are retried with exponential
//    backoff and full jitter, up to `retries` times; a verification mismatch
//    is retried once, from zero; anything else fails the file at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "transfer/endpoint.h"
#include "transfer/hash.h"
#include "transfer/plan.h"
#include "transfer/rate_limiter.h"

namespace sluice::transfer {

enum class VerifyMode {
  kAuto,      // the destination's hash where it has one, else the size
  kReadback,  // the destination's hash where it has one, else read it back and hash it
};

struct CopyOptions {
  HashAlgorithm hash = HashAlgorithm::kSha256;
  VerifyMode verify = VerifyMode::kAuto;
  bool resume = true;
  int retries = 3;
  std::chrono::milliseconds retry_base{500};
  std::chrono::milliseconds retry_cap{30000};
  size_t buffer_bytes = 1 << 20;
  // --owners: the source's uid/gid set on the copy where both endpoints keep
  // owners; a refusal (not root, root squashed) is a warning, not a failure.
  bool owners = false;
  RateLimiter* limiter = nullptr;             // --bwlimit, shared by the workers
  const std::atomic<bool>* cancel = nullptr;  // set: stop between chunks (kCancelled)
  std::function<void(int64_t)> on_bytes;      // progress: bytes moved (negative: taken back on a retry)
};

enum class FileOutcome { kCopied, kUpToDate, kFailed, kCancelled };
const char* FileOutcomeName(FileOutcome outcome);

struct FileResult {
  FileOutcome outcome = FileOutcome::kFailed;
  uint64_t size = 0;           // the file's size as copied
  uint64_t bytes_written = 0;  // bytes sent to the destination (less than size after a resume)
  uint64_t resumed_from = 0;   // the verified prefix kept from an earlier run
  std::string hash;            // hex digest of the content (CopyOptions::hash)
  std::string verified_by;     // "server-hash", "readback", "size", "content" (up to date by --checksum)
  int attempts = 0;
  std::chrono::milliseconds duration{0};
  std::string error;    // kFailed: what and where
  std::string warning;  // copied, but something was not kept (the owner refused)
};

// Executes a kCopyFile action (compare_content first when it asks).
FileResult CopyFile(Endpoint& source, Endpoint& dest, const Action& action, const CopyOptions& options);

// Executes a kSymlink action: the link is made under a temporary name and
// renamed over the final one.
Status CopySymlink(Endpoint& dest, const Action& action);

}  // namespace sluice::transfer
