// The Endpoint over a pool of libnfs contexts: path checks, the conformance
// semantics (MakeDirectory with parents, Remove of files, symlinks and empty
// directories, Stat = LSTAT + READLINK), and the streams (one open NFS file
// each, holding its context, with its own offset).
#include "transfer/nfs/nfs_endpoint.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <utility>
#include <vector>

#include "core/util/lease_pool.h"
#include "protocols/nfs/nfs_client.h"

namespace sluice::transfer {
namespace {

using nfs::NfsAttrs;
using nfs::NfsClient;
using nfs::NfsFile;
using NfsPool = LeasePool<NfsClient>;

constexpr size_t kDefaultIdleNfsContexts = 4;

EntryInfo FromNfsAttrs(std::string name, const NfsAttrs& a) {
  EntryInfo e;
  e.name = std::move(name);
  const uint32_t type = a.mode & S_IFMT;
  if (type == S_IFREG) {
    e.type = EntryType::kFile;
    e.size = a.size;
  } else if (type == S_IFDIR) {
    e.type = EntryType::kDirectory;
  } else if (type == S_IFLNK) {
    e.type = EntryType::kSymlink;
  }
  e.mode = a.mode & 07777;
  e.mtime_ns = a.mtime_ns;
  e.uid = a.uid;
  e.gid = a.gid;
  return e;
}

class NfsReadStream final : public ReadStream {
 public:
  NfsReadStream(NfsPool::Lease lease, NfsFile file, std::string what, uint64_t offset)
      : lease_(std::move(lease)), file_(std::move(file)), what_(std::move(what)), offset_(offset) {}
  Result<size_t> Read(std::span<char> buf) override {
    Result<size_t> n = lease_->Pread(file_, offset_, buf, what_);
    if (n.ok()) offset_ += *n;
    return n;
  }

 private:
  NfsPool::Lease lease_;  // declared first: the file closes before the context goes back
  NfsFile file_;
  const std::string what_;
  uint64_t offset_;
};

class NfsWriteStream final : public WriteStream {
 public:
  NfsWriteStream(NfsPool::Lease lease, NfsFile file, std::string what, uint64_t offset)
      : lease_(std::move(lease)), file_(std::move(file)), what_(std::move(what)), offset_(offset) {}
  Status Write(std::string_view data) override {
    if (closed_) return Status::Internal(what_ + ": write after close");
    Status s = lease_->Pwrite(file_, offset_, data, what_);
    if (s.ok()) offset_ += data.size();
    return s;
  }
  Status Close() override {
    if (closed_) return Status::Ok();
    closed_ = true;
    Status s = lease_->Fsync(file_, "commit " + what_);
    const Status closed = file_.Close(what_);
    if (s.ok()) s = closed;
    lease_.Return();
    return s;
  }

 private:
  NfsPool::Lease lease_;
  NfsFile file_;
  const std::string what_;
  uint64_t offset_;
  bool closed_ = false;
};

class NfsEndpoint final : public Endpoint {
 public:
  NfsEndpoint(std::string url, std::unique_ptr<NfsPool> pool) : url_(std::move(url)), pool_(std::move(pool)) {}

  const std::string& url() const override { return url_; }

  EndpointCapabilities capabilities() const override {
    EndpointCapabilities c;
    c.modes = true;
    c.owners = true;
    c.symlinks = true;
    c.mtime_precision_ns = 1'000;  // libnfs sets times as a timeval
    c.max_name_bytes = 255;
    return c;
  }

  Result<EntryInfo> Stat(std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<NfsPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string where = Where(path);
    // The root itself is followed (as the local endpoint opens it); entries below are not.
    Result<NfsAttrs> a = path.empty() ? (*c)->Stat(path, where) : (*c)->Lstat(path, where);
    if (!a.ok()) return a.status();
    EntryInfo e = FromNfsAttrs(std::string(path), *a);
    if (e.type == EntryType::kSymlink) {
      Result<std::string> target = (*c)->Readlink(path, "readlink " + where);
      if (!target.ok()) return target.status();
      e.link_target = std::move(target).value();
    }
    return e;
  }

