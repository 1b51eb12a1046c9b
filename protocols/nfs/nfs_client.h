// One libnfs context (nfs_context) mounted on one export path: the
// synchronous libnfs calls, with paths relative to the mounted path, results
// as Status values naming the nfs:// URL.
//
// Thread-safety (libnfs's limits): a context and the file handles it opened
// are used by one thread at a time; separate contexts in separate threads
// are safe (libnfs keeps no global state). So an NfsClient is lent to one
// thread at a time (core/util/lease_pool.h).
//
// Automatic reconnection is off: a lost connection is an error
// (kUnavailable, and broken() is set so the pool drops this context), and
// the copier's retry resumes on a fresh context rather than libnfs retrying
// forever underneath it. A broken context is closed but not freed (a libnfs
// 4.0 bug: see the destructor), so each lost connection leaves a few KiB.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "core/status.h"
#include "protocols/nfs/nfs_url.h"

struct nfs_context;
struct nfsfh;

namespace sluice::nfs {

struct NfsAttrs {
  uint32_t mode = 0;  // type and permission bits (S_IFMT | 07777)
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t uid = 0, gid = 0;
};

class NfsClient;

// An open file, closed by its destructor; used by the thread holding the client.
class NfsFile {
 public:
  NfsFile(NfsClient* client, struct nfsfh* fh) : client_(client), fh_(fh) {}
  NfsFile(NfsFile&& o) noexcept : client_(o.client_), fh_(std::exchange(o.fh_, nullptr)) {}
  NfsFile& operator=(NfsFile&&) = delete;
  NfsFile(const NfsFile&) = delete;
  ~NfsFile() { (void)Close({}); }
  struct nfsfh* get() const {
    return fh_;
  }
  Status Close(std::string_view what);

 private:
  NfsClient* client_;
  struct nfsfh* fh_;
};

class NfsClient {
 public:
  // Connects and mounts url.path; kNotFound when the path does not exist.
  static Result<std::unique_ptr<NfsClient>> Connect(const NfsUrl& url, std::chrono::milliseconds timeout);
  explicit NfsClient(struct nfs_context* ctx) : ctx_(ctx) {}
  ~NfsClient();
  NfsClient(const NfsClient&) = delete;
  NfsClient& operator=(const NfsClient&) = delete;

  // `rel` is relative to the mounted path ("" for the path itself); `what`
  // names it in messages. Lstat does not follow a symlink; Stat does.
  Result<NfsAttrs> Lstat(std::string_view rel, const std::string& what);
  Result<NfsAttrs> Stat(std::string_view rel, const std::string& what);
  Result<NfsFile> Open(std::string_view rel, int flags, const std::string& what);
  Result<NfsAttrs> Fstat(const NfsFile& f, const std::string& what);
  Result<size_t> Pread(const NfsFile& f, uint64_t offset, std::span<char> buf, const std::string& what);
  Status Pwrite(const NfsFile& f, uint64_t offset, std::string_view data, const std::string& what);
  Status Fsync(const NfsFile& f, const std::string& what);
  Status Ftruncate(const NfsFile& f, uint64_t size, const std::string& what);
  // Each entry but "." and "..", with its attributes (READDIR with attributes).
  Status List(std::string_view rel, const std::string& what,
              const std::function<Status(std::string_view name, const NfsAttrs&)>& each);
  Result<std::string> Readlink(std::string_view rel, const std::string& what);
  Status Rename(std::string_view from, std::string_view to, const std::string& what);
  Status Unlink(std::string_view rel, const std::string& what);
  Status Mkdir(std::string_view rel, const std::string& what);
  Status Rmdir(std::string_view rel, const std::string& what);
  Status Symlink(std::string_view target, std::string_view rel, const std::string& what);
  Status Chmod(std::string_view rel, uint32_t mode, const std::string& what);
  // Numeric owner and group of the entry itself (not a symlink's target):
  // a file, a directory or a symlink (NFSv4: a SETATTR of our own, see the
  // .cpp for why not libnfs's).

  Status Lchown(std::string_view rel, uint32_t uid, uint32_t gid, const std::string& what);
  // Sets the modification time (and the access time to the same) to the
  // microsecond, on the entry itself (not a symlink's target).
  Status SetMtime(std::string_view rel, int64_t mtime_ns, const std::string& what);

  bool broken() const { return broken_; }
  // A negative libnfs result as a Status with libnfs's own message.
  Status Error(int rc, std::string_view what);
  // What every call on a broken context answers, without touching libnfs:
  // servicing it again would run stale callbacks (see ~NfsClient).
  Status Lost(const std::string& what) const;

 private:
  friend class NfsFile;
  std::string Path(std::string_view rel) const { return "/" + std::string(rel); }

  struct nfs_context* ctx_;
  size_t max_write_ = 3584;  // bytes per WRITE call (see Connect)
  size_t max_read_ = 1 << 20;
  std::chrono::milliseconds timeout_{30000};
  bool broken_ = false;
  std::string mount_path_;  // the export path mounted ("/export/dir")
  int version_ = 4;
};

}  // namespace sluice::nfs
