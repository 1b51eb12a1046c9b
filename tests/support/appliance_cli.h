// Driving `sluice appliance` from integration tests: running it, a key set
// made by its own keygen, the test tree the issue asks for (small files,
// large and sparse files, empty files and directories, Unicode and non-UTF-8
// names, symlinks), and device surgery for tamper tests (flipping a bit,
// re-signing a manifest edited on purpose).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/process.h"

namespace sluice::test {

// `sluice appliance <args...>` with progress off unless the args say otherwise;
// `env` is added to the environment (S3 credentials for import to s3://).
RunResult RunAppliance(const std::vector<std::string>& args, const std::filesystem::path& log_dir,
                       std::chrono::milliseconds timeout = std::chrono::minutes(5),
                       std::vector<std::pair<std::string, std::string>> env = {});
Process StartAppliance(const std::vector<std::string>& args, const std::filesystem::path& log_dir);

struct ApplianceKeys {
  std::filesystem::path dir;
  std::string sign_key() const { return (dir / "sign.key").string(); }
  std::string public_key() const { return (dir / "sign.pub").string(); }
  std::string encrypt_key() const { return (dir / "encrypt.key").string(); }
};
// Runs `sluice appliance keygen --out dir` (REQUIREs it to succeed).
ApplianceKeys MakeApplianceKeys(const std::filesystem::path& dir);

// `small` small files (100 per directory, 0..3 KiB, deterministic), plus the
// awkward entries: empty files, empty and nested directories, NFC and NFD
// names, a non-UTF-8 name, a newline in a name, relative symlinks, a 3 MiB
// random file, a 20 MiB sparse file and a file of exactly 1 MiB.
void MakeApplianceTree(const std::filesystem::path& root, size_t small);

// Flips bit `bit` of byte `offset` in `path`.
void FlipBit(const std::filesystem::path& path, uint64_t offset, int bit);

// Re-signs DEVICE/manifest.jsonl (after a test edited it) with `sign_key`.
void ResignManifest(const std::filesystem::path& device, const std::string& sign_key_file);

}  // namespace sluice::test
