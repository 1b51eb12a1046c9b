#include "protocols/nfs/nfs_client.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <nfsc/libnfs.h>
// After libnfs.h, which defines what these use (EXTERN, the RPC types).
#include <nfsc/libnfs-raw.h>
// And this after that.
#include <nfsc/libnfs-raw-nfs4.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

namespace sluice::nfs {
namespace {

NfsAttrs FromStat64(const struct nfs_stat_64& st) {
  NfsAttrs a;
  a.mode = static_cast<uint32_t>(st.nfs_mode);
  a.size = st.nfs_size;
  a.mtime_ns = static_cast<int64_t>(st.nfs_mtime) * 1'000'000'000 + static_cast<int64_t>(st.nfs_mtime_nsec);
  a.uid = static_cast<uint32_t>(st.nfs_uid);
  a.gid = static_cast<uint32_t>(st.nfs_gid);
  return a;
}

// libnfs gives the file type in `type` (NF3REG, NF3DIR, NF3LNK... the same
// numbers as NFSv4's) and may leave it out of `mode`.
uint32_t DirentMode(const struct nfsdirent& d) {
  uint32_t mode = d.mode;
  if ((mode & S_IFMT) == 0) {
    switch (d.type) {
      case 1:
        mode |= S_IFREG;
        break;
      case 2:
        mode |= S_IFDIR;
        break;
      case 5:
        mode |= S_IFLNK;
        break;
      default:
        break;
    }
  }
  return mode;
}

}  // namespace

Status NfsFile::Close(std::string_view what) {
  if (fh_ == nullptr) return Status::Ok();
  struct nfsfh* fh = std::exchange(fh_, nullptr);
  // A broken context is never serviced again (see ~NfsClient): the handle
  // goes with it.
  if (client_->broken_) return client_->Lost(what.empty() ? "close" : std::string(what));
  const int rc = nfs_close(client_->ctx_, fh);
  if (rc < 0) return client_->Error(rc, what.empty() ? "close" : what);
  return Status::Ok();
}

Result<std::unique_ptr<NfsClient>> NfsClient::Connect(const NfsUrl& url, std::chrono::milliseconds timeout) {
  struct nfs_context* ctx = nfs_init_context();
  if (ctx == nullptr) return Status::Internal(url.ToString() + ": cannot create an NFS client context");
  auto client = std::make_unique<NfsClient>(ctx);
  client->timeout_ = timeout;
  // libnfs takes the ports only from a URL's parameters: one is parsed for
  // its side effects on the context (the path in it is not used).
  std::string options = fmt::format("nfs://{}/?version={}", url.host, url.version);
  if (url.nfs_port != 0) options += fmt::format("&nfsport={}", url.nfs_port);
  if (url.mount_port != 0) options += fmt::format("&mountport={}", url.mount_port);
  struct nfs_url* parsed = nfs_parse_url_incomplete(ctx, options.c_str());
  if (parsed == nullptr) return Status::InvalidArgument(url.ToString() + ": " + nfs_get_error(ctx));
  nfs_destroy_url(parsed);
  if (url.uid) nfs_set_uid(ctx, static_cast<int>(*url.uid));
  if (url.gid) nfs_set_gid(ctx, static_cast<int>(*url.gid));
  // Each context is a client of its own to an NFSv4 server: with libnfs's
  // default name (the same for every context of a process) the server takes
  // a second context for the first one rebooted and expires its state.
  std::random_device random;
  const std::string client_name = fmt::format("sluice-{}-{:08x}{:08x}", ::getpid(), static_cast<uint32_t>(random()),
                                              static_cast<uint32_t>(random()));
  nfs4_set_client_name(ctx, client_name.c_str());
  nfs_set_autoreconnect(ctx, 0);
  nfs_set_dircache(ctx, 0);  // other contexts of the pool change the same directories
  nfs_set_timeout(ctx, static_cast<int>(timeout.count()));
  client->mount_path_ = url.path;
  client->version_ = url.version;
  const int rc = nfs_mount(ctx, url.host.c_str(), url.path.c_str());
  if (rc < 0) {
    const std::string why = nfs_get_error(ctx);
    if (rc == -ENOENT || why.find("NOENT") != std::string::npos) {
      return Status::NotFound(fmt::format("{}: no such directory on the server ({})", url.ToString(), why));
    }
    if (rc == -EACCES || rc == -EPERM) return Status::PermissionDenied(url.ToString() + ": " + why);
    return Status::Unavailable(fmt::format("{}: cannot mount: {}", url.ToString(), why));
  }
  if (url.version == 4) {
    // libnfs 4.0 encodes an NFSv4 request into a buffer of about 4 KiB and
    // reports no maximum (0): a WRITE of 4000 bytes fails to encode, 3800
    // pass (measured against ganesha), so writes go in 3.5 KiB pieces (room
    // for a 128-byte file handle). Replies have no such limit.
    client->max_write_ = 3584;
    client->max_read_ = 1 << 20;
  } else {
    client->max_write_ = std::max<size_t>(4096, static_cast<size_t>(nfs_get_writemax(ctx)));
    client->max_read_ = std::max<size_t>(4096, static_cast<size_t>(nfs_get_readmax(ctx)));
  }
  return client;
}

NfsClient::~NfsClient() {
  if (broken_) {
    // libnfs 4.0's synchronous calls return on a lost connection with their
    // requests still queued, each holding a callback into the returned
    // call's stack frame; nfs_destroy_context() cancels them by running
    // those callbacks, which write through dangling pointers (a crash seen
    // when ganesha restarts mid-write). A broken context is therefore only
    // disconnected, and its memory (a few KiB) left: one per lost connection.
    if (const int fd = nfs_get_fd(ctx_); fd >= 0) ::close(fd);
    return;
  }
  nfs_destroy_context(ctx_);
}

Status NfsClient::Lost(const std::string& what) const {
  return Status::Unavailable(what + ": the connection to the NFS server was lost");
}

Status NfsClient::Error(int rc, std::string_view what) {
  const int err = -rc;
  const char* text = nfs_get_error(ctx_);
  const std::string msg = fmt::format("{}: {}", what, text != nullptr && *text != '\0' ? text : std::strerror(err));
  switch (err) {
    case ENOENT:
      return Status::NotFound(msg);
    case EACCES:
    case EPERM:
      return Status::PermissionDenied(msg);
    case ENOSPC:
    case EDQUOT:
      return Status::NoSpace(msg);
    case EEXIST:
    case ENOTEMPTY:
    case ENOTDIR:
    case EISDIR:
    case EINVAL:
    case ENAMETOOLONG:
    case EROFS:
    case EXDEV:
    case EFBIG:
      return Status::Io(msg);
    default:
      // A lost connection, a timeout, or the server's I/O error: libnfs
      // reports them alike (EIO, EFAULT...). The context is not trusted again.
      broken_ = true;
      return Status::Unavailable(msg);
  }
}

Result<NfsAttrs> NfsClient::Lstat(std::string_view rel, const std::string& what) {
  if (broken_) return Lost(what);
  struct nfs_stat_64 st {};
  if (int rc = nfs_lstat64(ctx_, Path(rel).c_str(), &st); rc < 0) return Error(rc, what);
  return FromStat64(st);
}

Result<NfsAttrs> NfsClient::Stat(std::string_view rel, const std::string& what) {
  if (broken_) return Lost(what);
  struct nfs_stat_64 st {};
  if (int rc = nfs_stat64(ctx_, Path(rel).c_str(), &st); rc < 0) return Error(rc, what);
  return FromStat64(st);
}

Result<NfsFile> NfsClient::Open(std::string_view rel, int flags, const std::string& what) {
  if (broken_) return Lost(what);
  struct nfsfh* fh = nullptr;
  const std::string path = Path(rel);
  if ((flags & O_CREAT) == 0) {
    if (int rc = nfs_open2(ctx_, path.c_str(), flags, 0644, &fh); rc < 0) return Error(rc, what);
    return NfsFile(this, fh);
  }
  // libnfs 4.0 creates NFSv4 files exclusively (O_CREAT on an existing file
  // is EEXIST): the file is opened as it is first, and created if missing.
  for (int attempt = 0; attempt < 2; ++attempt) {
    int rc = nfs_open2(ctx_, path.c_str(), flags & ~O_CREAT, 0644, &fh);
    if (rc == 0) return NfsFile(this, fh);
    if (rc != -ENOENT) return Error(rc, what);
    rc = nfs_open2(ctx_, path.c_str(), (flags | O_CREAT) & ~O_TRUNC, 0644, &fh);
    if (rc == 0) return NfsFile(this, fh);
    if (rc != -EEXIST) return Error(rc, what);  // else made meanwhile: open it
  }
  return Status::Io(what + ": created and removed again while being opened");
}

Result<NfsAttrs> NfsClient::Fstat(const NfsFile& f, const std::string& what) {
  if (broken_) return Lost(what);
  struct nfs_stat_64 st {};
  if (int rc = nfs_fstat64(ctx_, f.get(), &st); rc < 0) return Error(rc, what);
  return FromStat64(st);
}

Result<size_t> NfsClient::Pread(const NfsFile& f, uint64_t offset, std::span<char> buf, const std::string& what) {
  if (broken_) return Lost(what);
  const size_t n = std::min(buf.size(), max_read_);
  const int rc = nfs_pread(ctx_, f.get(), offset, n, buf.data());
  if (rc < 0) return Error(rc, what);
  return static_cast<size_t>(rc);
}

namespace {

// The writes of one Pwrite call in flight at once (libnfs's asynchronous
// API on this context, serviced here until every answer is in).
struct WriteWindow {
  size_t in_flight = 0;
  int error = 0;  // the first failure (a negative errno)
  std::string error_text;
};

void WriteDone(int status, struct nfs_context* nfs, void* data, void* private_data) {
  auto* w = static_cast<WriteWindow*>(private_data);
  --w->in_flight;
  if (status < 0 && w->error == 0) {
    w->error = status;
    w->error_text = data != nullptr ? static_cast<const char*>(data) : nfs_get_error(nfs);
  }
}

}  // namespace

Status NfsClient::Pwrite(const NfsFile& f, uint64_t offset, std::string_view data, const std::string& what) {
  if (broken_) return Lost(what);
  // Pieces of at most max_write_ bytes, kWritesInFlight of them in flight:
  // with NFSv4's 3.5 KiB pieces a synchronous WRITE per piece would leave
  // the connection idle most of the time.
  constexpr size_t kWritesInFlight = 32;
  WriteWindow w;
  size_t sent = 0;
  while (sent < data.size() || w.in_flight > 0) {
    while (sent < data.size() && w.in_flight < kWritesInFlight && w.error == 0) {
      const size_t n = std::min(data.size() - sent, max_write_);
      if (nfs_pwrite_async(ctx_, f.get(), offset + sent, n, data.data() + sent, WriteDone, &w) != 0) {
        // Answers may still come for the pieces in flight, into `w`: the
        // context is never serviced again (broken, never freed).
        broken_ = true;
        return Status::Unavailable(fmt::format("{}: {}", what, nfs_get_error(ctx_)));
      }
      ++w.in_flight;
      sent += n;
    }
    if (w.error != 0) break;
    if (w.in_flight == 0) continue;
    pollfd pfd{nfs_get_fd(ctx_), static_cast<short>(nfs_which_events(ctx_)), 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(timeout_.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      broken_ = true;
      return Status::Unavailable(fmt::format("{}: no answer from the server for {} ms", what, timeout_.count()));
    }
    if (nfs_service(ctx_, pfd.revents) < 0) {
      broken_ = true;
      return Status::Unavailable(fmt::format("{}: {}", what, nfs_get_error(ctx_)));
    }
  }
  if (w.error != 0) {
    if (w.in_flight > 0) broken_ = true;  // answers still owed into `w`: never service this context again
    const Status s = Error(w.error, what);
    return Status(s.code(), fmt::format("{}: {}", what, w.error_text));
  }
  return Status::Ok();
}

Status NfsClient::Fsync(const NfsFile& f, const std::string& what) {
  if (broken_) return Lost(what);
  if (int rc = nfs_fsync(ctx_, f.get()); rc < 0) return Error(rc, what);
  return Status::Ok();
}

Status NfsClient::Ftruncate(const NfsFile& f, uint64_t size, const std::string& what) {
  if (broken_) return Lost(what);
  if (int rc = nfs_ftruncate(ctx_, f.get(), size); rc < 0) return Error(rc, what);
  return Status::Ok();
}

Status NfsClient::List(std::string_view rel, const std::string& what,
                       const std::function<Status(std::string_view, const NfsAttrs&)>& each) {
  struct nfsdir* dir = nullptr;
  if (int rc = nfs_opendir(ctx_, Path(rel).c_str(), &dir); rc < 0) return Error(rc, what);
  Status s;
  for (struct nfsdirent* d = nfs_readdir(ctx_, dir); d != nullptr && s.ok(); d = nfs_readdir(ctx_, dir)) {
    const std::string_view name = d->name;
    if (name == "." || name == "..") continue;
    NfsAttrs a;
    a.mode = DirentMode(*d);
    a.size = d->size;
    a.mtime_ns = static_cast<int64_t>(d->mtime.tv_sec) * 1'000'000'000 + static_cast<int64_t>(d->mtime_nsec);
    a.uid = d->uid;
    a.gid = d->gid;
    s = each(name, a);
  }
  nfs_closedir(ctx_, dir);
  return s;
}

Result<std::string> NfsClient::Readlink(std::string_view rel, const std::string& what) {
  if (broken_) return Lost(what);
  char* target = nullptr;
  if (int rc = nfs_readlink2(ctx_, Path(rel).c_str(), &target); rc < 0) return Error(rc, what);
  std::string out = target != nullptr ? target : "";
  std::free(target);  // allocated by libnfs with malloc
  return out;
}

Status NfsClient::Rename(std::string_view from, std::string_view to, const std::string& what) {
  if (broken_) return Lost(what);
  if (int rc = nfs_rename(ctx_, Path(from).c_str(), Path(to).c_str()); rc < 0) return Error(rc, what);
  return Status::Ok();
}

Status NfsClient::Unlink(std::string_view rel, const std::string& what) {
  if (broken_) return Lost(what);
  if (int rc = nfs_unlink(ctx_, Path(rel).c_str()); rc < 0) return Error(rc, what);
  return Status::Ok();
}

Status NfsClient::Mkdir(std::string_view rel, const std::string& what) {
  if (broken_) return Lost(what);
  if (int rc = nfs_mkdir2(ctx_, Path(rel).c_str(), 0755); rc < 0) return Error(rc, what);
  return Status::Ok();
}

Status NfsClient::Rmdir(std::string_view rel, const std::string& what) {
  if (broken_) return Lost(what);
  if (int rc = nfs_rmdir(ctx_, Path(rel).c_str()); rc < 0) return Error(rc, what);
  return Status::Ok();
}

Status NfsClient::Symlink(std::string_view target, std::string_view rel, const std::string& what) {
  if (broken_) return Lost(what);
  if (int rc = nfs_symlink(ctx_, std::string(target).c_str(), Path(rel).c_str()); rc < 0) return Error(rc, what);
  return Status::Ok();
}

Status NfsClient::Chmod(std::string_view rel, uint32_t mode, const std::string& what) {
  if (broken_) return Lost(what);
  if (int rc = nfs_chmod(ctx_, Path(rel).c_str(), static_cast<int>(mode & 07777)); rc < 0) return Error(rc, what);
  return Status::Ok();
}

namespace {

// One raw NFSv4 COMPOUND in flight (Lchown): its answer, filled by the callback.
struct RawCall {
  bool done = false;
  int rpc_status = 0;
  nfsstat4 status = NFS4_OK;  // of the first operation that failed
  std::string error_text;
};

void RawCallDone(struct rpc_context* rpc, int status, void* data, void* private_data) {
  (void)rpc;
  auto* call = static_cast<RawCall*>(private_data);
  call->done = true;
  call->rpc_status = status;
  if (status == RPC_STATUS_SUCCESS) {
    call->status = static_cast<COMPOUND4res*>(data)->status;
  } else if (status == RPC_STATUS_ERROR && data != nullptr) {
    call->error_text = static_cast<const char*>(data);
  }
}

// An XDR string: its length, big-endian, then the bytes padded to 4.
void PutXdrString(std::string& out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                       static_cast<char>(n)};
  out.append(len, 4);
  out.append(s);
  out.append((4 - s.size() % 4) % 4, '\0');
}

}  // namespace

// libnfs 4.0's nfs_chown/nfs_lchown over NFSv4 OPEN the path to get a
// stateid for their SETATTR, so on a directory (or a symlink) they fail with
// EISDIR ("chown call failed", seen against nfs-ganesha): owners could be
// set on files only. So the owner goes in a COMPOUND of our own through
// libnfs's raw NFSv4 API: PUTROOTFH, a LOOKUP per component of the mounted
// path and `rel` (LOOKUP does not follow a final symlink: lchown), and
// SETATTR of owner and owner_group as numeric strings with the anonymous
// stateid (all zeros, valid for a SETATTR that does not change the size).
// One round trip, where libnfs's own took OPEN, SETATTR and CLOSE.
Status NfsClient::Lchown(std::string_view rel, uint32_t uid, uint32_t gid, const std::string& what) {
  if (broken_) return Lost(what);
  struct rpc_context* rpc = nfs_get_rpc_context(ctx_);
  if (rpc == nullptr || version_ != 4) {
    if (int rc = nfs_lchown(ctx_, Path(rel).c_str(), static_cast<int>(uid), static_cast<int>(gid)); rc < 0) {
      return Error(rc, what);
    }
    return Status::Ok();
  }
  std::vector<std::string> names;
  for (std::string_view path : {std::string_view(mount_path_), rel}) {
    while (!path.empty()) {
      const size_t slash = path.find('/');
      const std::string_view part = path.substr(0, slash);
      if (!part.empty()) names.emplace_back(part);
      path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
    }
  }
  std::string attrs;
  PutXdrString(attrs, std::to_string(uid));
  PutXdrString(attrs, std::to_string(gid));
  uint32_t bitmap[2] = {0, (1u << (FATTR4_OWNER - 32)) | (1u << (FATTR4_OWNER_GROUP - 32))};

  std::vector<nfs_argop4> ops(names.size() + 2);
  ops[0].argop = OP_PUTROOTFH;
  for (size_t i = 0; i < names.size(); ++i) {
    ops[i + 1].argop = OP_LOOKUP;
    ops[i + 1].nfs_argop4_u.oplookup.objname.utf8string_len = static_cast<u_int>(names[i].size());
    ops[i + 1].nfs_argop4_u.oplookup.objname.utf8string_val = names[i].data();
  }
  nfs_argop4& set = ops.back();
  set.argop = OP_SETATTR;
  std::memset(&set.nfs_argop4_u.opsetattr.stateid, 0, sizeof(set.nfs_argop4_u.opsetattr.stateid));
  set.nfs_argop4_u.opsetattr.obj_attributes.attrmask.bitmap4_len = 2;
  set.nfs_argop4_u.opsetattr.obj_attributes.attrmask.bitmap4_val = bitmap;
  set.nfs_argop4_u.opsetattr.obj_attributes.attr_vals.attrlist4_len = static_cast<u_int>(attrs.size());
  set.nfs_argop4_u.opsetattr.obj_attributes.attr_vals.attrlist4_val = attrs.data();
  COMPOUND4args args{};
  args.argarray.argarray_len = static_cast<u_int>(ops.size());
  args.argarray.argarray_val = ops.data();

  // Heap-held: a call given up on (timeout) may still be answered into it,
  // so it is then left, as the context is (the destructor says why).
  auto call = std::make_unique<RawCall>();
  if (rpc_nfs4_compound_async(rpc, RawCallDone, &args, call.get()) != 0) {
    return Status::Io(fmt::format("{}: cannot send SETATTR: {}", what, rpc_get_error(rpc)));
  }
  while (!call->done) {
    pollfd pfd{rpc_get_fd(rpc), static_cast<short>(rpc_which_events(rpc)), 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(timeout_.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || rpc_service(rpc, pfd.revents) < 0) {
      broken_ = true;
      (void)call.release();
      return Status::Unavailable(fmt::format("{}: no answer from the server for {} ms", what, timeout_.count()));
    }
  }
  if (call->rpc_status != RPC_STATUS_SUCCESS) {
    broken_ = true;
    return Status::Unavailable(fmt::format("{}: {}", what, call->error_text.empty() ? "RPC failed" : call->error_text));
  }
  switch (call->status) {
    case NFS4_OK:
      return Status::Ok();
    case NFS4ERR_PERM:
    case NFS4ERR_ACCESS:
      return Status::PermissionDenied(
          fmt::format("{}: the server refused (NFS4ERR {})", what, static_cast<int>(call->status)));
    case NFS4ERR_NOENT:
      return Status::NotFound(what + ": no such file or directory");
    default:
      return Status::Io(fmt::format("{}: the server answered NFS4ERR {}", what, static_cast<int>(call->status)));
  }
}

Status NfsClient::SetMtime(std::string_view rel, int64_t mtime_ns, const std::string& what) {
  if (broken_) return Lost(what);
  int64_t sec = mtime_ns / 1'000'000'000;
  int64_t rem = mtime_ns % 1'000'000'000;
  if (rem < 0) {
    rem += 1'000'000'000;
    --sec;
  }
  struct timeval tv[2];
  tv[0].tv_sec = tv[1].tv_sec = static_cast<time_t>(sec);
  tv[0].tv_usec = tv[1].tv_usec = static_cast<suseconds_t>(rem / 1000);
  if (int rc = nfs_lutimes(ctx_, Path(rel).c_str(), tv); rc < 0) return Error(rc, what);
  return Status::Ok();
}

}  // namespace sluice::nfs
