// An Endpoint is one side of a transfer: a tree of files under a root (a local
// directory, an SFTP path, an SMB share, an S3 prefix), addressed by relative
// paths with '/' separators, "" being the root itself. The planner and the
// copier talk to every endpoint through this interface only, and every
// implementation passes the one conformance suite
// (tests/support/endpoint_conformance.h), as rclone's fstests do.
//
// Invariants every implementation keeps:
//  - Paths are relative and never escape the root: a path with an empty,
//    "." or ".." component, or a leading '/', is refused (kInvalidArgument).
//  - Stat does not follow symlinks (an entry is reported as the link).
//  - Rename replaces an existing file at the target in one step where the
//    storage can (the copier relies on it: a partial file never appears under
//    its final name). The new names are durable after Flush().
//  - A WriteStream is durable once Close() returns Ok (fsync or the remote's
//    equivalent); destroying it without Close() leaves what was written, which
//    resume verifies before trusting.
//  - Thread-safe: the copier's workers call one endpoint at once; streams are
//    used by one thread at a time.
//  - Errors are Status values: kNotFound, kPermissionDenied (not worth a
//    retry), kUnavailable (connection lost: retry), kUnsupported (the endpoint
//    lacks the operation), kNoSpace, kIo.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::transfer {

enum class EntryType { kFile, kDirectory, kSymlink, kOther };

struct EntryInfo {
  std::string name;  // the last path component (List) or the path given (Stat)
  EntryType type = EntryType::kOther;
  uint64_t size = 0;
  int64_t mtime_ns = 0;          // modification time, ns since the epoch (endpoint precision)
  std::optional<uint32_t> mode;  // permission bits (07777) where the endpoint has them
  std::string link_target;       // kSymlink: where it points, as stored
  // Numeric owner and group where the endpoint reports them (capabilities().owners).
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

// What the copier sets on a finished file, in one call so an endpoint can send
// it as one request (SFTP SETSTAT, NFS SETATTR): each part that is set.
struct FileAttributes {
  std::optional<int64_t> mtime_ns;
  std::optional<uint32_t> mode;  // 07777
  std::optional<uint32_t> uid;   // uid and gid are set together
  std::optional<uint32_t> gid;
};

struct EndpointCapabilities {
  bool modes = false;               // SetMode and EntryInfo::mode
  bool owners = false;              // SetOwner and EntryInfo::uid/gid (numeric)
  bool symlinks = false;            // Symlink and kSymlink entries
  bool case_insensitive = false;    // "A" and "a" are the same name (SMB, some S3 gateways)
  bool normalizes_unicode = false;  // NFC and NFD forms of a name are the same name
  int64_t mtime_precision_ns = 1;   // what SetTimes keeps (1 s on some servers)
  size_t max_name_bytes = 255;      // one path component
  // SetTimes keeps what it is given. Without it (S3: an object's time is
  // when it was stored) SetTimes is kUnsupported, and a destination file is
  // up to date when it is the same size and not older than the source's.
  bool settable_times = true;
  // A file being written appears under its name only once Close() returns Ok,
  // whole (an S3 PUT or completed multipart upload): the copier writes to the
  // final name directly, with no partial name, rename or resume.
  bool atomic_writes = false;
  // With atomic_writes: OpenUpload can continue an upload an interrupted run
  // left (S3 multipart, part by part), so the copier asks it to resume where
  // the planner saw the file's partial name.
  bool resumable_uploads = false;
  // A directory exists while anything is under it (S3 prefixes): files can be
  // written under a path whose directories were never made. MakeDirectory
  // still makes an empty one that Stat and List see.
  bool implicit_directories = false;
  // A ReadStream delivers one version of the file, whole, or fails: it cannot
  // mix bytes of two versions (S3: every range is pinned to the ETag the
  // first answer had). The copier then trusts the listing's size and time
  // instead of a Stat before and after reading each file.
  bool versioned_reads = false;
};

class ReadStream {
 public:
  virtual ~ReadStream() = default;
  // Reads up to buf.size() bytes; 0 at the end of the file.
  virtual Result<size_t> Read(std::span<char> buf) = 0;
};

class WriteStream {
 public:
  virtual ~WriteStream() = default;
  virtual Status Write(std::string_view data) = 0;
  // Makes what was written durable and closes. Ok means it is all stored.
  virtual Status Close() = 0;
  // After Close: bytes that were stored without being sent again, because
  // an earlier, interrupted upload already held them, verified (OpenUpload).
  virtual uint64_t reused_bytes() const { return 0; }
};

class Endpoint {
 public:
  virtual ~Endpoint() = default;

  // For messages and reports: the URL it was opened with.
  virtual const std::string& url() const = 0;
  virtual EndpointCapabilities capabilities() const = 0;

