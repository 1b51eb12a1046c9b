// Tampering with a device: every single-bit flip in a seeded sample of
// positions across bundles, large-file objects and the manifest is found by
// verify (plain and encrypted devices); a truncated bundle, a missing file, an
// extra file, an edited manifest line (re-signed or not), a reordered or
// deleted custody event, a wrong public key and a wrong encryption key are
// each found with a message that says what is wrong where.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "appliance/digest.h"
#include "tests/support/appliance_cli.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"
#include "tests/support/transfer_cli.h"

namespace sluice::test {
namespace fs = std::filesystem;

namespace {

// A small device: 3 bundles (200 files, 80 per bundle) and 3 large-file objects.
struct TamperDevice {
  TempDir dir{"appliance-tamper"};
  ApplianceKeys keys;
  fs::path src = dir / "src", dev = dir / "device";
  bool encrypted;

  explicit TamperDevice(bool encrypt) : keys(MakeApplianceKeys(dir / "keys")), encrypted(encrypt) {
    MakeApplianceTree(src, 200);
    std::vector<std::string> args = {"export", src, dev, "--sign-key", keys.sign_key(), "--bundle-files", "80"};
    if (encrypt) args.insert(args.end(), {"--encrypt-key", keys.encrypt_key()});
    const RunResult ex = RunAppliance(args, dir.path());
    INFO(ex.Describe());
    REQUIRE(ex.status.Exited(0));
  }
  RunResult Verify(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"verify", dev, "--public-key", keys.public_key()};
    if (encrypted) args.insert(args.end(), {"--encrypt-key", keys.encrypt_key()});
    args.insert(args.end(), extra.begin(), extra.end());
    return RunAppliance(args, dir.path());
  }
  // The custody log grows with every verify; tests that edit it keep a copy.
  void SaveCustody() const {
    fs::copy_file(dev / "custody.jsonl", dir / "custody.saved", fs::copy_options::overwrite_existing);
  }
  void RestoreCustody() const {
    fs::copy_file(dir / "custody.saved", dev / "custody.jsonl", fs::copy_options::overwrite_existing);
  }
};

std::vector<fs::path> DeviceDataFiles(const fs::path& dev) {
  std::vector<fs::path> out;
  for (const char* sub : {"bundles", "files"}) {
    for (const auto& e : fs::directory_iterator(dev / sub)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void FlipSampleAndVerify(TamperDevice& d, uint64_t seed, int flips_per_file) {
  std::mt19937_64 rng(seed);
  std::vector<fs::path> targets = DeviceDataFiles(d.dev);
  REQUIRE(targets.size() >= 5);
  const bool sealed = fs::exists(d.dev / "manifest.jsonl.sealed");
  targets.push_back(d.dev / (sealed ? "manifest.jsonl.sealed" : "manifest.jsonl"));
  d.SaveCustody();
  for (const fs::path& file : targets) {
    const uint64_t size = fs::file_size(file);
    for (int k = 0; k < flips_per_file; ++k) {
      const uint64_t offset = std::uniform_int_distribution<uint64_t>(0, size - 1)(rng);
      const int bit = static_cast<int>(rng() % 8);
      FlipBit(file, offset, bit);
      const RunResult r = d.Verify();
      FlipBit(file, offset, bit);
      d.RestoreCustody();
      INFO(file.string() << " byte " << offset << " bit " << bit << "\n" << r.Describe());
      CHECK(r.status.Exited(1));
      CHECK(r.err.find("PROBLEM") != std::string::npos);
    }
  }
  const RunResult clean = d.Verify();
  INFO(clean.Describe());
  CHECK(clean.status.Exited(0));
}

}  // namespace

TEST_CASE("appliance: every sampled bit flip in bundles, files and the manifest is found", "[integration][appliance]") {
  const uint64_t seed = TestSeed("appliance bit flips");
  TamperDevice plain(false);
  FlipSampleAndVerify(plain, seed, 3);
  TamperDevice sealed(true);
  FlipSampleAndVerify(sealed, seed + 1, 2);
}

TEST_CASE("appliance: truncated, missing and extra files are each named", "[integration][appliance]") {
  TamperDevice d(false);
  const fs::path bundle = DeviceDataFiles(d.dev).at(1);  // the second bundle
  const std::string bundle_name = "bundles/" + bundle.filename().string();
  REQUIRE(bundle.parent_path().filename() == "bundles");
  const std::string whole = ReadFile(bundle);
  d.SaveCustody();

  fs::resize_file(bundle, whole.size() - 100);
  RunResult r = d.Verify();
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("PROBLEM " + bundle_name + ": ") != std::string::npos);
  CHECK(r.err.find("truncated") != std::string::npos);
  WriteFile(bundle, whole);
  d.RestoreCustody();

  fs::rename(bundle, d.dir / "moved-away");
  r = d.Verify();
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("PROBLEM " + bundle_name + ": missing") != std::string::npos);
  fs::rename(d.dir / "moved-away", bundle);
  d.RestoreCustody();

  WriteFile(d.dev / "files/000099", "smuggled");
  r = d.Verify();
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("PROBLEM files/000099: extra file") != std::string::npos);
  // Import refuses a device holding anything the manifest does not list.
  const RunResult im =
      RunAppliance({"import", d.dev, d.dir / "dst", "--public-key", d.keys.public_key()}, d.dir.path());
  CHECK(im.status.Exited(1));
  CHECK(im.err.find("refusing to import") != std::string::npos);
  CHECK_FALSE(fs::exists(d.dir / "dst"));
  fs::remove(d.dev / "files/000099");
  d.RestoreCustody();
  CHECK(d.Verify().status.Exited(0));
}

