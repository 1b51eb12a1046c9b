#include "core/util/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice {

// One write at a time on a thread of its own; Wait returns the first error.
class AtomicFile::Flusher {
 public:
  Flusher() : thread_([this] { Run(); }) {}
  ~Flusher() {
    {
      std::lock_guard lock(m_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  void Submit(std::function<Status()> job) {
    {
      std::lock_guard lock(m_);
      job_ = std::move(job);
      busy_ = true;
    }
    cv_.notify_all();
  }
  Status Wait() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [this] { return !busy_; });
    return first_error_;
  }

 private:
  void Run() {
    std::unique_lock lock(m_);
    for (;;) {
      cv_.wait(lock, [this] { return quit_ || job_ != nullptr; });
      if (job_ != nullptr) {
        std::function<Status()> job = std::move(job_);
        job_ = nullptr;
        lock.unlock();
        Status s = job();
        lock.lock();
        if (!s.ok() && first_error_.ok()) first_error_ = std::move(s);
        busy_ = false;
        cv_.notify_all();
        continue;
      }
      return;  // quit_, nothing pending
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::function<Status()> job_;
  bool busy_ = false;
  bool quit_ = false;
  Status first_error_ = Status::Ok();
  std::thread thread_;  // last: started once the rest exists
};

Status FsyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "opening directory " + dir.string());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::FromErrno(err, "fsync of directory " + dir.string());
  return Status::Ok();
}

Status CreateDirectoriesDurable(const std::filesystem::path& dir, bool sync) {
  std::vector<std::filesystem::path> missing;
  std::filesystem::path p = dir;
  struct stat st {};
  while (!p.empty() && ::stat(p.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::FromErrno(errno, "stat " + p.string());
    missing.push_back(p);
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "creating directory " + it->string());
    }
    if (sync) {
      if (Status s = FsyncDirectory(it->parent_path()); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

Result<AtomicFile> AtomicFile::Create(const std::filesystem::path& final_path, bool sync, Caching caching) {
  std::filesystem::path tmp = final_path.parent_path() / ("." + final_path.filename().string() + ".tmp");
  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  int fd = -1;
  bool direct = false;
  if (caching == Caching::kDirect) {
    fd = ::open(tmp.c_str(), flags | O_DIRECT, 0644);
    direct = fd >= 0;
    if (fd < 0 && errno != EINVAL) return Status::FromErrno(errno, "creating " + tmp.string());
  }
  if (fd < 0) fd = ::open(tmp.c_str(), flags, 0644);
  if (fd < 0) return Status::FromErrno(errno, "creating " + tmp.string());
  AtomicFile f(fd, std::move(tmp), final_path, sync);
  if (direct) {
    char* a = static_cast<char*>(std::aligned_alloc(kDirectAlign, kDirectBuffer));
    f.staging_.reset(a);
    char* b = static_cast<char*>(std::aligned_alloc(kDirectAlign, kDirectBuffer));
    f.in_flight_.reset(b);
    if (a == nullptr || b == nullptr) return Status::Internal("out of memory for direct-I/O buffers");
    f.flusher_ = std::make_unique<Flusher>();
    f.o_direct_ = true;
  }
  return f;
}

AtomicFile::AtomicFile(int fd, std::filesystem::path tmp, std::filesystem::path final_path, bool sync)
    : fd_(fd), tmp_(std::move(tmp)), final_(std::move(final_path)), sync_(sync) {}

int AtomicFile::QuiescedFd(AtomicFile& o) {
  // A write in flight refers to `o`: it ends before `o` is taken apart. (Files
  // are moved right after Create, so there is none in practice.)
  if (o.flusher_ != nullptr) (void)o.flusher_->Wait();
  return o.fd_;
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : fd_(QuiescedFd(o)),
      tmp_(std::move(o.tmp_)),
      final_(std::move(o.final_)),
      sync_(o.sync_),
      appended_(o.appended_),
      written_back_(o.written_back_),
      written_(o.written_),
      staging_(std::move(o.staging_)),
      in_flight_(std::move(o.in_flight_)),
      flusher_(std::move(o.flusher_)),
      staged_(o.staged_),
      o_direct_(o.o_direct_) {
  o.fd_ = -1;
  o.tmp_.clear();
}

AtomicFile::~AtomicFile() {
  flusher_.reset();  // first: its write uses the descriptor
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Status AtomicFile::WriteAt(const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd_, data, n, static_cast<off_t>(written_));
    if (w < 0) {
      if (errno == EINTR) continue;
      // O_DIRECT taken at open but not at write (alignment the device wants
      // larger, or a filesystem that checks only here): write buffered.
      if (errno == EINVAL && o_direct_) {
        if (Status s = LeaveDirect(); !s.ok()) return s;
        continue;
      }
      return Status::FromErrno(errno, "writing " + tmp_.string());
    }
    data += w;
    n -= static_cast<size_t>(w);
    written_ += static_cast<uint64_t>(w);
    // A short direct write leaves an unaligned offset: the rest goes buffered.
    if (n > 0 && o_direct_ && written_ % kDirectAlign != 0) {
      if (Status s = LeaveDirect(); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

Status AtomicFile::LeaveDirect() {
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT) != 0) {
    return Status::FromErrno(errno, "clearing O_DIRECT on " + tmp_.string());
  }
  o_direct_ = false;
  return Status::Ok();
}

Status AtomicFile::FlushStaged(bool last) {
  if (!last) {
    // A full buffer (whole blocks): written by the flusher from the other
    // buffer once the write before it is done.
    if (Status s = flusher_->Wait(); !s.ok()) return s;
    std::swap(staging_, in_flight_);
    const char* data = in_flight_.get();
    const size_t n = staged_;
    staged_ = 0;
    flusher_->Submit([this, data, n] { return WriteAt(data, n); });
    return Status::Ok();
  }
  if (Status s = flusher_->Wait(); !s.ok()) return s;
  size_t n = staged_;
  if (o_direct_ && n % kDirectAlign != 0) {
    const size_t padded = (n + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
    std::memset(staging_.get() + n, 0, padded - n);
    n = padded;
  }
  staged_ = 0;
  return WriteAt(staging_.get(), n);
}

Status AtomicFile::Append(std::string_view bytes) {
  appended_ += bytes.size();
  if (staging_ == nullptr) return WriteAt(bytes.data(), bytes.size());
  while (!bytes.empty()) {
    const size_t take = std::min(bytes.size(), kDirectBuffer - staged_);
    std::memcpy(staging_.get() + staged_, bytes.data(), take);
    staged_ += take;
    bytes.remove_prefix(take);
    if (staged_ == kDirectBuffer) {
      if (Status s = FlushStaged(false); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

void AtomicFile::StartWriteback() {
  if (fd_ < 0 || staging_ != nullptr || appended_ == written_back_) return;
  // Advisory: an error here shows again at Commit's fsync.
  (void)::sync_file_range(fd_, static_cast<off_t>(written_back_), static_cast<off_t>(appended_ - written_back_),
                          SYNC_FILE_RANGE_WRITE);
  written_back_ = appended_;
}

Status AtomicFile::Commit() {
  if (staging_ != nullptr) {
    if (Status s = FlushStaged(true); !s.ok()) return s;
  }
  // The padding of the last direct block goes.
  if (written_ > appended_ && ::ftruncate(fd_, static_cast<off_t>(appended_)) != 0) {
    return Status::FromErrno(errno, "truncating " + tmp_.string());
  }
  if (sync_ && ::fsync(fd_) != 0) return Status::FromErrno(errno, "fsync of " + tmp_.string());
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return Status::FromErrno(errno, "closing " + tmp_.string());
  if (::rename(tmp_.c_str(), final_.c_str()) != 0) {
    return Status::FromErrno(errno, "renaming " + tmp_.string() + " to " + final_.string());
  }
  tmp_.clear();
  if (sync_) return FsyncDirectory(final_.parent_path());
  return Status::Ok();
}

}  // namespace sluice
