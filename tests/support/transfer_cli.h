// Driving `sluice transfer` from integration tests, and looking at what it
// left behind: a tree's entries with their types, sizes, contents' SHA-256,
// link targets and modes (to compare a source and a destination exactly), and
// the JSON report.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace sluice::test {

// Runs `sluice transfer <args...>` (progress off unless the args say
// otherwise) in `log_dir`, to completion.
RunResult RunSluiceTransfer(const std::vector<std::string>& args, const std::filesystem::path& log_dir,
                            std::chrono::milliseconds timeout = std::chrono::minutes(5),
                            std::vector<std::pair<std::string, std::string>> env = {});

// Starts it without waiting (for kill -9 tests).
Process StartSluiceTransfer(const std::vector<std::string>& args, const std::filesystem::path& log_dir,
                            std::vector<std::pair<std::string, std::string>> env = {});

struct TreeEntry {
  char type = '?';  // f file, d directory, l symlink
  uint64_t size = 0;
  std::string sha256;  // files
  std::string target;  // symlinks
  unsigned mode = 0;   // permission bits
  int64_t mtime_s = 0;
  bool operator==(const TreeEntry& o) const {
    return type == o.type && size == o.size && sha256 == o.sha256 && target == o.target;
  }
};

// Every entry below `root`, by relative path, not following symlinks. Skips
// names for which `skip` returns true (e.g. the copier's partial files).
std::map<std::string, TreeEntry> ReadTree(const std::filesystem::path& root, bool skip_partials = true);

std::string Sha256File(const std::filesystem::path& path);

nlohmann::json ReadJsonFile(const std::filesystem::path& path);

// The report entry for `path`, or null.
nlohmann::json ReportEntryFor(const nlohmann::json& report, const std::string& path);

// Sets a file's (or symlink's) atime and mtime to `seconds` since the epoch.
void SetMtime(const std::filesystem::path& path, int64_t seconds);

// The awkward names every endpoint must carry, under `root`: spaces, NFC and
// NFD forms of one name, a newline, a 255-byte component, an empty file, an
// empty directory, a 3 MiB file (big.bin) and a symlink to it (link-to-big).
void MakeAwkwardTree(const std::filesystem::path& root);

// A file of `size` deterministic pseudo-random bytes (seeded), written in
// 1 MiB pieces without holding it in memory.
void WriteRandomFile(const std::filesystem::path& path, uint64_t size, uint64_t seed);

}  // namespace sluice::test
