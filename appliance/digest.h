// Small helpers shared by the appliance's files: the SHA-256 of a byte string
// (hex, as sha256sum prints it), a stat's mtime in nanoseconds, a whole file.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "core/status.h"
#include "transfer/hash.h"

namespace sluice::appliance {

inline std::string Sha256Hex(std::string_view bytes) {
  auto h = transfer::Hasher::Create(transfer::HashAlgorithm::kSha256);
  h->Update(bytes);
  return h->HexDigest();
}

inline int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

inline Result<std::string> ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path.string() + " is missing");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::Io("cannot read " + path.string());
  return ss.str();
}

}  // namespace sluice::appliance
