// The Endpoint over the SFTP client pool: path checks and mapping (a relative
// endpoint path below the resolved absolute root), the conformance semantics
// (MakeDirectory with parents, Remove of files and empty directories, Stat =
// LSTAT + READLINK), and the streams (sftp_streams.h).
#include "transfer/sftp/sftp_endpoint.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <limits>
#include <utility>
#include <vector>

#include "protocols/sftp/sftp_pool.h"
#include "transfer/sftp/sftp_streams.h"

namespace sluice::transfer {
namespace {

using sftp::Attrs;
using sftp::SftpClient;

constexpr size_t kDefaultConnections = 4;

EntryInfo FromAttrs(std::string name, const Attrs& a) {
  EntryInfo e;
  e.name = std::move(name);
  if (a.permissions) {
    const uint32_t type = *a.permissions & S_IFMT;
    if (type == S_IFREG) {
      e.type = EntryType::kFile;
    } else if (type == S_IFDIR) {
      e.type = EntryType::kDirectory;
    } else if (type == S_IFLNK) {
      e.type = EntryType::kSymlink;
    }
    e.mode = *a.permissions & 07777;
  }
  e.uid = a.uid;
  e.gid = a.gid;
  e.size = e.type == EntryType::kFile ? a.size.value_or(0) : 0;
  e.mtime_ns = static_cast<int64_t>(a.mtime.value_or(0)) * 1'000'000'000;
  return e;
}

class SftpEndpoint final : public Endpoint {
 public:
  SftpEndpoint(std::string url, std::string root, std::unique_ptr<sftp::SftpPool> pool)
      : url_(std::move(url)), root_(std::move(root)), pool_(std::move(pool)) {}

  const std::string& url() const override { return url_; }

  EndpointCapabilities capabilities() const override {
    EndpointCapabilities c;
    c.modes = true;
    c.owners = true;
    c.symlinks = true;
    c.mtime_precision_ns = 1'000'000'000;  // SFTP v3 times are whole seconds
    c.max_name_bytes = 255;
    return c;
  }

  Result<EntryInfo> Stat(std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<std::shared_ptr<SftpClient>> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string remote = Remote(path);
    // The root itself is followed (as the local endpoint opens it); entries below are not.
    Result<Attrs> a = path.empty() ? (*c)->Stat(remote, Where(path)) : (*c)->Lstat(remote, Where(path));
    if (!a.ok()) return a.status();
    EntryInfo e = FromAttrs(std::string(path), *a);
    if (e.type == EntryType::kSymlink) {
      Result<std::string> target = (*c)->Readlink(remote, "readlink " + Where(path));
      if (!target.ok()) return target.status();
      e.link_target = std::move(target).value();
    }
    return e;
  }

  Status List(std::string_view dir, const std::function<Status(const EntryInfo&)>& each) override {
    if (Status s = Check(dir); !s.ok()) return s;
    Result<std::shared_ptr<SftpClient>> got = pool_->Get();
    if (!got.ok()) return got.status();
    SftpClient& c = **got;
    const std::string remote_dir = Remote(dir);
    Result<std::string> handle = c.Opendir(remote_dir, Where(dir));
    if (!handle.ok()) return handle.status();
    const Status s = ListHandle(c, dir, remote_dir, *handle, each);
    const uint32_t id = c.NextId();
    if (c.Send(id, SftpClient::EncodeClose(id, *handle)).ok()) c.Forget(id);
    return s;
  }

  Result<std::unique_ptr<ReadStream>> OpenRead(std::string_view path, uint64_t offset) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<std::shared_ptr<SftpClient>> c = pool_->Get();
    if (!c.ok()) return c.status();
    Result<std::string> handle = (*c)->Open(Remote(path), sftp::kFxfRead, Attrs{}, Where(path));
    if (!handle.ok()) return handle.status();
    return std::unique_ptr<ReadStream>(
        std::make_unique<SftpReadStream>(std::move(c).value(), std::move(handle).value(), Where(path), offset));
  }

