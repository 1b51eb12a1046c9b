// One libsmbclient context (SMBCCTX) and its connection to one server, used
// through the per-context function pointers (never the global smbc_init
// API): the URL's credentials come from this object through the context's
// authentication callback, so several clients with different credentials can
// live in one process.
//
// Thread-safety (libsmbclient's limits): a context and every file handle it
// opened must be used by one thread at a time, so an SmbClient is lent to one
// thread at a time (a pool, core/util/lease_pool.h). Even separate contexts
// are unsafe at once: talloc's stack frames and the loadparm configuration
// are process-wide unless smbc_thread_posix() is called, and Debian 12's
// libsmbclient does not export it. So every call into the library holds one
// process-wide lock (smb_client.cpp): threads interleave their requests, one
// at a time, each a whole read or write of the caller's buffer.
//
// Errors are Status values naming the smb:// URL: ENOENT kNotFound, EACCES
// kPermissionDenied, a lost or refused connection or a timeout kUnavailable
// (and the client is then broken(): its pool drops it).
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "core/status.h"
#include "protocols/smb/smb_url.h"

// libsmbclient's types, opaque here.
struct _SMBCCTX;
struct _SMBCFILE;

namespace sluice::smb {

struct SmbclientApi;  // smbclient_api.h

struct SmbClientOptions {
  std::string domain;
  std::string user;
  std::string password;  // already read from its file or the environment
  bool encrypt = false;  // SMB3 encryption required (the connection fails without it)
  std::chrono::milliseconds timeout{30000};
};

class SmbClient;

// An open file or directory, closed by its destructor. Must not outlive its
// client, and is used by the thread holding the client.
class SmbHandle {
 public:
  SmbHandle(SmbClient* client, _SMBCFILE* file, bool directory) : client_(client), file_(file), directory_(directory) {}
  SmbHandle(SmbHandle&& o) noexcept
      : client_(o.client_), file_(std::exchange(o.file_, nullptr)), directory_(o.directory_) {}
  SmbHandle& operator=(SmbHandle&&) = delete;
  SmbHandle(const SmbHandle&) = delete;
  ~SmbHandle() { (void)Close(); }
  _SMBCFILE* get() const { return file_; }
  // Closes now; the server's answer (a deferred write error shows here).
  Status Close(std::string_view what = {});

 private:
  SmbClient* client_;
  _SMBCFILE* file_;
  bool directory_;
};

class SmbClient {
 public:
  // A context for `url`'s server and share with these credentials; the
  // connection is made by the first operation.
  static Result<std::unique_ptr<SmbClient>> Create(const SmbUrl& url, const SmbClientOptions& options);
  SmbClient(SmbUrl url, SmbClientOptions options) : url_(std::move(url)), options_(std::move(options)) {}
  ~SmbClient();
  SmbClient(const SmbClient&) = delete;
  SmbClient& operator=(const SmbClient&) = delete;

  // `rel` is relative to the URL's path ("" for the path itself); `what` is
  // the smb:// URL for messages.
  Result<struct stat> Stat(std::string_view rel, const std::string& what);
  Result<SmbHandle> Open(std::string_view rel, int flags, const std::string& what);
  Result<struct stat> Fstat(const SmbHandle& h, const std::string& what);
  Result<size_t> Read(const SmbHandle& h, std::span<char> buf, const std::string& what);
  Status Write(const SmbHandle& h, std::string_view data, const std::string& what);
  Status Seek(const SmbHandle& h, uint64_t offset, const std::string& what);
  Status Truncate(const SmbHandle& h, uint64_t size, const std::string& what);
  // Each entry but "." and "..", with its attributes (one READDIR round trip
  // per batch, no STAT per entry). `each` runs under the library lock and
  // must not call this client.
  Status List(std::string_view rel, const std::string& what,
              const std::function<Status(std::string_view name, const struct stat&)>& each);
  Status Rename(std::string_view from, std::string_view to, const std::string& what);
  Status Unlink(std::string_view rel, const std::string& what);
  Status Mkdir(std::string_view rel, const std::string& what);
  Status Rmdir(std::string_view rel, const std::string& what);
  // Sets the modification time (and the access time to the same), to the
  // microsecond.
  Status SetMtime(std::string_view rel, int64_t mtime_ns, const std::string& what);

  bool broken() const { return broken_; }
  // The errno of the last failed call as a Status (marks the client broken
  // when the connection is gone).
  Status Error(int err, std::string_view what);

 private:
  friend class SmbHandle;
  static void Authenticate(_SMBCCTX* ctx, const char* server, const char* share, char* workgroup, int workgroup_len,
                           char* user, int user_len, char* password, int password_len);

  const SmbUrl url_;
  const SmbClientOptions options_;
  const SmbclientApi* api_ = nullptr;  // libsmbclient, loaded by Create
  _SMBCCTX* ctx_ = nullptr;
  bool broken_ = false;
};

}  // namespace sluice::smb
