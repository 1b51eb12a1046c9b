// Import refuses crafted manifests that would write outside DST (`..`, an
// absolute path, a symlink pointing out, a file below a symlink, a duplicate
// path), writing nothing; and kill -9 at random moments of an export, then a
// rerun, completes the export without re-copying what was committed, and
// the device verifies and imports exactly.
#include <fmt/format.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "appliance/manifest.h"
#include "tests/support/appliance_cli.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"
#include "tests/support/transfer_cli.h"

namespace sluice::test {
namespace fs = std::filesystem;

namespace {

// Exports a tiny tree, then rewrites its manifest with `edit` applied and
// signs it again with the exporter's key (the attacker here holds the key:
// the import's own checks are what is tested).
void CraftManifest(const fs::path& dev, const ApplianceKeys& keys,
                   const std::function<void(appliance::Manifest&)>& edit) {
  const std::string text = ReadFile(dev / "manifest.jsonl");
  Result<appliance::Manifest> m = appliance::ParseManifest(text, "manifest.jsonl");
  REQUIRE(m.ok());
  edit(m.value());
  WriteFile(dev / "manifest.jsonl", appliance::EncodeManifest(m.value()));
  ResignManifest(dev, keys.sign_key());
}

appliance::Entry& EntryAt(appliance::Manifest& m, const std::string& path) {
  for (appliance::Entry& e : m.entries) {
    if (e.path == path) return e;
  }
  FAIL("no entry " << path);
  return m.entries.front();
}

}  // namespace

TEST_CASE("appliance: import refuses crafted manifests that escape the destination", "[integration][appliance]") {
  TempDir dir("appliance-escape");
  const ApplianceKeys keys = MakeApplianceKeys(dir / "keys");
  fs::create_directories(dir / "src/sub");
  WriteFile(dir / "src/a.txt", "a");
  WriteFile(dir / "src/sub/b.txt", "b");
  fs::create_symlink("a.txt", dir / "src/ln");
  const fs::path dst = dir / "deep/dst";

  struct Case {
    const char* name;
    std::function<void(appliance::Manifest&)> edit;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"dot-dot", [](appliance::Manifest& m) { EntryAt(m, "a.txt").path = "../../etc/passwd"; }, "'..' component"},
      {"absolute", [](appliance::Manifest& m) { EntryAt(m, "a.txt").path = "/tmp/sluice-escape"; }, "absolute path"},
      {"symlink-out", [](appliance::Manifest& m) { EntryAt(m, "ln").target = "../../../outside"; },
       "symlink target climbs out of the destination"},
      {"symlink-absolute", [](appliance::Manifest& m) { EntryAt(m, "ln").target = "/etc"; },
       "symlink to an absolute path"},
      {"below-symlink", [](appliance::Manifest& m) { EntryAt(m, "sub/b.txt").path = "ln/b.txt"; },
       "lies below the symlink ln"},
      {"duplicate", [](appliance::Manifest& m) { EntryAt(m, "sub/b.txt").path = "a.txt"; }, "duplicate path a.txt"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const fs::path dev = dir / (std::string("device-") + c.name);
    const RunResult ex = RunAppliance({"export", dir / "src", dev, "--sign-key", keys.sign_key()}, dir.path());
    REQUIRE(ex.status.Exited(0));
    CraftManifest(dev, keys, c.edit);
    const RunResult im = RunAppliance({"import", dev, dst, "--public-key", keys.public_key()}, dir.path());
    INFO(im.Describe());
    CHECK(im.status.Exited(1));
    CHECK(im.err.find("refusing to import") != std::string::npos);
    CHECK(im.err.find(c.message) != std::string::npos);
    CHECK_FALSE(fs::exists(dst));
    CHECK_FALSE(fs::exists(dir / "etc/passwd"));
    CHECK_FALSE(fs::exists(dir / "outside"));
    CHECK_FALSE(fs::exists("/tmp/sluice-escape"));
  }

  // A symlink already in DST is not written through either.
  fs::create_directories(dst);
  fs::create_directories(dir / "elsewhere");
  fs::create_directory_symlink(dir / "elsewhere", dst / "sub");
  const fs::path dev = dir / "device-clean";
  REQUIRE(RunAppliance({"export", dir / "src", dev, "--sign-key", keys.sign_key()}, dir.path()).status.Exited(0));
  const RunResult im = RunAppliance({"import", dev, dst, "--public-key", keys.public_key()}, dir.path());
  INFO(im.Describe());
  CHECK(im.status.Exited(1));
  CHECK(im.err.find("is not a directory: refusing to write through it") != std::string::npos);
  CHECK(fs::is_empty(dir / "elsewhere"));
}

TEST_CASE("appliance: kill -9 at random moments of an export, then a rerun completes and verifies",
          "[integration][appliance]") {
  const uint64_t seed = TestSeed("appliance kill -9");
  std::mt19937_64 rng(seed);
  TempDir dir("appliance-kill");
  const ApplianceKeys keys = MakeApplianceKeys(dir / "keys");
  const fs::path src = dir / "src", dev = dir / "device";
  MakeApplianceTree(src, 2'000);
  for (int i = 0; i < 4; ++i) WriteRandomFile(src / fmt::format("large-{}", i), 6 << 20, 20 + i);
  const std::vector<std::string> args = {
      "export", src, dev, "--sign-key", keys.sign_key(), "--encrypt-key", keys.encrypt_key(), "--bundle-files", "150"};
  // Kill at a random moment until ten kills have landed while the export ran;
  // an export that finished first is started over from an empty device, so
  // every kill interrupts real work.
  int killed_running = 0;
  for (int round = 0; killed_running < 10 && round < 60; ++round) {
    Process p = StartAppliance(args, dir.path());
    const auto delay = std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 200)(rng));
    std::this_thread::sleep_for(delay);
    const ExitStatus st = p.Kill9();
    INFO("round " << round << " after " << delay.count() << " ms: " << st.ToString());
    if (st.signal == SIGKILL) {
      ++killed_running;
      // An interrupted export does not verify (killed before it made the
      // device directory, there is no device to speak of: a usage error).
      const RunResult v = RunAppliance({"verify", dev, "--public-key", keys.public_key()}, dir.path());
      CHECK(v.status.Exited(fs::exists(dev) ? 1 : 2));
    } else {
      REQUIRE(st.Exited(0));
      fs::remove_all(dev);
    }
  }
  REQUIRE(killed_running == 10);
  const bool committed = ReadFileIfExists(dev / ".sluice-export/journal.jsonl").find("\"commit\"") != std::string::npos;
  const RunResult ex = RunAppliance(args, dir.path());
  INFO(ex.Describe());
  REQUIRE(ex.status.Exited(0));
  // Committed objects were kept, not copied again.
  if (committed) CHECK(ex.err.find(", 0 kept") == std::string::npos);
  const RunResult v =
      RunAppliance({"verify", dev, "--public-key", keys.public_key(), "--encrypt-key", keys.encrypt_key()}, dir.path());
  INFO(v.Describe());
  REQUIRE(v.status.Exited(0));
  const RunResult im = RunAppliance(
      {"import", dev, dir / "dst", "--public-key", keys.public_key(), "--encrypt-key", keys.encrypt_key()}, dir.path());
  INFO(im.Describe());
  REQUIRE(im.status.Exited(0));
  CHECK(ReadTree(dir / "dst") == ReadTree(src));
  const RunResult log = RunAppliance({"log", dev}, dir.path());
  CHECK(log.status.Exited(0));
  // A resumed run says so in the custody log (unless the last kill came before
  // anything was committed, as happens with a slow sanitizer build).
  if (committed) CHECK(log.out.find("export_resumed") != std::string::npos);
}

}  // namespace sluice::test
