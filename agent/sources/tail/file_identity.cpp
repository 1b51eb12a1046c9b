#include "agent/sources/tail/file_identity.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

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
  j["path"] = cp.path;
  j["seen"] = cp.seen;
  j["dev"] = cp.id.dev;
  j["ino"] = cp.id.ino;
  j["fp_len"] = cp.fp.len;
  j["fp"] = Hex64(cp.fp.hash);
  j["offset"] = cp.offset;
  j["mid"] = cp.mid_line;
  j["size"] = cp.size;
  // Paths need not be UTF-8; replace keeps the checkpoint writable, and the
  // path is only used to log and to find the directory again.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<FileCheckpoint> DecodeCheckpoint(std::string_view json) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corrupt("tail checkpoint is not a JSON object");
  try {
    if (j.at("v").get<int>() != 1) return Status::Corrupt("tail checkpoint has an unknown version");
    FileCheckpoint cp;
    cp.path = j.at("path").get<std::string>();
    cp.seen = j.value("seen", cp.path);
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

std::string DirName(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace sluice
