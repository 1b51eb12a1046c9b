#include "appliance/importer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "appliance/custody_log.h"
#include "appliance/format.h"
#include "appliance/keys.h"
#include "appliance/store_import.h"
#include "core/util/durable_file.h"
#include "transfer/s3/s3_url.h"

namespace sluice::appliance {
namespace {

namespace fs = std::filesystem;

timespec ToTimespec(int64_t ns) {
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

// Creates DST/rel and every directory above it, refusing to pass through
// anything that is not a real directory (a symlink placed in DST).
class DirMaker {
 public:
  explicit DirMaker(fs::path dst) : dst_(std::move(dst)) {}
  Status Ensure(const std::string& rel) {
    if (rel.empty() || made_.count(rel) != 0) return Status::Ok();
    const size_t slash = rel.rfind('/');
    if (slash != std::string::npos) {
      if (Status s = Ensure(rel.substr(0, slash)); !s.ok()) return s;
    }
    const fs::path full = dst_ / rel;
    if (::mkdir(full.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "creating directory " + full.string());
    }
    struct stat st {};
    if (::lstat(full.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + full.string());
    if (!S_ISDIR(st.st_mode)) {
      return Status::PermissionDenied(
          fmt::format("{} exists and is not a directory: refusing to write through it", full.string()));
    }
    made_.insert(rel);
    return Status::Ok();
  }
  static std::string Parent(const std::string& rel) {
    const size_t slash = rel.rfind('/');
    return slash == std::string::npos ? std::string() : rel.substr(0, slash);
  }

 private:
  fs::path dst_;
  std::set<std::string> made_;
};

// Writes each file to a hidden partial name beside its final one.
class LocalSink final : public EntrySink {
 public:
  LocalSink(const fs::path& dst, DirMaker& dirs, ImportReport& report) : dst_(dst), dirs_(dirs), report_(report) {}
  ~LocalSink() override { Abandon(); }

  Status Begin(const Entry& e) override {
    if (Status s = dirs_.Ensure(DirMaker::Parent(e.path)); !s.ok()) return s;
    final_ = dst_ / e.path;
    struct stat st {};
    keep_ = ::lstat(final_.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) == e.size &&
            static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec == e.mtime_ns &&
            (st.st_mode & 07777) == e.mode;
    if (keep_) return Status::Ok();
    part_ = final_.parent_path() / ("." + final_.filename().string() + ".sluice-part");
    fd_ = ::open(part_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) return Status::FromErrno(errno, "creating " + part_.string());
    return Status::Ok();
  }

  Status Data(std::string_view bytes) override {
    if (keep_) return Status::Ok();
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno(errno, "writing " + part_.string());
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

  Status End(const Entry& e, bool good) override {
    if (keep_) {
      if (good) ++report_.files_kept;
      return Status::Ok();
    }
    if (!good) {
      Abandon();
      return Status::Ok();  // the mismatch is already a problem
    }
    const timespec times[2] = {ToTimespec(e.mtime_ns), ToTimespec(e.mtime_ns)};
    if (::fchmod(fd_, e.mode) != 0 || ::futimens(fd_, times) != 0) {
      const int err = errno;
      Abandon();
      return Status::FromErrno(err, "setting the mode and mtime of " + part_.string());
    }
    ::close(fd_);
    fd_ = -1;
    if (::rename(part_.c_str(), final_.c_str()) != 0) {
      const int err = errno;
      Abandon();
      return Status::FromErrno(err, "renaming " + part_.string() + " to " + final_.string());
    }
    part_.clear();
    ++report_.files_written;
    report_.bytes += e.size;
    return Status::Ok();
  }

 private:
  void Abandon() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!part_.empty()) ::unlink(part_.c_str());
    part_.clear();
  }

  fs::path dst_;
  DirMaker& dirs_;
  ImportReport& report_;
  fs::path final_, part_;
  int fd_ = -1;
  bool keep_ = false;
};

Status Refuse(const std::string& why, const std::vector<Problem>& problems) {
  std::string msg = "refusing to import: " + why;
  for (size_t i = 0; i < problems.size() && i < 10; ++i)
    msg += fmt::format("\n  {}: {}", problems[i].where, problems[i].what);
  if (problems.size() > 10) msg += fmt::format("\n  ... and {} more", problems.size() - 10);
  return Status::PermissionDenied(msg);
}

Status PlaceSymlink(const fs::path& dst, const Entry& e) {
  const fs::path final_path = dst / e.path;
  struct stat st {};
  if (::lstat(final_path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    const ssize_t n = ::readlink(final_path.c_str(), target.data(), target.size());
    if (n >= 0 && std::string_view(target.data(), static_cast<size_t>(n)) == e.target) return Status::Ok();
  }
  const fs::path tmp = final_path.parent_path() / ("." + final_path.filename().string() + ".sluice-part");
  ::unlink(tmp.c_str());
  if (::symlink(e.target.c_str(), tmp.c_str()) != 0)
    return Status::FromErrno(errno, "creating symlink " + tmp.string());
  const timespec times[2] = {ToTimespec(e.mtime_ns), ToTimespec(e.mtime_ns)};
  ::utimensat(AT_FDCWD, tmp.c_str(), times, AT_SYMLINK_NOFOLLOW);
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status::FromErrno(err, "renaming " + tmp.string() + " to " + final_path.string());
  }
  return Status::Ok();
}

// The custody event that ends an import (every object is stored by now).
ImportReport FinishImport(const ImportOptions& o, const TrustedManifest& t, ImportReport& report) {
  Result<std::string> ev = AppendCustodyEvent(o.device, {{"event", "imported"},
                                                         {"ok", report.ok()},
                                                         {"dest", o.dest.string()},
                                                         {"manifest_sha256", t.sha256},
                                                         {"counts",
                                                          {{"files_written", report.files_written},
                                                           {"files_kept", report.files_kept},
                                                           {"dirs", report.dirs},
                                                           {"symlinks", report.symlinks},
                                                           {"symlinks_skipped", report.symlinks_skipped},
                                                           {"bytes", report.bytes},
                                                           {"problems", report.problems.size()}}}});
  if (!ev.ok()) report.problems.push_back({std::string(kCustodyName), ev.status().message()});
  return std::move(report);
}

}  // namespace

Result<ImportReport> RunImport(const ImportOptions& options) {
  ImportOptions o = options;
  const bool to_store = transfer::IsS3Url(o.dest.string());
  if (!to_store) o.dest = fs::absolute(o.dest);
  Result<ReaderKeys> keys = LoadReaderKeys(o.public_key_file, o.encrypt_key_file);
  if (!keys.ok()) return keys.status();
  const std::string& public_key = keys.value().public_key;
  const std::string& encrypt_key = keys.value().encrypt_key;
  std::vector<fs::path> given = {o.device};
  given.insert(given.end(), o.more_devices.begin(), o.more_devices.end());
  Result<std::pair<TrustedManifest, DeviceSet>> opened =
      OpenDevices(given, public_key, encrypt_key, o.insecure_unsigned);
  if (!opened.ok()) return Refuse(opened.status().message(), {});
  const TrustedManifest& trusted = opened.value().first;
  const DeviceSet& devices = opened.value().second;
  // The custody log is on volume 1.
  o.device = devices.first();
  const Manifest& m = trusted.manifest;

  std::vector<Problem> unsafe;
  for (const Entry& e : m.entries) {
    if (e.type != EntryType::kSymlink) continue;
    if (std::string why = SymlinkProblem(e.path, e.target); !why.empty()) unsafe.push_back({ShowPath(e.path), why});
  }
  if (!unsafe.empty()) return Refuse("entries would point outside the destination", unsafe);
  if (to_store) {
    if (Status s = CheckStorable(m, o.skip_symlinks); !s.ok()) return s;
  }
  std::vector<Problem> device_problems;
  CheckDeviceFiles(devices, m, device_problems);
  CheckCustody(o.device, trusted, device_problems);
  if (m.header.encrypted && encrypt_key.empty()) {
    device_problems.push_back({std::string(kManifestName), "the device is encrypted: pass --encrypt-key"});
  }
  if (!device_problems.empty()) return Refuse("the device does not match its manifest", device_problems);

  ImportReport report;
  if (to_store) {
    // The store is opened after the device checked out, so a bad device costs no request.
    Result<std::unique_ptr<transfer::Endpoint>> store = transfer::OpenDestination(o.dest.string(), o.endpoint);
    if (!store.ok())
      return Status(store.status().code(), "cannot open " + o.dest.string() + ": " + store.status().message());
    ImportToStore(devices, m, encrypt_key, *store.value(), o, report);
    return FinishImport(o, trusted, report);
  }
  if (Status s = CreateDirectoriesDurable(o.dest, true); !s.ok()) return s;
  DirMaker dirs(o.dest);
  for (const Entry& e : m.entries) {
    if (e.type != EntryType::kDir) continue;
    if (Status s = dirs.Ensure(e.path); !s.ok()) report.problems.push_back({ShowPath(e.path), s.message()});
    ++report.dirs;
  }
  {
    LocalSink sink(o.dest, dirs, report);
    ReadObjects(devices, m, encrypt_key, &sink, report.problems, o.progress);
  }
  for (const Entry& e : m.entries) {
    if (e.type != EntryType::kSymlink) continue;
    Status s = dirs.Ensure(DirMaker::Parent(e.path));
    if (s.ok()) s = PlaceSymlink(o.dest, e);
    if (!s.ok()) {
      report.problems.push_back({ShowPath(e.path), s.message()});
      continue;
    }
    ++report.symlinks;
  }
  for (auto it = m.entries.rbegin(); it != m.entries.rend(); ++it) {
    if (it->type != EntryType::kDir) continue;
    const fs::path full = o.dest / it->path;
    const timespec times[2] = {ToTimespec(it->mtime_ns), ToTimespec(it->mtime_ns)};
    if (::chmod(full.c_str(), it->mode) != 0 || ::utimensat(AT_FDCWD, full.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      report.problems.push_back(
          {ShowPath(it->path), fmt::format("cannot set mode and mtime: {}", std::strerror(errno))});
    }
  }
  // Everything written reaches the disk before the custody log says it was imported.
  const int dfd = ::open(o.dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::syncfs(dfd);
    ::close(dfd);
  }
  return FinishImport(o, trusted, report);
}

}  // namespace sluice::appliance