  Status List(std::string_view dir, const std::function<Status(const EntryInfo&)>& each) override {
    if (Status s = Check(dir); !s.ok()) return s;
    Result<NfsPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    std::vector<EntryInfo> entries;  // gathered first: `each` may call back into this endpoint
    Status s = (*c)->List(dir, Where(dir), [&](std::string_view name, const NfsAttrs& a) {
      entries.push_back(FromNfsAttrs(std::string(name), a));
      return Status::Ok();
    });
    if (!s.ok()) return s;
    for (EntryInfo& e : entries) {
      if (e.type != EntryType::kSymlink) continue;
      const std::string rel = JoinPath(dir, e.name);
      Result<std::string> target = (*c)->Readlink(rel, "readlink " + Where(rel));
      if (!target.ok()) return target.status();
      e.link_target = std::move(target).value();
    }
    c->Return();
    for (const EntryInfo& e : entries) {
      if (Status r = each(e); !r.ok()) return r;
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<ReadStream>> OpenRead(std::string_view path, uint64_t offset) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<NfsPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string where = Where(path);
    Result<NfsFile> f = (*c)->Open(path, O_RDONLY, where);
    if (!f.ok()) return f.status();
    return std::unique_ptr<ReadStream>(
        std::make_unique<NfsReadStream>(std::move(c).value(), std::move(f).value(), where, offset));
  }

  Result<std::unique_ptr<WriteStream>> OpenWrite(std::string_view path, uint64_t offset) override {
    if (Status s = Check(path); !s.ok()) return s;
    if (path.empty()) return Status::InvalidArgument("cannot write the root itself");
    Result<NfsPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string where = Where(path);
    Result<NfsFile> f = (*c)->Open(path, O_WRONLY | O_CREAT | (offset == 0 ? O_TRUNC : 0), where);
    if (!f.ok()) return f.status();
    if (offset > 0) {
      // Resume: keep the verified prefix, cut what follows it.
      Result<NfsAttrs> a = (*c)->Fstat(*f, where);
      if (!a.ok()) return a.status();
      if (a->size < offset) {
        return Status::InvalidArgument(
            fmt::format("{} has {} bytes, fewer than the {} to resume after", where, a->size, offset));
      }
      if (a->size > offset) {
        if (Status s = (*c)->Ftruncate(*f, offset, "truncate " + where); !s.ok()) return s;
      }
    }
    return std::unique_ptr<WriteStream>(
        std::make_unique<NfsWriteStream>(std::move(c).value(), std::move(f).value(), where, offset));
  }

  Status Rename(std::string_view from, std::string_view to) override {
    if (Status s = Check(from); !s.ok()) return s;
    if (Status s = Check(to); !s.ok()) return s;
    Result<NfsPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    return (*c)->Rename(from, to, "rename " + Where(from) + " to " + Where(to));
  }

  Status Remove(std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    if (path.empty()) return Status::InvalidArgument("cannot remove the root");
    Result<NfsPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string where = Where(path);
    Result<NfsAttrs> a = (*c)->Lstat(path, where);
    if (!a.ok()) return a.status();
    if ((a->mode & S_IFMT) == S_IFDIR) return (*c)->Rmdir(path, "remove directory " + where);
    return (*c)->Unlink(path, "remove " + where);
  }

  Status MakeDirectory(std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<NfsPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    return MakeDirectories(**c, std::string(path));
  }

  Status SetTimes(std::string_view path, int64_t mtime_ns) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<NfsPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    return (*c)->SetMtime(path, mtime_ns, "set mtime of " + Where(path));
  }

  Status SetMode(std::string_view path, uint32_t mode) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<NfsPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string where = Where(path);
    Result<NfsAttrs> a = (*c)->Lstat(path, where);
    if (!a.ok()) return a.status();
    if ((a->mode & S_IFMT) == S_IFLNK) return Status::Unsupported("a symlink has no mode of its own: " + where);
    return (*c)->Chmod(path, mode, "chmod " + where);
  }