TEST_CASE("appliance: a damaged tar header that is not UTF-8 is reported, and the report is written",
          "[integration][appliance]") {
  // Found by the bit flips above: a flip in a bundle's pax header made the
  // reader quote a key of bytes that are not UTF-8, and writing the JSON
  // report then threw and aborted verify.
  TempDir dir("appliance-tamper");
  const ApplianceKeys keys = MakeApplianceKeys(dir / "keys");
  const fs::path src = dir / "src", dev = dir / "device";
  fs::create_directories(src);
  WriteFile(src / std::string(150, 'n'), "a long name: a pax header precedes it");
  const RunResult ex =
      RunAppliance({"export", src, dev, "--sign-key", keys.sign_key(), "--compress", "none"}, dir.path());
  INFO(ex.Describe());
  REQUIRE(ex.status.Exited(0));
  const fs::path bundle = DeviceDataFiles(dev).at(0);
  std::string bytes = ReadFile(bundle);
  const size_t key = bytes.find(" path=");
  REQUIRE(key != std::string::npos);
  bytes[key + 1] = '\x81';
  WriteFile(bundle, bytes);

  const RunResult r = RunAppliance({"verify", dev, "--public-key", keys.public_key()}, dir.path());
  INFO(r.Describe());
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("unexpected pax key '\\x81ath'") != std::string::npos);
  const nlohmann::json report = nlohmann::json::parse(ReadFile(dev / "verify-report.json"));
  CHECK(report.dump().find("\\x81ath") != std::string::npos);
}

TEST_CASE("appliance: an edited manifest line is found, signed again or not", "[integration][appliance]") {
  TamperDevice d(false);
  const fs::path mpath = d.dev / "manifest.jsonl";
  const std::string original = ReadFile(mpath);
  d.SaveCustody();
  // Claim another size for the first small file.
  std::string edited = original;
  const size_t at = edited.find("\"size\":", edited.find("small/d0000/f000001"));
  REQUIRE(at != std::string::npos);
  edited.replace(at, 7, "\"size\":9");
  WriteFile(mpath, edited);

  RunResult r = d.Verify();
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("manifest.sig does not match") != std::string::npos);

  // Signed again by the holder of the key (or checked without a signature):
  // the trailer's hash over the lines still catches the edit.
  ResignManifest(d.dev, d.keys.sign_key());
  r = d.Verify();
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("the trailer's SHA-256 does not match") != std::string::npos);
  r = RunAppliance({"verify", d.dev, "--insecure-unsigned"}, d.dir.path());
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("the trailer's SHA-256 does not match") != std::string::npos);
  WriteFile(mpath, original);
  ResignManifest(d.dev, d.keys.sign_key());
  d.RestoreCustody();
  CHECK(d.Verify().status.Exited(0));
}

TEST_CASE("appliance: a reordered or deleted custody event breaks the chain at a named line",
          "[integration][appliance]") {
  TamperDevice d(false);
  REQUIRE(d.Verify().status.Exited(0));
  REQUIRE(d.Verify().status.Exited(0));  // four events now
  const fs::path log = d.dev / "custody.jsonl";
  const std::string original = ReadFile(log);
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < original.size();) {
    const size_t nl = original.find('\n', pos);
    lines.push_back(original.substr(pos, nl + 1 - pos));
    pos = nl + 1;
  }
  REQUIRE(lines.size() == 4);

  WriteFile(log, lines[0] + lines[1] + lines[3] + lines[2]);
  RunResult r = RunAppliance({"log", d.dev}, d.dir.path());
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("custody.jsonl line 3: the chain is broken") != std::string::npos);
  r = d.Verify();
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("PROBLEM custody.jsonl") != std::string::npos);

  WriteFile(log, lines[0] + lines[2] + lines[3]);
  r = RunAppliance({"log", d.dev}, d.dir.path());
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("custody.jsonl line 2: the chain is broken") != std::string::npos);

  // The whole log replaced (here: emptied): the signed manifest records its first event's hash.
  WriteFile(log, "");
  r = d.Verify();
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("the first event is not the one the signed manifest records") != std::string::npos);

  WriteFile(log, original);
  r = RunAppliance({"log", d.dev}, d.dir.path());
  INFO(r.Describe());
  CHECK(r.status.Exited(0));
  CHECK(r.err.find("4 events, hash chain intact") != std::string::npos);
}

TEST_CASE("appliance: a wrong public key or a wrong encryption key is refused with a clear message",
          "[integration][appliance]") {
  TamperDevice d(true);
  const ApplianceKeys other = MakeApplianceKeys(d.dir / "other-keys");
  RunResult r = RunAppliance(
      {"verify", d.dev, "--public-key", other.public_key(), "--encrypt-key", d.keys.encrypt_key()}, d.dir.path());
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("signed with another key") != std::string::npos);
  r = RunAppliance(
      {"import", d.dev, d.dir / "dst", "--public-key", other.public_key(), "--encrypt-key", d.keys.encrypt_key()},
      d.dir.path());
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("refusing to import") != std::string::npos);
  CHECK_FALSE(fs::exists(d.dir / "dst"));

  r = RunAppliance({"verify", d.dev, "--public-key", d.keys.public_key(), "--encrypt-key", other.encrypt_key()},
                   d.dir.path());
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("wrong encryption key") != std::string::npos);

  // An unsigned manifest is refused unless the caller says otherwise.
  fs::rename(d.dev / "manifest.sig", d.dir / "sig");
  r = d.Verify();
  CHECK(r.status.Exited(1));
  CHECK(r.err.find("the manifest is unsigned") != std::string::npos);
  fs::rename(d.dir / "sig", d.dev / "manifest.sig");
}

}  // namespace sluice::test