  Result<std::unique_ptr<WriteStream>> OpenWrite(std::string_view path, uint64_t offset) override {
    if (Status s = Check(path); !s.ok()) return s;
    if (path.empty()) return Status::InvalidArgument("cannot write the root itself");
    Result<std::shared_ptr<SftpClient>> got = pool_->Get();
    if (!got.ok()) return got.status();
    std::shared_ptr<SftpClient> c = std::move(got).value();
    const std::string where = Where(path);
    Attrs create;
    create.permissions = 0644;
    const uint32_t flags = sftp::kFxfWrite | sftp::kFxfCreat | (offset == 0 ? sftp::kFxfTrunc : 0);
    Result<std::string> handle = c->Open(Remote(path), flags, create, where);
    if (!handle.ok()) return handle.status();
    // The stream owns the handle from here (its destructor closes it).
    auto stream = std::make_unique<SftpWriteStream>(c, *handle, where, offset);
    if (offset > 0) {
      // Resume: keep the verified prefix, cut what follows it.
      Result<Attrs> a = c->Fstat(*handle, where);
      if (!a.ok()) return a.status();
      const uint64_t size = a->size.value_or(0);
      if (size < offset) {
        return Status::InvalidArgument(
            fmt::format("{} has {} bytes, fewer than the {} to resume after", where, size, offset));
      }
      if (size > offset) {
        Attrs cut;
        cut.size = offset;
        if (Status s = c->Fsetstat(*handle, cut, "truncate " + where); !s.ok()) return s;
      }
    }
    return std::unique_ptr<WriteStream>(std::move(stream));
  }

  Status Rename(std::string_view from, std::string_view to) override {
    if (Status s = Check(from); !s.ok()) return s;
    if (Status s = Check(to); !s.ok()) return s;
    Result<std::shared_ptr<SftpClient>> c = pool_->Get();
    if (!c.ok()) return c.status();
    return (*c)->Rename(Remote(from), Remote(to), "rename " + Where(from) + " to " + Where(to));
  }

  Status Remove(std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    if (path.empty()) return Status::InvalidArgument("cannot remove the root");
    Result<std::shared_ptr<SftpClient>> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string remote = Remote(path);
    // A file (or symlink) first: the common case costs one round trip.
    const Status removed = (*c)->Remove(remote, "remove " + Where(path));
    if (removed.ok() || removed.code() == ErrorCode::kNotFound || removed.code() == ErrorCode::kUnavailable) {
      return removed;
    }
    Result<Attrs> a = (*c)->Lstat(remote, Where(path));
    if (a.ok() && FromAttrs("", *a).type == EntryType::kDirectory) {
      return (*c)->Rmdir(remote, "remove directory " + Where(path));
    }
    return removed;
  }

  Status MakeDirectory(std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<std::shared_ptr<SftpClient>> c = pool_->Get();
    if (!c.ok()) return c.status();
    return MakeDirectories(**c, std::string(path));
  }

  Status SetTimes(std::string_view path, int64_t mtime_ns) override {
    if (Status s = Check(path); !s.ok()) return s;
    Attrs a;
    if (Status t = PutTimes(path, mtime_ns, a); !t.ok()) return t;
    Result<std::shared_ptr<SftpClient>> c = pool_->Get();
    if (!c.ok()) return c.status();
    return (*c)->Lsetstat(Remote(path), a, "set mtime of " + Where(path));
  }

  Status SetOwner(std::string_view path, uint32_t uid, uint32_t gid) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<std::shared_ptr<SftpClient>> c = pool_->Get();
    if (!c.ok()) return c.status();
    Attrs a;
    a.uid = uid;
    a.gid = gid;
    return (*c)->Lsetstat(Remote(path), a, fmt::format("chown {}:{} {}", uid, gid, Where(path)));
  }

