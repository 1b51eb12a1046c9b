#include "transfer/local/local_endpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "transfer/rel_path.h"

namespace sluice::transfer {
namespace {

// An fd closed on destruction. Hand-written rather than a library type: it is
// the whole of what is needed (the tail source has its own, in agent/).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// "" -> "."; openat and friends take paths relative to the root fd.
const char* AtPath(const std::string& path) { return path.empty() ? "." : path.c_str(); }

EntryInfo FromStat(std::string name, const struct stat& st) {
  EntryInfo e;
  e.name = std::move(name);
  if (S_ISREG(st.st_mode)) {
    e.type = EntryType::kFile;
  } else if (S_ISDIR(st.st_mode)) {
    e.type = EntryType::kDirectory;
  } else if (S_ISLNK(st.st_mode)) {
    e.type = EntryType::kSymlink;
  }
  e.size = e.type == EntryType::kFile ? static_cast<uint64_t>(st.st_size) : 0;
  e.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  e.mode = static_cast<uint32_t>(st.st_mode & 07777);
  e.uid = static_cast<uint32_t>(st.st_uid);
  e.gid = static_cast<uint32_t>(st.st_gid);
  return e;
}

class LocalReadStream final : public ReadStream {
 public:
  LocalReadStream(Fd fd, uint64_t offset) : fd_(std::move(fd)), offset_(offset) {}
  Result<size_t> Read(std::span<char> buf) override {
    for (;;) {
      const ssize_t n = ::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(offset_));
      if (n >= 0) {
        offset_ += static_cast<uint64_t>(n);
        return static_cast<size_t>(n);
      }
      if (errno != EINTR) return Status::FromErrno(errno, "read");
    }
  }

 private:
  Fd fd_;
  uint64_t offset_;
};

class LocalWriteStream final : public WriteStream {
 public:
  LocalWriteStream(Fd fd, std::string path, uint64_t offset)
      : fd_(std::move(fd)), path_(std::move(path)), written_(offset), flushed_(offset) {}
  Status Write(std::string_view data) override {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_.get(), data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "write " + path_);
      }
      data.remove_prefix(static_cast<size_t>(n));
      written_ += static_cast<uint64_t>(n);
    }
    // Start writeback of every full window as we go, so the fsync in Close()
    // finds little left to do instead of flushing the whole file at the end
    // (1 GiB: 3.0 s -> see bench/README.md). Asynchronous: it does not wait.
    while (written_ - flushed_ >= kWritebackWindow) {
      (void)::sync_file_range(fd_.get(), static_cast<off64_t>(flushed_), kWritebackWindow, SYNC_FILE_RANGE_WRITE);
      flushed_ += kWritebackWindow;
    }
    return Status::Ok();
  }
  Status Close() override {
    if (::fsync(fd_.get()) != 0) return Status::FromErrno(errno, "fsync " + path_);
    if (::close(fd_.release()) != 0) return Status::FromErrno(errno, "close " + path_);
    return Status::Ok();
  }

 private:
  static constexpr uint64_t kWritebackWindow = 8 << 20;
  Fd fd_;
  std::string path_;
  uint64_t written_;  // file offset reached
  uint64_t flushed_;  // writeback started up to here
};

class LocalEndpoint final : public Endpoint {
 public:
  LocalEndpoint(std::string url, Fd root) : url_(std::move(url)), root_(std::move(root)) {}

  const std::string& url() const override { return url_; }

  EndpointCapabilities capabilities() const override {
    EndpointCapabilities c;
    c.modes = true;
    c.owners = true;
    c.symlinks = true;
    return c;
  }

  Result<EntryInfo> Stat(std::string_view path) override {
    const std::string p(path);
    if (Status s = Check(p); !s.ok()) return s;
    struct stat st {};
    if (::fstatat(root_.get(), AtPath(p), &st, AT_SYMLINK_NOFOLLOW) != 0) return Status::FromErrno(errno, Where(p));
    EntryInfo e = FromStat(p, st);
    if (e.type == EntryType::kSymlink) {
      Result<std::string> target = ReadLink(p);
      if (!target.ok()) return target.status();
      e.link_target = std::move(target).value();
    }
    return e;
  }

