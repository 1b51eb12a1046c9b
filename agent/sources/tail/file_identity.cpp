#include "agent/sources/tail/file_identity.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/util/utf8.h"

namespace sluice {

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

uint64_t Fnv1a(std::string_view bytes, uint64_t h = kFnvOffset) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

// Reads exactly `len` bytes from offset 0, or fewer at end of file.
Result<std::string> ReadPrefix(int fd, uint32_t len) {
  std::string buf(len, '\0');
  size_t got = 0;
  while (got < len) {
    const ssize_t n = ::pread(fd, buf.data() + got, len - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "reading the first bytes of a tailed file");
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return buf;
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

// Paths need not be UTF-8 and must come back byte for byte (the records'
// "path", the directory to look in): those that are not are stored as base64.
void PutPath(nlohmann::json& j, const std::string& key, const std::string& path) {
  if (IsValidUtf8(path)) {
    j[key] = path;
  } else {
    j[key + "_b64"] = Base64(path);
  }
}

bool GetPath(const nlohmann::json& j, const std::string& key, std::string& out) {
  if (auto it = j.find(key); it != j.end()) {
    out = it->get<std::string>();
    return true;
  }
  if (auto it = j.find(key + "_b64"); it != j.end()) return DecodeBase64(it->get<std::string>(), out);
  return false;
}

}  // namespace

std::string FileKey(FileId id) { return "file:" + std::to_string(id.dev) + ":" + std::to_string(id.ino); }

Fingerprint ExtendFingerprint(Fingerprint fp, std::string_view more) {
  return Fingerprint{fp.len + static_cast<uint32_t>(more.size()), Fnv1a(more, fp.len == 0 ? kFnvOffset : fp.hash)};
}

Result<Fingerprint> ComputeFingerprint(int fd, uint64_t size, uint32_t max_len) {
  const auto len = static_cast<uint32_t>(std::min<uint64_t>(size, max_len));
  Result<std::string> prefix = ReadPrefix(fd, len);
  if (!prefix.ok()) return prefix.status();
  return Fingerprint{static_cast<uint32_t>(prefix->size()), Fnv1a(*prefix)};
}

Result<FingerprintCheck> CheckFingerprint(int fd, const Fingerprint& fp) {
  if (fp.len == 0) return FingerprintCheck::kSame;
  Result<std::string> prefix = ReadPrefix(fd, fp.len);
  if (!prefix.ok()) return prefix.status();
  if (prefix->size() < fp.len) return FingerprintCheck::kShorter;
  return Fnv1a(*prefix) == fp.hash ? FingerprintCheck::kSame : FingerprintCheck::kChanged;
}

std::string EncodeCheckpoint(const FileCheckpoint& cp) {
  nlohmann::json j;
  j["v"] = 1;
  PutPath(j, "path", cp.path);
  PutPath(j, "seen", cp.seen);
  j["dev"] = cp.id.dev;
  j["ino"] = cp.id.ino;
  j["fp_len"] = cp.fp.len;
  j["fp"] = Hex64(cp.fp.hash);
  j["offset"] = cp.offset;
  j["mid"] = cp.mid_line;
  j["size"] = cp.size;
  return j.dump();
}

Result<FileCheckpoint> DecodeCheckpoint(std::string_view json) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corrupt("tail checkpoint is not a JSON object");
  try {
    if (j.at("v").get<int>() != 1) return Status::Corrupt("tail checkpoint has an unknown version");
    FileCheckpoint cp;
    if (!GetPath(j, "path", cp.path)) return Status::Corrupt("tail checkpoint has no path");
    if (!GetPath(j, "seen", cp.seen)) cp.seen = cp.path;
    cp.id.dev = j.at("dev").get<uint64_t>();
    cp.id.ino = j.at("ino").get<uint64_t>();
    cp.fp.len = j.at("fp_len").get<uint32_t>();
    cp.fp.hash = std::stoull(j.at("fp").get<std::string>(), nullptr, 16);
    cp.offset = j.at("offset").get<uint64_t>();
    cp.mid_line = j.value("mid", false);
    cp.size = j.value("size", uint64_t{0});
    return cp;
  } catch (const std::exception& e) {
    return Status::Corrupt(std::string("tail checkpoint is malformed: ") + e.what());
  }
}

std::optional<std::string> FindByInode(const std::string& dir, FileId id) {
  struct DirClose {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  std::unique_ptr<DIR, DirClose> d(::opendir(dir.c_str()));
  if (!d) return std::nullopt;
  while (const dirent* e = ::readdir(d.get())) {
    if (e->d_ino != id.ino) continue;
    std::string path = dir == "/" ? "/" + std::string(e->d_name) : dir + "/" + e->d_name;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_dev) == id.dev &&
        static_cast<uint64_t>(st.st_ino) == id.ino && S_ISREG(st.st_mode)) {
      return path;
    }
  }
  return std::nullopt;
}

std::vector<FileCopy> FindCopies(const std::string& dir, const Fingerprint& fp, uint64_t min_size) {
  struct DirClose {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  std::unique_ptr<DIR, DirClose> d(::opendir(dir.c_str()));
  if (!d) return {};
  std::vector<std::pair<struct timespec, FileCopy>> found;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir == "/" ? "/" + std::string(name) : dir + "/" + std::string(name);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    struct stat st {};
    bool match = false;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) >= min_size) {
      Result<FingerprintCheck> check = CheckFingerprint(fd, fp);
      match = check.ok() && *check == FingerprintCheck::kSame;
    }
    ::close(fd);
    if (match) {
      found.push_back({st.st_mtim, FileCopy{std::move(path), {static_cast<uint64_t>(st.st_dev),
                                                               static_cast<uint64_t>(st.st_ino)}}});
    }
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first.tv_sec != b.first.tv_sec ? a.first.tv_sec > b.first.tv_sec : a.first.tv_nsec > b.first.tv_nsec;
  });
  std::vector<FileCopy> out;
  for (auto& [t, c] : found) out.push_back(std::move(c));
  return out;
}

std::string DirName(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace sluice
