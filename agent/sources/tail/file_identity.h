// Who a tailed file is, and what the tail source remembers about it.
//
// A file is identified by (st_dev, st_ino) plus a fingerprint: a hash of its
// first min(size, fingerprint_bytes) bytes, stored with the length used. The
// inode number alone is not enough because file systems reuse inode numbers:
// a file whose dev+ino matches a checkpoint but whose first bytes differ is a
// different file (or the same one truncated and rewritten) and is read from 0.
//
// FileCheckpoint is the value stored under FileKey(id) in the buffer's
// checkpoint table, as a small JSON object (format version 1):
//   {"v":1,"path":"/var/log/app.log","seen":"/var/log/app.log.1","dev":2049,
//    "ino":1234,"fp_len":1024,"fp":"9f2c...","offset":4096,"mid":false,"size":5000}
//  path    the path the file was discovered under (the records' "path")
//  seen    where it was last seen (where to look for it after a restart)
//  offset  the end of the last record committed with this checkpoint
//  mid     whether offset falls inside a line (after a split part)
//  size    the file size when the checkpoint was written (to report loss)
// A path that is not valid UTF-8 is stored as "path_b64" / "seen_b64".
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

struct FileId {
  uint64_t dev = 0;
  uint64_t ino = 0;
  auto operator<=>(const FileId&) const = default;
};

// The checkpoint key of a tracked file: "file:<dev>:<ino>".
std::string FileKey(FileId id);
// The key marking that the source has started once (start_at no longer applies).
inline constexpr std::string_view kStartedKey = "started";

struct Fingerprint {
  uint32_t len = 0;   // bytes hashed
  uint64_t hash = 0;  // FNV-1a 64 of those bytes
  bool operator==(const Fingerprint&) const = default;
};

// The fingerprint of the fp.len bytes it covers followed by `more` (FNV-1a
// is incremental, so bytes read while tailing extend it without a pread).
Fingerprint ExtendFingerprint(Fingerprint fp, std::string_view more);

// Hashes the first min(size, max_len) bytes of the open file `fd`.
Result<Fingerprint> ComputeFingerprint(int fd, uint64_t size, uint32_t max_len);

enum class FingerprintCheck {
  kSame,     // the first fp.len bytes are unchanged
  kShorter,  // the file is now shorter than fp.len (truncated)
  kChanged,  // the first fp.len bytes differ (rewritten, or another file)
};
Result<FingerprintCheck> CheckFingerprint(int fd, const Fingerprint& fp);

struct FileCheckpoint {
  std::string path;
  std::string seen;
  FileId id;
  Fingerprint fp;
  uint64_t offset = 0;
  bool mid_line = false;
  uint64_t size = 0;
};

std::string EncodeCheckpoint(const FileCheckpoint& cp);
Result<FileCheckpoint> DecodeCheckpoint(std::string_view json);

// Looks in directory `dir` for an entry whose inode is id.ino (readdir's
// d_ino, confirmed by stat for the device): where a rotated file went when
// it was renamed to a name the globs do not match.
std::optional<std::string> FindByInode(const std::string& dir, FileId id);

// Regular files in `dir` holding at least min_size bytes whose first fp.len
// bytes match `fp`, newest (mtime) first: the copy that copytruncate made of
// a file before truncating it.
struct FileCopy {
  std::string path;
  FileId id;
};
std::vector<FileCopy> FindCopies(const std::string& dir, const Fingerprint& fp, uint64_t min_size);

// The directory part of a path ("." when there is none).
std::string DirName(std::string_view path);

}  // namespace sluice
