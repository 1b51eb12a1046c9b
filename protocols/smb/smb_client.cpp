#include "protocols/smb/smb_client.h"

#include <fcntl.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "protocols/smb/smbclient_api.h"

namespace sluice::smb {
namespace {

// Every call into libsmbclient holds this lock. Contexts alone do not make
// it thread-safe: its talloc stack frames and its loadparm configuration are
// process-wide unless smbc_thread_posix() installs thread-local storage, and
// Debian 12's libsmbclient does not export that function. A lock around a
// library's own global state is the one process-wide object here.
std::mutex& LibraryLock() {
  static std::mutex mu;
  return mu;
}

bool ConnectionLost(int err) {
  switch (err) {
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ENOTCONN:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case EHOSTDOWN:
    case EAGAIN:
    case EIO:  // what libsmbclient reports for a connection cut mid-request
      return true;
    default:
      return false;
  }
}

void CopyInto(char* out, int len, const std::string& value) {
  if (len <= 0) return;
  const size_t n = std::min(value.size(), static_cast<size_t>(len - 1));
  std::memcpy(out, value.data(), n);
  out[n] = '\0';
}

}  // namespace

Status SmbHandle::Close(std::string_view what) {
  if (file_ == nullptr) return Status::Ok();
  const std::lock_guard lk(LibraryLock());
  _SMBCFILE* f = std::exchange(file_, nullptr);
  const SmbclientApi& api = *client_->api_;
  const int rc = directory_ ? api.smbc_getFunctionClosedir(client_->ctx_)(client_->ctx_, f)
                            : api.smbc_getFunctionClose(client_->ctx_)(client_->ctx_, f);
  if (rc < 0) return client_->Error(errno, what.empty() ? "close" : what);
  return Status::Ok();
}

Result<std::unique_ptr<SmbClient>> SmbClient::Create(const SmbUrl& url, const SmbClientOptions& options) {
  Result<const SmbclientApi*> loaded = Smbclient();
  if (!loaded.ok()) return Status(loaded.status().code(), url.ToString() + ": " + loaded.status().message());
  auto c = std::make_unique<SmbClient>(url, options);
  c->api_ = loaded.value();
  const SmbclientApi* api = c->api_;
  const std::lock_guard lk(LibraryLock());
  SMBCCTX* ctx = api->smbc_new_context();
  if (ctx == nullptr) return Status::FromErrno(errno, url.ToString() + ": cannot create an SMB client context");
  api->smbc_setDebug(ctx, 0);
  api->smbc_setOptionUserData(ctx, c.get());
  api->smbc_setFunctionAuthDataWithContext(ctx, &SmbClient::Authenticate);
  api->smbc_setOptionNoAutoAnonymousLogin(ctx, true);  // a wrong password must fail, not become a guest
  api->smbc_setOptionUseKerberos(ctx, false);
  api->smbc_setOptionFallbackAfterKerberos(ctx, true);
  api->smbc_setOptionUseCCache(ctx, false);
  api->smbc_setOptionSmbEncryptionLevel(ctx, options.encrypt ? SMBC_ENCRYPTLEVEL_REQUIRE : SMBC_ENCRYPTLEVEL_DEFAULT);
  api->smbc_setTimeout(ctx, static_cast<int>(options.timeout.count()));
  api->smbc_setPort(ctx, url.port);
  if (api->smbc_init_context(ctx) == nullptr) {
    const int err = errno;
    api->smbc_free_context(ctx, 1);
    return Status::FromErrno(err, url.ToString() + ": cannot initialize the SMB client");
  }
  // SMB2 and SMB3 only: SMB1 is insecure and off on current servers. Set
  // after smbc_init_context, which loads smb.conf's "client min protocol".
  api->smbc_setOptionProtocols(ctx, "SMB2_02", "SMB3");
  c->ctx_ = ctx;
  return c;
}

SmbClient::~SmbClient() {
  if (ctx_ == nullptr) return;
  const std::lock_guard lk(LibraryLock());
  api_->smbc_free_context(ctx_, 1);  // 1: close its connections and open files too
}

void SmbClient::Authenticate(SMBCCTX* ctx, const char* /*server*/, const char* /*share*/, char* workgroup,
                             int workgroup_len, char* user, int user_len, char* password, int password_len) {
  // Called by libsmbclient, so the table is loaded.
  const auto* self = static_cast<const SmbClient*>(Smbclient().value()->smbc_getOptionUserData(ctx));
  if (self == nullptr) return;
  if (!self->options_.domain.empty()) CopyInto(workgroup, workgroup_len, self->options_.domain);
  CopyInto(user, user_len, self->options_.user);
  CopyInto(password, password_len, self->options_.password);
}

Status SmbClient::Error(int err, std::string_view what) {
  if (ConnectionLost(err)) {
    broken_ = true;
    return Status::Unavailable(std::string(what) + ": " + std::strerror(err));
  }
  if (err == EACCES || err == EPERM) {
    return Status::PermissionDenied(std::string(what) + ": " + std::strerror(err) +
                                    " (check the user, the password and the share's permissions)");
  }
  return Status::FromErrno(err, what);
}

Result<struct stat> SmbClient::Stat(std::string_view rel, const std::string& what) {
  const std::lock_guard lk(LibraryLock());
  struct stat st {};
  if (api_->smbc_getFunctionStat(ctx_)(ctx_, url_.LibraryUrl(rel).c_str(), &st) < 0) return Error(errno, what);
  return st;
}

Result<SmbHandle> SmbClient::Open(std::string_view rel, int flags, const std::string& what) {
  const std::lock_guard lk(LibraryLock());
  SMBCFILE* f = api_->smbc_getFunctionOpen(ctx_)(ctx_, url_.LibraryUrl(rel).c_str(), flags, 0644);
  if (f == nullptr) return Error(errno, what);
  return SmbHandle(this, f, false);
}

Result<struct stat> SmbClient::Fstat(const SmbHandle& h, const std::string& what) {
  const std::lock_guard lk(LibraryLock());
  struct stat st {};
  if (api_->smbc_getFunctionFstat(ctx_)(ctx_, h.get(), &st) < 0) return Error(errno, what);
  return st;
}

Result<size_t> SmbClient::Read(const SmbHandle& h, std::span<char> buf, const std::string& what) {
  const std::lock_guard lk(LibraryLock());
  const ssize_t n = api_->smbc_getFunctionRead(ctx_)(ctx_, h.get(), buf.data(), buf.size());
  if (n < 0) return Error(errno, what);
  return static_cast<size_t>(n);
}

Status SmbClient::Write(const SmbHandle& h, std::string_view data, const std::string& what) {
  const std::lock_guard lk(LibraryLock());
  while (!data.empty()) {
    const ssize_t n = api_->smbc_getFunctionWrite(ctx_)(ctx_, h.get(), data.data(), data.size());
    if (n < 0) return Error(errno, what);
    if (n == 0) return Status::Io(what + ": the server accepted no bytes");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status SmbClient::Seek(const SmbHandle& h, uint64_t offset, const std::string& what) {
  const std::lock_guard lk(LibraryLock());
  if (api_->smbc_getFunctionLseek(ctx_)(ctx_, h.get(), static_cast<off_t>(offset), SEEK_SET) < 0)
    return Error(errno, what);
  return Status::Ok();
}

Status SmbClient::Truncate(const SmbHandle& h, uint64_t size, const std::string& what) {
  const std::lock_guard lk(LibraryLock());
  if (api_->smbc_getFunctionFtruncate(ctx_)(ctx_, h.get(), static_cast<off_t>(size)) < 0) return Error(errno, what);
  return Status::Ok();
}

Status SmbClient::List(std::string_view rel, const std::string& what,
                       const std::function<Status(std::string_view, const struct stat&)>& each) {
  const std::lock_guard lk(LibraryLock());
  SMBCFILE* d = api_->smbc_getFunctionOpendir(ctx_)(ctx_, url_.LibraryUrl(rel).c_str());
  if (d == nullptr) return Error(errno, what);
  Status s;
  while (s.ok()) {
    struct stat st {};
    errno = 0;
    const struct libsmb_file_info* info = api_->smbc_getFunctionReaddirPlus2(ctx_)(ctx_, d, &st);
    if (info == nullptr) {
      if (errno != 0 && errno != ENOENT) s = Error(errno, what);
      break;
    }
    const std::string_view name = info->name;
    if (name == "." || name == "..") continue;
    s = each(name, st);  // under the lock: `each` must not call into libsmbclient
  }
  if (api_->smbc_getFunctionClosedir(ctx_)(ctx_, d) < 0 && s.ok()) s = Error(errno, what);
  return s;
}

Status SmbClient::Rename(std::string_view from, std::string_view to, const std::string& what) {
  const std::lock_guard lk(LibraryLock());
  const std::string a = url_.LibraryUrl(from), b = url_.LibraryUrl(to);
  if (api_->smbc_getFunctionRename(ctx_)(ctx_, a.c_str(), ctx_, b.c_str()) < 0) return Error(errno, what);
  return Status::Ok();
}

Status SmbClient::Unlink(std::string_view rel, const std::string& what) {
  const std::lock_guard lk(LibraryLock());
  if (api_->smbc_getFunctionUnlink(ctx_)(ctx_, url_.LibraryUrl(rel).c_str()) < 0) return Error(errno, what);
  return Status::Ok();
}

Status SmbClient::Mkdir(std::string_view rel, const std::string& what) {
  const std::lock_guard lk(LibraryLock());
  if (api_->smbc_getFunctionMkdir(ctx_)(ctx_, url_.LibraryUrl(rel).c_str(), 0755) < 0) return Error(errno, what);
  return Status::Ok();
}

Status SmbClient::Rmdir(std::string_view rel, const std::string& what) {
  const std::lock_guard lk(LibraryLock());
  if (api_->smbc_getFunctionRmdir(ctx_)(ctx_, url_.LibraryUrl(rel).c_str()) < 0) return Error(errno, what);
  return Status::Ok();
}

Status SmbClient::SetMtime(std::string_view rel, int64_t mtime_ns, const std::string& what) {
  const std::lock_guard lk(LibraryLock());
  int64_t sec = mtime_ns / 1'000'000'000;
  int64_t rem = mtime_ns % 1'000'000'000;
  if (rem < 0) {
    rem += 1'000'000'000;
    --sec;
  }
  struct timeval tv[2];
  tv[0].tv_sec = tv[1].tv_sec = static_cast<time_t>(sec);
  tv[0].tv_usec = tv[1].tv_usec = static_cast<suseconds_t>(rem / 1000);
  if (api_->smbc_getFunctionUtimes(ctx_)(ctx_, url_.LibraryUrl(rel).c_str(), tv) < 0) return Error(errno, what);
  return Status::Ok();
}

}  // namespace sluice::smb
