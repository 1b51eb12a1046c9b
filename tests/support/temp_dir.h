// A temporary directory for one test, removed with everything in it when the
// TempDir goes out of scope (kept when SLUICE_KEEP_TEST_DIRS is set, for debugging).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace sluice::test {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "sluice-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Writes (replaces) a whole file.
void WriteFile(const std::filesystem::path& path, std::string_view content);
// Appends to a file, creating it if needed.
void AppendFile(const std::filesystem::path& path, std::string_view content);
std::string ReadFile(const std::filesystem::path& path);
// The whole file, or "" when it cannot be read (a log not written yet).
std::string ReadFileIfExists(const std::filesystem::path& path);
// The file from byte `offset` on (what a server's log gained since then), or "".
std::string ReadFileFrom(const std::filesystem::path& path, uint64_t offset);
// Its size, or 0 when it does not exist.
uint64_t FileSizeOr0(const std::filesystem::path& path);

}  // namespace sluice::test
