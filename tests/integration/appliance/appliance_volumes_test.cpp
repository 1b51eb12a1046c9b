// `sluice appliance export SRC DEV1 DEV2 DEV3 --volume-size SIZE` through the
// real binary: an export onto three volumes with a large file split across
// two verifies and imports byte for byte with the volumes given in any order;
// a rerun after losing a chunk rewrites only that file, and one after kill -9
// at random moments completes across the volumes; too few volumes,
// a missing volume and a volume of another export are clear errors; a
// single-volume export stays format 1.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "tests/support/appliance_cli.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"
#include "tests/support/transfer_cli.h"

namespace sluice::test {
namespace fs = std::filesystem;

namespace {

// 3.5 MiB in one file (sorted first), then 1 MiB of incompressible small
// files: with 2 MiB volumes the large file fills volume 1 and half of 2, and
// the small files' bundles fill the rest of 2 and go on to 3.
void MakeVolumeTree(const fs::path& src) {
  fs::create_directories(src / "small/x");
  fs::create_directories(src / "empty dir");
  WriteRandomFile(src / "a-large.bin", (7u << 19) + 777, 11);
  for (int i = 0; i < 256; ++i) {
    WriteRandomFile(src / "small" / (i % 3 ? "" : "x") / fmt::format("f{:03}", i), 4096 - i, 100 + i);
  }
  WriteFile(src / "small/empty", "");
  WriteFile(src / "caf\xc3\xa9.txt", "unicode\n");
}

std::vector<std::string> ExportArgs(const fs::path& src, const std::vector<fs::path>& devs, const ApplianceKeys& keys) {
  std::vector<std::string> args = {"export", src.string()};
  for (const fs::path& d : devs) args.push_back(d.string());
  args.insert(args.end(), {"--volume-size", "2MiB", "--pack-under", "64KiB", "--sign-key", keys.sign_key()});
  return args;
}

nlohmann::json ManifestHeader(const fs::path& dev) {
  const std::string text = ReadFile(dev / "manifest.jsonl");
  return nlohmann::json::parse(text.substr(0, text.find('\n')));
}

}  // namespace

TEST_CASE("appliance: an export onto three volumes, one file split across two, verifies and imports in any order",
          "[integration][appliance]") {
  TempDir dir("appliance-vol");
  const ApplianceKeys keys = MakeApplianceKeys(dir / "keys");
  const fs::path src = dir / "src", v1 = dir / "v1", v2 = dir / "v2", v3 = dir / "v3";
  MakeVolumeTree(src);

  // Two volumes are not enough: refused before anything is written.
  const RunResult few = RunAppliance(ExportArgs(src, {v1, v2}, keys), dir.path());
  INFO(few.Describe());
  CHECK(few.status.Exited(2));
  CHECK(few.err.find("needs 3 volumes") != std::string::npos);
  CHECK_FALSE(fs::exists(v1 / "custody.jsonl"));

  const RunResult ex = RunAppliance(ExportArgs(src, {v1, v2, v3}, keys), dir.path());
  INFO(ex.Describe());
  REQUIRE(ex.status.Exited(0));
  CHECK(ex.err.find("3 volumes") != std::string::npos);
  // The large file in two chunks on volumes 1 and 2; every volume has the same signed manifest.
  CHECK(fs::exists(v1 / "files/000001.p1"));
  CHECK(fs::exists(v2 / "files/000001.p2"));
  CHECK_FALSE(fs::is_empty(v3 / "bundles"));
  for (const fs::path& v : {v1, v2, v3}) {
    INFO(v);
    CHECK(ReadFile(v / "manifest.jsonl") == ReadFile(v1 / "manifest.jsonl"));
    CHECK(ReadFile(v / "manifest.sig") == ReadFile(v1 / "manifest.sig"));
  }
  CHECK(ManifestHeader(v1).at("format") == 2);
  CHECK(ManifestHeader(v1).at("volumes") == 3);
  // Each volume stays within its size (the manifest copy comes on top).
  for (const fs::path& v : {v1, v2, v3}) {
    uint64_t bytes = 0;
    for (const auto& e : fs::recursive_directory_iterator(v)) {
      const std::string top = e.path().lexically_relative(v).begin()->string();
      if (e.is_regular_file() && (top == "bundles" || top == "files")) bytes += e.file_size();
    }
    CHECK(bytes <= (2u << 20));
  }

  const RunResult ver = RunAppliance({"verify", v3, v1, v2, "--public-key", keys.public_key()}, dir.path());
  INFO(ver.Describe());
  REQUIRE(ver.status.Exited(0));
  CHECK(ReadJsonFile(v1 / "verify-report.json").at("ok") == true);

  const RunResult im = RunAppliance({"import", v2, v3, v1, dir / "dst", "--public-key", keys.public_key()}, dir.path());
  INFO(im.Describe());
  REQUIRE(im.status.Exited(0));
  const auto want = ReadTree(src);
  const auto got = ReadTree(dir / "dst");
  CHECK(got == want);
  for (const auto& [path, e] : want) {
    INFO(path);
    REQUIRE(got.count(path) == 1);
    CHECK(got.at(path).mode == e.mode);
    if (e.type == 'f') CHECK(got.at(path).mtime_s == e.mtime_s);
  }

  // A chunk lost (and the export unfinished): the rerun writes that file's
  // two chunks again and keeps every other object.
  fs::remove(v2 / "files/000001.p2");
  for (const fs::path& v : {v1, v2, v3}) fs::remove(v / "manifest.jsonl");
  const RunResult again = RunAppliance(ExportArgs(src, {v1, v2, v3}, keys), dir.path());
  INFO(again.Describe());
  REQUIRE(again.status.Exited(0));
  CHECK(again.err.find("2 objects written") != std::string::npos);
  const RunResult ver2 = RunAppliance({"verify", v1, v2, v3, "--public-key", keys.public_key()}, dir.path());
  INFO(ver2.Describe());
  CHECK(ver2.status.Exited(0));
}

TEST_CASE("appliance: a missing volume and a volume of another export are named", "[integration][appliance]") {
  TempDir dir("appliance-vol-bad");
  const ApplianceKeys keys = MakeApplianceKeys(dir / "keys");
  const fs::path src = dir / "src";
  MakeVolumeTree(src);
  const std::vector<fs::path> a = {dir / "a1", dir / "a2", dir / "a3"}, b = {dir / "b1", dir / "b2", dir / "b3"};
  REQUIRE(RunAppliance(ExportArgs(src, a, keys), dir.path()).status.Exited(0));
  REQUIRE(RunAppliance(ExportArgs(src, b, keys), dir.path()).status.Exited(0));

  const RunResult missing = RunAppliance({"verify", a[2], a[0], "--public-key", keys.public_key()}, dir.path());
  INFO(missing.Describe());
  CHECK(missing.status.Exited(1));
  CHECK(missing.err.find("volume 2 is missing") != std::string::npos);

  // b2 is volume 2 of an export of the same tree with the same key: its manifest differs.
  const RunResult swapped = RunAppliance({"verify", a[0], b[1], a[2], "--public-key", keys.public_key()}, dir.path());
  INFO(swapped.Describe());
  CHECK(swapped.status.Exited(1));
  CHECK(swapped.err.find(b[1].string() + " holds a volume of another export") != std::string::npos);

  const RunResult im =
      RunAppliance({"import", a[0], b[1], a[2], dir / "dst", "--public-key", keys.public_key()}, dir.path());
  INFO(im.Describe());
  CHECK(im.status.Exited(1));
  CHECK(im.err.find("another export") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "dst"));

