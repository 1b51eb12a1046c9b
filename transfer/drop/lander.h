// Copies one inbox file to a temporary name beside where it will land, as the
// drop's first step: hashed while it streams (SHA-256 of the source bytes,
// and MD5 when an .md5 sidecar is to be checked), decompressed on the way
// when asked, closed durably, then verified (the destination's own hash, a
// read-back, or the size). It never renames: the runner does that once the
// ledger has recorded the copy, so the final name appears exactly once.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "core/status.h"
#include "transfer/drop/drop_config.h"
#include "transfer/endpoint.h"

namespace sluice::transfer::drop {

struct LandRequest {
  std::string source_path;
  uint64_t size = 0;  // as listed; the copy must read exactly this much
  int64_t mtime_ns = 0;
  std::string temp_path;  // in the destination
  bool decompress = false;
  bool md5 = false;
  VerifyLanded verify = VerifyLanded::kReadback;
  const std::atomic<bool>* cancel = nullptr;
};

struct LandResult {
  // Ok, or why not. kCorrupt: the content is bad (corrupt compressed data),
  // quarantine it. kAborted-like outcomes are flagged below.
  Status status;
  // The source is not the file that was listed any more (size or mtime
  // changed, or it is gone): nothing is wrong, it is simply not complete.
  bool source_changed = false;
  std::string sha256;  // of the source bytes
  std::string md5;     // of the source bytes, when asked
  uint64_t landed_bytes = 0;
  std::string verified_by;  // "server-hash", "readback", "size"
};

LandResult CopyToTemp(Endpoint& source, Endpoint& dest, const LandRequest& request);

// The temporary path a landed file is written under: its PartialName in the
// same directory.
std::string TempPathFor(std::string_view landed_path, size_t max_name_bytes);

// Reads a small file (a sidecar) whole; kInvalidArgument when it is larger
// than `limit`.
Result<std::string> ReadSmallFile(Endpoint& ep, std::string_view path, size_t limit);
// Writes `content` to `path` through a temporary name and a rename.
Status WriteSmallFile(Endpoint& ep, std::string_view path, std::string_view content);

}  // namespace sluice::transfer::drop