  // The LSTAT that SetMode needs anyway also says the owner: a file already
  // owned as asked costs no chown, so --owners adds no round trip then.
  Status SetAttributes(std::string_view path, const FileAttributes& attrs) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<NfsPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string where = Where(path);
    const bool owner = attrs.uid.has_value() && attrs.gid.has_value();
    if (owner || attrs.mode.has_value()) {
      Result<NfsAttrs> a = (*c)->Lstat(path, where);
      if (!a.ok()) return a.status();
      if (owner && (a->uid != *attrs.uid || a->gid != *attrs.gid)) {
        const std::string what = fmt::format("chown {}:{} {}", *attrs.uid, *attrs.gid, where);
        if (Status s = (*c)->Lchown(path, *attrs.uid, *attrs.gid, what); !s.ok()) return s;
      }
      if (attrs.mode.has_value()) {
        if ((a->mode & S_IFMT) == S_IFLNK) return Status::Unsupported("a symlink has no mode of its own: " + where);
        if (Status s = (*c)->Chmod(path, *attrs.mode, "chmod " + where); !s.ok()) return s;
      }
    }
    if (attrs.mtime_ns.has_value()) return (*c)->SetMtime(path, *attrs.mtime_ns, "set mtime of " + where);
    return Status::Ok();
  }

  Status SetOwner(std::string_view path, uint32_t uid, uint32_t gid) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<NfsPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    return (*c)->Lchown(path, uid, gid, fmt::format("chown {}:{} {}", uid, gid, Where(path)));
  }

  Status Symlink(std::string_view target, std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    if (path.empty()) return Status::InvalidArgument("cannot replace the root with a symlink");
    Result<NfsPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    return (*c)->Symlink(target, path, "symlink " + Where(path));
  }

 private:
  static Status Check(std::string_view path) {
    if (std::string problem = RelativePathProblem(path); !problem.empty()) return Status::InvalidArgument(problem);
    return Status::Ok();
  }
  // The URL with the path inside it, for messages (the parameters left out).
  std::string Where(std::string_view path) const {
    if (path.empty()) return url_;
    const std::string base = url_.substr(0, url_.find('?'));
    return (base.ends_with('/') ? base : base + "/") + std::string(path);
  }

  Status MakeDirectories(NfsClient& c, const std::string& path) {
    return MakeDirectoryPath(
        path, [&](const std::string& p) { return c.Mkdir(p, "mkdir " + Where(p)); },
        [&](const std::string& p) -> Result<bool> {
          Result<NfsAttrs> st = c.Stat(p, Where(p));
          if (!st.ok()) return st.status();
          return (st->mode & S_IFMT) == S_IFDIR;
        },
        [&](const std::string& p) { return Where(p); });
  }

  const std::string url_;
  std::unique_ptr<NfsPool> pool_;
};

}  // namespace

Result<std::unique_ptr<Endpoint>> OpenNfsEndpoint(const nfs::NfsUrl& url, const NfsOptions& options) {
  const size_t idle = options.connections > 0 ? static_cast<size_t>(options.connections) : kDefaultIdleNfsContexts;
  const std::chrono::milliseconds timeout = options.timeout;
  auto pool = std::make_unique<NfsPool>([url, timeout] { return NfsClient::Connect(url, timeout); }, idle,
                                        [](const NfsClient& c) { return !c.broken(); });
  const std::string where = url.ToString();
  Result<NfsPool::Lease> c = pool->Get();  // mounts now: an unreachable server or a missing path fails here
  if (!c.ok()) return c.status();
  Result<NfsAttrs> a = (*c)->Stat("", where);
  if (!a.ok()) return a.status();
  if ((a->mode & S_IFMT) != S_IFDIR) return Status::NotFound(where + " is not a directory");
  c->Return();
  return std::unique_ptr<Endpoint>(std::make_unique<NfsEndpoint>(where, std::move(pool)));
}

}  // namespace sluice::transfer