  // Times, mode and owner in one SETSTAT: the owner costs no round trip of
  // its own, and the file's attributes take one instead of the three that
  // SetTimes and SetMode (LSTAT + SETSTAT) would. OpenSSH applies the chown
  // last, which clears set-id bits: those few files get a second SETSTAT.
  Status SetAttributes(std::string_view path, const FileAttributes& attrs) override {
    if (Status s = Check(path); !s.ok()) return s;
    Attrs a;
    if (attrs.mtime_ns.has_value()) {
      if (Status t = PutTimes(path, *attrs.mtime_ns, a); !t.ok()) return t;
    }
    if (attrs.mode.has_value()) a.permissions = *attrs.mode & 07777;
    const bool owner = attrs.uid.has_value() && attrs.gid.has_value();
    if (owner) {
      a.uid = attrs.uid;
      a.gid = attrs.gid;
    }
    Result<std::shared_ptr<SftpClient>> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string remote = Remote(path);
    if (Status s = (*c)->Lsetstat(remote, a, "set attributes of " + Where(path)); !s.ok()) return s;
    if (owner && attrs.mode.has_value() && (*attrs.mode & 06000) != 0) {
      Attrs again;
      again.permissions = *attrs.mode & 07777;
      return (*c)->Lsetstat(remote, again, "chmod " + Where(path));
    }
    return Status::Ok();
  }

  Status SetMode(std::string_view path, uint32_t mode) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<std::shared_ptr<SftpClient>> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string remote = Remote(path);
    Result<Attrs> st = (*c)->Lstat(remote, Where(path));
    if (!st.ok()) return st.status();
    if (FromAttrs("", *st).type == EntryType::kSymlink) {
      return Status::Unsupported("a symlink has no mode of its own: " + Where(path));
    }
    Attrs a;
    a.permissions = mode & 07777;
    return (*c)->Setstat(remote, a, "chmod " + Where(path));
  }

  Status Symlink(std::string_view target, std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    if (path.empty()) return Status::InvalidArgument("cannot replace the root with a symlink");
    Result<std::shared_ptr<SftpClient>> c = pool_->Get();
    if (!c.ok()) return c.status();
    return (*c)->Symlink(target, Remote(path), "symlink " + Where(path));
  }

 private:
  static Status Check(std::string_view path) {
    if (std::string problem = RelativePathProblem(path); !problem.empty()) return Status::InvalidArgument(problem);
    return Status::Ok();
  }
  std::string Where(std::string_view path) const { return path.empty() ? url_ : url_ + "/" + std::string(path); }
  // v3 sets both times at once; the access time gets the modification time
  // (rather than a LSTAT round trip to keep it) - as rclone does.
  Status PutTimes(std::string_view path, int64_t mtime_ns, Attrs& a) const {
    int64_t seconds = mtime_ns / 1'000'000'000;
    if (mtime_ns % 1'000'000'000 < 0) --seconds;  // floor, for times before 1970
    if (seconds < 0 || seconds > std::numeric_limits<uint32_t>::max()) {
      return Status::InvalidArgument(fmt::format("{}: SFTP v3 cannot store the time {} s", Where(path), seconds));
    }
    a.atime = static_cast<uint32_t>(seconds);
    a.mtime = static_cast<uint32_t>(seconds);
    return Status::Ok();
  }
  std::string Remote(std::string_view path) const {
    if (path.empty()) return root_;
    return root_ == "/" ? "/" + std::string(path) : root_ + "/" + std::string(path);
  }

  Status ListHandle(SftpClient& c, std::string_view dir, const std::string& remote_dir, const std::string& handle,
                    const std::function<Status(const EntryInfo&)>& each) {
    for (;;) {
      Result<std::vector<sftp::NameEntry>> names = c.Readdir(handle, Where(dir));
      if (!names.ok()) return names.status();
      if (names->empty()) return Status::Ok();
      std::vector<EntryInfo> entries;
      std::vector<std::pair<size_t, uint32_t>> readlinks;  // entry index, request id
      entries.reserve(names->size());
      for (sftp::NameEntry& n : *names) {
        if (n.name == "." || n.name == "..") continue;
        entries.push_back(FromAttrs(std::move(n.name), n.attrs));
        if (entries.back().type == EntryType::kSymlink) {
          // Every READLINK of the batch in flight at once.
          const uint32_t id = c.NextId();
          const std::string remote =
              remote_dir == "/" ? "/" + entries.back().name : remote_dir + "/" + entries.back().name;
          if (Status s = c.Send(id, sftp::PacketWriter(sftp::kFxpReadlink).U32(id).String(remote).Finish()); !s.ok()) {
            for (const auto& [i, pending] : readlinks) c.Forget(pending);
            return s;
          }
          readlinks.emplace_back(entries.size() - 1, id);
        }
      }
      for (const auto& [i, id] : readlinks) {
        Result<sftp::Reply> r = c.Wait(id);
        if (!r.ok()) return r.status();
        Result<std::vector<sftp::NameEntry>> target = sftp::ExpectNames(*r, "readlink");
        if (target.ok() && target->size() == 1) entries[i].link_target = std::move(target->front().name);
      }
      for (const EntryInfo& e : entries) {
        if (Status s = each(e); !s.ok()) return s;
      }
    }
  }

  Status MakeDirectories(SftpClient& c, const std::string& path) {
    const std::string remote = Remote(path);
    Attrs mode;
    mode.permissions = 0755;
    Status made = path.empty() ? Status::Io("the root") : c.Mkdir(remote, mode, "mkdir " + Where(path));
    if (made.ok() || made.code() == ErrorCode::kUnavailable) return made;
    // It exists (fine if a directory), or its parent is missing.
    Result<Attrs> st = c.Stat(remote, Where(path));
    if (st.ok()) {
      if (FromAttrs("", *st).type == EntryType::kDirectory) return Status::Ok();
      return Status::InvalidArgument(Where(path) + " exists and is not a directory");
    }
    if (st.status().code() != ErrorCode::kNotFound || path.empty()) return st.status();
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) return made;  // the root itself is there: the mkdir error stands
    if (Status s = MakeDirectories(c, path.substr(0, slash)); !s.ok()) return s;
    made = c.Mkdir(remote, mode, "mkdir " + Where(path));
    if (made.ok()) return made;
    st = c.Stat(remote, Where(path));  // another thread may have made it meanwhile
    if (st.ok() && FromAttrs("", *st).type == EntryType::kDirectory) return Status::Ok();
    return made;
  }

  const std::string url_;
  const std::string root_;  // absolute on the server, no trailing '/' (except "/" itself)
  std::unique_ptr<sftp::SftpPool> pool_;
};

}  // namespace