  Status List(std::string_view dir, const std::function<Status(const EntryInfo&)>& each) override {
    const std::string d(dir);
    if (Status s = Check(d); !s.ok()) return s;
    const int fd = ::openat(root_.get(), AtPath(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return Status::FromErrno(errno, Where(d));
    // fdopendir owns fd from here; closedir closes it.
    std::unique_ptr<DIR, int (*)(DIR*)> dp(::fdopendir(fd), &::closedir);
    if (!dp) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(err, Where(d));
    }
    for (;;) {
      errno = 0;
      const dirent* de = ::readdir(dp.get());
      if (de == nullptr) {
        if (errno != 0) return Status::FromErrno(errno, Where(d));
        return Status::Ok();
      }
      const std::string name = de->d_name;
      if (name == "." || name == "..") continue;
      struct stat st {};
      if (::fstatat(::dirfd(dp.get()), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed while listing
        return Status::FromErrno(errno, Where(JoinPath(d, name)));
      }
      EntryInfo e = FromStat(name, st);
      if (e.type == EntryType::kSymlink) {
        Result<std::string> target = ReadLink(JoinPath(d, name));
        if (target.ok()) e.link_target = std::move(target).value();
      }
      if (Status s = each(e); !s.ok()) return s;
    }
  }

  Result<std::unique_ptr<ReadStream>> OpenRead(std::string_view path, uint64_t offset) override {
    const std::string p(path);
    if (Status s = Check(p); !s.ok()) return s;
    Fd fd(::openat(root_.get(), AtPath(p), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0) return Status::FromErrno(errno, Where(p));
    return std::unique_ptr<ReadStream>(std::make_unique<LocalReadStream>(std::move(fd), offset));
  }

  Result<std::unique_ptr<WriteStream>> OpenWrite(std::string_view path, uint64_t offset) override {
    const std::string p(path);
    if (Status s = Check(p); !s.ok()) return s;
    if (p.empty()) return Status::InvalidArgument("cannot write the root itself");
    Fd fd(::openat(root_.get(), p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (fd.get() < 0) return Status::FromErrno(errno, Where(p));
    if (::ftruncate(fd.get(), static_cast<off_t>(offset)) != 0) return Status::FromErrno(errno, Where(p));
    if (::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) return Status::FromErrno(errno, Where(p));
    return std::unique_ptr<WriteStream>(std::make_unique<LocalWriteStream>(std::move(fd), Where(p), offset));
  }

  Status Rename(std::string_view from, std::string_view to) override {
    const std::string f(from), t(to);
    if (Status s = Check(f); !s.ok()) return s;
    if (Status s = Check(t); !s.ok()) return s;
    if (::renameat(root_.get(), f.c_str(), root_.get(), t.c_str()) != 0)
      return Status::FromErrno(errno, "rename " + Where(f) + " to " + Where(t));
    Touched(ParentOf(t));
    return Status::Ok();
  }

  Status Flush() override {
    std::set<std::string> dirs;
    {
      std::lock_guard lock(dirty_mu_);
      dirs.swap(dirty_);
    }
    // Deepest first: a new directory's entry in its parent is synced after it.
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      if (Status s = SyncDirectory(*it); !s.ok() && s.code() != ErrorCode::kNotFound) return s;
    }
    return Status::Ok();
  }

  Status Remove(std::string_view path) override {
    const std::string p(path);
    if (Status s = Check(p); !s.ok()) return s;
    if (p.empty()) return Status::InvalidArgument("cannot remove the root");
    struct stat st {};
    if (::fstatat(root_.get(), p.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Status::FromErrno(errno, Where(p));
    const int flags = S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0;
    if (::unlinkat(root_.get(), p.c_str(), flags) != 0) return Status::FromErrno(errno, "remove " + Where(p));
    Touched(ParentOf(p));
    return Status::Ok();
  }

  Status MakeDirectory(std::string_view path) override {
    const std::string p(path);
    if (Status s = Check(p); !s.ok()) return s;
    size_t pos = 0;
    while (pos <= p.size() && !p.empty()) {
      const size_t slash = p.find('/', pos);
      const std::string prefix = p.substr(0, slash);
      if (::mkdirat(root_.get(), prefix.c_str(), 0755) == 0) {
        Touched(ParentOf(prefix));
        Touched(prefix);
      } else if (errno != EEXIST) {
        return Status::FromErrno(errno, "mkdir " + Where(prefix));
      }
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
    struct stat st {};
    if (::fstatat(root_.get(), AtPath(p), &st, AT_SYMLINK_NOFOLLOW) != 0) return Status::FromErrno(errno, Where(p));
    if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(Where(p) + " exists and is not a directory");
    return Status::Ok();
  }

  Status SetTimes(std::string_view path, int64_t mtime_ns) override {
    const std::string p(path);
    if (Status s = Check(p); !s.ok()) return s;
    const timespec times[2] = {{0, UTIME_OMIT}, {mtime_ns / 1'000'000'000, mtime_ns % 1'000'000'000}};
    if (::utimensat(root_.get(), AtPath(p), times, AT_SYMLINK_NOFOLLOW) != 0)
      return Status::FromErrno(errno, "set mtime of " + Where(p));
    return Status::Ok();
  }

  Status SetMode(std::string_view path, uint32_t mode) override {
    const std::string p(path);
    if (Status s = Check(p); !s.ok()) return s;
    // fchmodat cannot skip symlinks on Linux (AT_SYMLINK_NOFOLLOW is
    // unsupported); a symlink's mode is meaningless, so refuse instead.
    struct stat st {};
    if (::fstatat(root_.get(), AtPath(p), &st, AT_SYMLINK_NOFOLLOW) != 0) return Status::FromErrno(errno, Where(p));
    if (S_ISLNK(st.st_mode)) return Status::Unsupported("a symlink has no mode of its own: " + Where(p));
    if (::fchmodat(root_.get(), AtPath(p), mode & 07777, 0) != 0) return Status::FromErrno(errno, "chmod " + Where(p));
    return Status::Ok();
  }

  Status SetOwner(std::string_view path, uint32_t uid, uint32_t gid) override {
    const std::string p(path);
    if (Status s = Check(p); !s.ok()) return s;
    if (::fchownat(root_.get(), AtPath(p), uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
      return Status::FromErrno(errno, fmt::format("chown {}:{} {}", uid, gid, Where(p)));
    return Status::Ok();
  }

  // One fstatat, then only the calls that change something: a file already
  // owned as asked is not chowned (a chown also clears set-id bits, so it
  // goes before the chmod).
  Status SetAttributes(std::string_view path, const FileAttributes& attrs) override {
    const std::string p(path);
    if (Status s = Check(p); !s.ok()) return s;
    struct stat st {};
    if (::fstatat(root_.get(), AtPath(p), &st, AT_SYMLINK_NOFOLLOW) != 0) return Status::FromErrno(errno, Where(p));
    if (attrs.uid.has_value() && attrs.gid.has_value() && (st.st_uid != *attrs.uid || st.st_gid != *attrs.gid)) {
      if (Status s = SetOwner(p, *attrs.uid, *attrs.gid); !s.ok()) return s;
    }
    if (attrs.mode.has_value()) {
      if (S_ISLNK(st.st_mode)) return Status::Unsupported("a symlink has no mode of its own: " + Where(p));
      if (::fchmodat(root_.get(), AtPath(p), *attrs.mode & 07777, 0) != 0)
        return Status::FromErrno(errno, "chmod " + Where(p));
    }
    if (attrs.mtime_ns.has_value()) return SetTimes(p, *attrs.mtime_ns);
    return Status::Ok();
  }

  Status Symlink(std::string_view target, std::string_view path) override {
    const std::string p(path);
    if (Status s = Check(p); !s.ok()) return s;
    if (::symlinkat(std::string(target).c_str(), root_.get(), p.c_str()) != 0)
      return Status::FromErrno(errno, "symlink " + Where(p));
    Touched(ParentOf(p));
    return Status::Ok();
  }

 private:
  Status Check(const std::string& path) const {
    if (std::string problem = RelativePathProblem(path); !problem.empty()) return Status::InvalidArgument(problem);
    return Status::Ok();
  }
  std::string Where(const std::string& path) const { return path.empty() ? url_ : url_ + "/" + path; }

  Result<std::string> ReadLink(const std::string& path) const {
    std::vector<char> buf(256);
    for (;;) {
      const ssize_t n = ::readlinkat(root_.get(), path.c_str(), buf.data(), buf.size());
      if (n < 0) return Status::FromErrno(errno, "readlink " + Where(path));
      if (static_cast<size_t>(n) < buf.size()) return std::string(buf.data(), static_cast<size_t>(n));
      buf.resize(buf.size() * 2);
    }
  }

  Status SyncDirectory(const std::string& dir) const {
    Fd fd(::openat(root_.get(), AtPath(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return Status::FromErrno(errno, Where(dir));
    if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, "fsync " + Where(dir));
    return Status::Ok();
  }

  // A directory whose entries changed since the last Flush().
  void Touched(const std::string& dir) {
    std::lock_guard lock(dirty_mu_);
    dirty_.insert(dir);
  }

  std::string url_;
  Fd root_;
  std::mutex dirty_mu_;
  std::set<std::string> dirty_;
};

}  // namespace

Result<std::unique_ptr<Endpoint>> OpenLocalEndpoint(const std::filesystem::path& root) {
  Fd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Status::FromErrno(errno, root.string());
  std::string url = root.string();
  while (url.size() > 1 && url.back() == '/') url.pop_back();
  return std::unique_ptr<Endpoint>(std::make_unique<LocalEndpoint>(std::move(url), std::move(fd)));
}

}  // namespace sluice::transfer