  virtual Result<EntryInfo> Stat(std::string_view path) = 0;
  // The entries of directory `dir` (not recursive, no "." or ".."), in no
  // particular order; `each` returning an error stops the listing with it.
  virtual Status List(std::string_view dir, const std::function<Status(const EntryInfo&)>& each) = 0;

  virtual Result<std::unique_ptr<ReadStream>> OpenRead(std::string_view path, uint64_t offset) = 0;
  // Creates or opens `path` for writing at `offset`: the file is cut to
  // `offset` bytes first (0: truncated; >0: resume after a verified prefix).
  virtual Result<std::unique_ptr<WriteStream>> OpenWrite(std::string_view path, uint64_t offset) = 0;

  // An endpoint with atomic_writes: opens `path` for writing the file
  // `source` describes (its size and mtime). With `resume` and
  // capabilities().resumable_uploads, an upload of this same file an earlier
  // run left is continued, its stored pieces verified against the bytes
  // written (WriteStream::reused_bytes says how much was kept). Default:
  // OpenWrite(path, 0).
  virtual Result<std::unique_ptr<WriteStream>> OpenUpload(std::string_view path, const EntryInfo& source, bool resume) {
    (void)source;
    (void)resume;
    return OpenWrite(path, 0);
  }

  virtual Status Rename(std::string_view from, std::string_view to) = 0;
  // A file, a symlink, or an empty directory.
  virtual Status Remove(std::string_view path) = 0;
  // Creates `path` and its missing parents; an existing directory is fine.
  virtual Status MakeDirectory(std::string_view path) = 0;
  virtual Status SetTimes(std::string_view path, int64_t mtime_ns) = 0;
  virtual Status SetMode(std::string_view path, uint32_t mode) = 0;  // kUnsupported without capabilities().modes
  virtual Status Symlink(std::string_view target, std::string_view path) = 0;  // kUnsupported without symlinks
  // Numeric owner and group, on the entry itself (not a symlink's target).
  // kUnsupported without capabilities().owners; kPermissionDenied where the
  // destination refuses (not root, root squashed), which the copier reports
  // as a warning.
  virtual Status SetOwner(std::string_view path, uint32_t uid, uint32_t gid) {
    (void)path;
    (void)uid;
    (void)gid;
    return Status::Unsupported("owners are not kept by " + url());
  }
  // Sets what `attrs` holds on `path`, a regular file (or, with no mode, a
  // directory: the engine's last phase sets new directories' mtime and owner
  // through it). Default: SetOwner,
  // SetMode and SetTimes in turn (owner first: a chown clears set-id bits).
  // An endpoint whose protocol sets them all in one request overrides it, so
  // the owner costs no round trip of its own. A kPermissionDenied may have
  // left any part unset: the copier calls it again without the owner.
  virtual Status SetAttributes(std::string_view path, const FileAttributes& attrs);

  // Makes the renames, removals and new directories so far durable (one
  // fsync per touched directory locally). Renames are atomic without it: a
  // crash before it leaves each finished file under its final name or under
  // its partial name, complete and fsynced, which the next run's resume
  // verifies and renames. So the engine calls it once at the end, before it
  // reports success, instead of a directory fsync per file. Default: nothing
  // to do (a remote whose protocol cannot sync directories).
  virtual Status Flush() { return Status::Ok(); }

  // The hash of a stored file computed where it is stored, in the copier's
  // hex form for `algorithm` ("sha256", "xxh128", "crc64nvme"), so the copier
  // can verify without reading the file back. kUnsupported where the storage
  // has none (the default): the copier re-reads instead.
  virtual Result<std::string> ServerHash(std::string_view path, std::string_view algorithm) {
    (void)path;
    return Status::Unsupported(std::string(algorithm) + " hashes are not computed by this endpoint");
  }
};

// Checks a relative endpoint path (see the invariants above); the problem, or
// an empty string when it is fine.
std::string RelativePathProblem(std::string_view path);

// "a/b" + "c" -> "a/b/c"; "" + "c" -> "c".
std::string JoinPath(std::string_view dir, std::string_view name);

// MakeDirectory's semantics for a protocol that makes one level at a time:
// `mkdir` makes one directory whose parent exists; `is_directory` says
// whether an existing entry is one (kNotFound when there is none). A missing
// parent is made first; a directory that exists (or that another thread made
// meanwhile) is fine; a file in the way is kInvalidArgument naming `where`.
Status MakeDirectoryPath(const std::string& path, const std::function<Status(const std::string&)>& mkdir,
                         const std::function<Result<bool>(const std::string&)>& is_directory,
                         const std::function<std::string(const std::string&)>& where);

}  // namespace sluice::transfer