Result<std::unique_ptr<Endpoint>> OpenSftpEndpoint(const sftp::SftpUrl& url, const SftpOptions& options) {
  sftp::SshOptions ssh;
  ssh.host = url.host;
  ssh.port = url.port;
  ssh.user = url.user;
  ssh.known_hosts = options.known_hosts;
  ssh.accept_new_host_key = options.accept_new_host_key;
  ssh.key_file = options.key_file;
  ssh.key_passphrase_file = options.key_passphrase_file;
  ssh.password_file = options.password_file;
  ssh.password_env = options.password_env;
  ssh.connect_timeout = options.connect_timeout;
  ssh.io_timeout = options.io_timeout;
  const std::string where = url.ToString();
  const size_t size = options.connections > 0 ? static_cast<size_t>(options.connections) : kDefaultConnections;
  auto pool = std::make_unique<sftp::SftpPool>(std::move(ssh), size);
  // The first connection is made here: a wrong host key or password fails now.
  Result<std::shared_ptr<SftpClient>> c = pool->Get();
  if (!c.ok()) return Status(c.status().code(), where + ": " + c.status().message());
  std::string root = url.path;
  if (root.empty() || root.front() != '/') {
    Result<std::string> resolved = (*c)->Realpath(root.empty() ? "." : root, where);
    if (!resolved.ok()) return resolved.status();
    root = std::move(resolved).value();
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  Result<Attrs> st = (*c)->Stat(root, where);
  if (!st.ok()) return st.status();
  if (FromAttrs("", *st).type != EntryType::kDirectory) return Status::NotFound(where + " is not a directory");
  return std::unique_ptr<Endpoint>(std::make_unique<SftpEndpoint>(where, std::move(root), std::move(pool)));
}

}  // namespace sluice::transfer
