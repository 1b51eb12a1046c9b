#include "tests/support/appliance_cli.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <stdexcept>

#include "appliance/digest.h"
#include "appliance/format.h"
#include "appliance/keys.h"
#include "core/util/utf8.h"
#include "tests/support/no_instance_metadata.h"
#include "tests/support/temp_dir.h"
#include "tests/support/transfer_cli.h"

namespace sluice::test {
namespace fs = std::filesystem;

namespace {

ProcessOptions ApplianceOptions(const std::vector<std::string>& args, const fs::path& log_dir,
                                std::vector<std::pair<std::string, std::string>> env = {}) {
  ProcessOptions o;
  o.env = NoInstanceMetadata(std::move(env));
  o.program = SLUICE_BINARY;
  o.args = {"appliance"};
  o.args.insert(o.args.end(), args.begin(), args.end());
  const bool has_progress =
      std::any_of(args.begin(), args.end(), [](const std::string& a) { return a.rfind("--progress", 0) == 0; });
  const bool takes_progress = !args.empty() && (args[0] == "export" || args[0] == "verify" || args[0] == "import");
  if (takes_progress && !has_progress) o.args.push_back("--progress=none");
  o.log_dir = log_dir;
  o.name = "sluice-appliance";
  o.append_logs = false;
  return o;
}

}  // namespace

RunResult RunAppliance(const std::vector<std::string>& args, const fs::path& log_dir, std::chrono::milliseconds timeout,
                       std::vector<std::pair<std::string, std::string>> env) {
  return RunToCompletion(ApplianceOptions(args, log_dir, std::move(env)), timeout);
}

Process StartAppliance(const std::vector<std::string>& args, const fs::path& log_dir) {
  return Process(ApplianceOptions(args, log_dir));
}

ApplianceKeys MakeApplianceKeys(const fs::path& dir) {
  const RunResult r = RunAppliance({"keygen", "--out", dir.string()}, dir.parent_path());
  INFO(r.Describe());
  REQUIRE(r.status.Exited(0));
  return ApplianceKeys{dir};
}

void MakeApplianceTree(const fs::path& root, size_t small) {
  fs::create_directories(root / "empty-dir");
  fs::create_directories(root / "deep/er/and/deeper");
  for (size_t i = 0; i < small; ++i) {
    const fs::path dir = root / fmt::format("small/d{:04}", i / 100);
    if (i % 100 == 0) fs::create_directories(dir);
    // Contents differ per file; sizes 0..3 KiB.
    std::string body = fmt::format("file {} ", i);
    body.resize((i * 37) % 3072, static_cast<char>('a' + i % 26));
    WriteFile(dir / fmt::format("f{:06}", i), body);
  }
  WriteFile(root / "empty", "");
  WriteFile(root / "deep/er/and/deeper/empty too", "");
  WriteFile(root / "caf\xC3\xA9-nfc", "nfc");
  WriteFile(root / "cafe\xCC\x81-nfd", "nfd");
  WriteFile(root / "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E.txt", "unicode");
  WriteFile(root / "latin1-\xE9\xFF-not-utf8", "not utf-8");
  WriteFile(root / "new\nline", "newline");
  WriteFile(root / std::string(200, 'L'), "a name longer than ustar's 100 bytes");
  WriteRandomFile(root / "big.bin", 3 * 1024 * 1024 + 5, 3);
  WriteRandomFile(root / "exactly-1MiB", 1 << 20, 4);
  {
    // Sparse: a hole, 4 KiB of data, a hole.
    const fs::path sparse = root / "sparse.img";
    const int fd = ::open(sparse.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    const std::string data(4096, 'S');
    REQUIRE(::pwrite(fd, data.data(), data.size(), 10 << 20) == 4096);
    REQUIRE(::ftruncate(fd, 20 << 20) == 0);
    ::close(fd);
  }
  fs::create_symlink("big.bin", root / "link-to-big");
  fs::create_symlink("../../empty", root / "deep/er/link-up");
  fs::create_symlink("deep/er", root / "link-to-dir");
  REQUIRE(::chmod((root / "empty").c_str(), 0600) == 0);
  REQUIRE(::chmod((root / "deep/er").c_str(), 0750) == 0);
}

void FlipBit(const fs::path& path, uint64_t offset, int bit) {
  const int fd = ::open(path.c_str(), O_RDWR);
  if (fd < 0) throw std::runtime_error("cannot open " + path.string());
  unsigned char b = 0;
  if (::pread(fd, &b, 1, static_cast<off_t>(offset)) != 1) throw std::runtime_error("cannot read " + path.string());
  b ^= static_cast<unsigned char>(1u << bit);
  if (::pwrite(fd, &b, 1, static_cast<off_t>(offset)) != 1) throw std::runtime_error("cannot write " + path.string());
  ::close(fd);
}

void ResignManifest(const fs::path& device, const std::string& sign_key_file) {
  Result<appliance::SignKey> key = appliance::LoadSignKey(sign_key_file);
  REQUIRE(key.ok());
  const std::string text = ReadFile(device / appliance::kManifestName);
  WriteFile(device / appliance::kSignatureName, Base64(appliance::Sign(key.value(), text)) + "\n");
}

}  // namespace sluice::test