  const RunResult im_missing =
      RunAppliance({"import", a[0], a[1], dir / "dst", "--public-key", keys.public_key()}, dir.path());
  CHECK(im_missing.status.Exited(1));
  CHECK(im_missing.err.find("volume 3 is missing") != std::string::npos);

  // Without --volume-size an export is one device, format 1 (readable by format-1 readers).
  const RunResult one = RunAppliance({"export", src, dir / "one", "--sign-key", keys.sign_key()}, dir.path());
  REQUIRE(one.status.Exited(0));
  CHECK(ManifestHeader(dir / "one").at("format") == 1);
  CHECK_FALSE(ManifestHeader(dir / "one").contains("volumes"));
  CHECK(ReadFile(dir / "one" / "manifest.jsonl").find("\"volume\"") == std::string::npos);
  const RunResult two = RunAppliance({"export", src, dir / "t1", dir / "t2"}, dir.path());
  CHECK(two.status.Exited(2));
  CHECK(two.err.find("--volume-size") != std::string::npos);
}

TEST_CASE("appliance: kill -9 at random moments of a multi-volume export, then a rerun completes across volumes",
          "[integration][appliance]") {
  const uint64_t seed = TestSeed("appliance volumes kill -9");
  std::mt19937_64 rng(seed);
  TempDir dir("appliance-vol-kill");
  const ApplianceKeys keys = MakeApplianceKeys(dir / "keys");
  const fs::path src = dir / "src";
  MakeApplianceTree(src, 2'000);
  for (int i = 0; i < 4; ++i) WriteRandomFile(src / fmt::format("large-{}", i), 3 << 20, 40 + i);
  std::vector<std::string> args = {"export", src.string()};
  for (int v = 1; v <= 16; ++v) args.push_back((dir / fmt::format("v{:02}", v)).string());
  args.insert(args.end(), {"--volume-size", "4MiB", "--sign-key", keys.sign_key(), "--encrypt-key", keys.encrypt_key(),
                           "--bundle-files", "150"});
  auto clear = [&] {
    for (int v = 1; v <= 16; ++v) fs::remove_all(dir / fmt::format("v{:02}", v));
  };
  // As in the single-device test: until four kills have landed while the
  // export ran; a finished export is started over from empty volumes.
  int killed_running = 0;
  for (int round = 0; killed_running < 4 && round < 40; ++round) {
    Process p = StartAppliance(args, dir.path());
    const auto delay = std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 150)(rng));
    std::this_thread::sleep_for(delay);
    const ExitStatus st = p.Kill9();
    INFO("round " << round << " after " << delay.count() << " ms: " << st.ToString());
    if (st.signal == SIGKILL) {
      ++killed_running;
    } else {
      REQUIRE(st.Exited(0));
      clear();
    }
  }
  REQUIRE(killed_running == 4);
  // The journal (volume 1) holds its fingerprint line, then a sealed line per committed object.
  const std::string journal = ReadFileIfExists(dir / "v01/.sluice-export/journal.jsonl");
  const bool committed = std::count(journal.begin(), journal.end(), '\n') > 1;
  const RunResult ex = RunAppliance(args, dir.path());
  INFO(ex.Describe());
  REQUIRE(ex.status.Exited(0));
  // Committed objects, on whichever volume, were kept, not written again.
  if (committed) CHECK(ex.err.find(", 0 kept") == std::string::npos);
  const uint32_t volumes = ReadJsonFile(dir / "v01" / "volume.json").at("volumes").get<uint32_t>();
  REQUIRE(volumes >= 3);
  // Every volume, the last first.
  std::vector<std::string> given = {"verify"};
  for (uint32_t v = volumes; v >= 1; --v) given.push_back((dir / fmt::format("v{:02}", v)).string());
  given.insert(given.end(), {"--public-key", keys.public_key(), "--encrypt-key", keys.encrypt_key()});
  const RunResult ver = RunAppliance(given, dir.path());
  INFO(ver.Describe());
  REQUIRE(ver.status.Exited(0));
  given[0] = "import";
  given.insert(given.begin() + 1 + volumes, (dir / "dst").string());
  const RunResult im = RunAppliance(given, dir.path());
  INFO(im.Describe());
  REQUIRE(im.status.Exited(0));
  CHECK(ReadTree(dir / "dst") == ReadTree(src));
}

}  // namespace sluice::test
