// `sluice appliance import DEVICE s3://bucket/prefix` through the real binary
// against a real S3 API server (s3rver): packed small files, a multipart-sized
// large file, an empty file, Unicode names and an empty directory arrive as
// objects that an independent client (the AWS SDK for JavaScript) downloads
// byte for byte equal to the source; a rerun stores nothing again; symlinks
// are refused unless --skip-symlinks; a device tampered with stores nothing
// for the bad file.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/appliance_cli.h"
#include "tests/support/s3rver.h"
#include "tests/support/temp_dir.h"
#include "tests/support/transfer_cli.h"

namespace sluice::test {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> ImportToS3(const fs::path& dev, const std::string& url, const ApplianceKeys& keys,
                                    const S3rver& s3, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {
      "import",          dev.string(),     url, "--public-key", keys.public_key(), "--s3-endpoint", s3.endpoint(),
      "--s3-path-style", "--s3-part-size", "5M"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// The regular files of a tree, by path, with their contents' hashes.
std::map<std::string, TreeEntry> FilesOf(const fs::path& root) {
  std::map<std::string, TreeEntry> files;
  for (const auto& [path, e] : ReadTree(root)) {
    if (e.type == 'f') files[path] = e;
  }
  return files;
}

void MakeS3ApplianceTree(const fs::path& src) {
  fs::create_directories(src / "small/a");
  fs::create_directories(src / "small/b");
  fs::create_directories(src / "empty dir");
  for (int i = 0; i < 40; ++i) {
    WriteRandomFile(src / (i % 2 ? "small/a" : "small/b") / fmt::format("f{:03}.bin", i), 100 + 97 * i, 1000 + i);
  }
  WriteRandomFile(src / "large.bin", (6u << 20) + 4321, 7);  // over --pack-under and one 5 MiB part
  WriteFile(src / "empty", "");
  WriteFile(src / "caf\xc3\xa9 \xe2\x82\xac.txt", "unicode name\n");
  fs::create_directories(src / "\xe6\x97\xa5\xe6\x9c\xac");
  WriteFile(src / "\xe6\x97\xa5\xe6\x9c\xac" / "\xc3\xa9t\xc3\xa9.csv", "a,b\n1,2\n");
}

}  // namespace

TEST_CASE("appliance: import to s3:// stores every file as an object, and a rerun stores nothing again",
          "[integration][appliance][s3]") {
  TempDir dir("appliance-s3");
  S3rver s3(dir / "s3");
  const auto env = S3rver::ClientEnvironment();
  const ApplianceKeys keys = MakeApplianceKeys(dir / "keys");
  const fs::path src = dir / "src", dev = dir / "device";
  MakeS3ApplianceTree(src);
  fs::create_symlink("large.bin", src / "link");

  const RunResult ex = RunAppliance({"export", src, dev, "--sign-key", keys.sign_key()}, dir.path());
  INFO(ex.Describe());
  REQUIRE(ex.status.Exited(0));

  // Symlinks cannot be objects: refused before anything is stored.
  const RunResult refused =
      RunAppliance(ImportToS3(dev, "s3://lake/imp", keys, s3), dir.path(), std::chrono::minutes(5), env);
  INFO(refused.Describe());
  CHECK(refused.status.Exited(2));
  CHECK(refused.err.find("--skip-symlinks") != std::string::npos);
  CHECK_FALSE(fs::exists(s3.ObjectFile("lake", "imp/large.bin")));

  const RunResult im = RunAppliance(ImportToS3(dev, "s3://lake/imp", keys, s3, {"--skip-symlinks", "--transfers", "3"}),
                                    dir.path(), std::chrono::minutes(5), env);
  INFO(im.Describe());
  REQUIRE(im.status.Exited(0));
  const size_t files = FilesOf(src).size();
  CHECK(im.err.find(fmt::format("{} files written", files)) != std::string::npos);
  CHECK(im.err.find("1 symlinks left out") != std::string::npos);
  CHECK(im.err.find("modes and mtimes are not kept") != std::string::npos);

  // What an independent client downloads is the source, file for file.
  s3.DownloadWithSdk("lake", "imp", dir / "back");
  CHECK(FilesOf(dir / "back") == FilesOf(src));
  CHECK(fs::exists(s3.ObjectFile("lake", "imp/empty dir/")));
  CHECK(fs::is_directory(dir / "back" / "empty dir"));
  CHECK_FALSE(fs::exists(s3.ObjectFile("lake", "imp/link")));

  // A rerun finds every object stored and confirmed, and stores none again.
  const auto before = fs::last_write_time(s3.ObjectFile("lake", "imp/large.bin"));
  const RunResult again = RunAppliance(ImportToS3(dev, "s3://lake/imp", keys, s3, {"--skip-symlinks"}), dir.path(),
                                       std::chrono::minutes(5), env);
  INFO(again.Describe());
  REQUIRE(again.status.Exited(0));
  CHECK(again.err.find(fmt::format("0 files written (0 bytes), {} already in place", files)) != std::string::npos);
  CHECK(fs::last_write_time(s3.ObjectFile("lake", "imp/large.bin")) == before);

  // An object changed on the store is found wrong by the rerun and stored again.
  WriteFile(s3.ObjectFile("lake", "imp/small/a/f001.bin"), std::string(197, 'x'));
  const RunResult fix = RunAppliance(ImportToS3(dev, "s3://lake/imp", keys, s3, {"--skip-symlinks"}), dir.path(),
                                     std::chrono::minutes(5), env);
  INFO(fix.Describe());
  REQUIRE(fix.status.Exited(0));
  CHECK(fix.err.find("1 files written") != std::string::npos);
  s3.DownloadWithSdk("lake", "imp", dir / "back2");
  CHECK(FilesOf(dir / "back2") == FilesOf(src));

  // The custody log names the store.
  const RunResult log = RunAppliance({"log", dev}, dir.path());
  REQUIRE(log.status.Exited(0));
  CHECK(log.out.find("imported") != std::string::npos);
  CHECK(ReadFile(dev / "custody.jsonl").find("\"dest\":\"s3://lake/imp\"") != std::string::npos);
}

TEST_CASE("appliance: import to s3:// stores nothing for a file whose device bytes are wrong",
          "[integration][appliance][s3]") {
  TempDir dir("appliance-s3-bad");
  S3rver s3(dir / "s3");
  const auto env = S3rver::ClientEnvironment();
  const ApplianceKeys keys = MakeApplianceKeys(dir / "keys");
  const fs::path src = dir / "src", dev = dir / "device";
  MakeS3ApplianceTree(src);
  const RunResult ex =
      RunAppliance({"export", src, dev, "--sign-key", keys.sign_key(), "--compress", "none"}, dir.path());
  REQUIRE(ex.status.Exited(0));
  // The large file is its own object: a flipped bit in it is caught while read.
  fs::path large;
  for (const auto& e : fs::directory_iterator(dev / "files")) large = e.path();
  REQUIRE(!large.empty());
  FlipBit(large, 1234567, 3);

  const RunResult im =
      RunAppliance(ImportToS3(dev, "s3://lake/bad", keys, s3), dir.path(), std::chrono::minutes(5), env);
  INFO(im.Describe());
  CHECK(im.status.Exited(1));
  CHECK(im.err.find("large.bin") != std::string::npos);
  CHECK_FALSE(fs::exists(s3.ObjectFile("lake", "bad/large.bin")));
  CHECK(fs::exists(s3.ObjectFile("lake", "bad/empty")));
}

}  // namespace sluice::test
