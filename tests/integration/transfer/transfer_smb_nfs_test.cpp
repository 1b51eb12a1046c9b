// `sluice transfer` between every pair of (local, sftp, smb, nfs, s3), each
// a real server (sshd, smbd, nfs-ganesha, s3rver) on a small tree of awkward
// names, verified on the servers' own disks; and smbd and ganesha stopped
// mid-transfer and restarted, the file resumed from its verified prefix.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/ganesha.h"
#include "tests/support/s3rver.h"
#include "tests/support/smbd.h"
#include "tests/support/sshd.h"
#include "tests/support/temp_dir.h"
#include "tests/support/transfer_cli.h"
#include "tests/support/wait.h"
#include "transfer/smb/smb_names.h"

namespace sluice::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Tree = std::map<std::string, TreeEntry>;

// Names every endpoint must carry (S3 keys limit the longest to s3rver's 200
// bytes; SMB stores the newline as a look-alike): no symlinks, which SMB and
// S3 cannot hold.
void MakeMatrixTree(const fs::path& root) {
  fs::create_directories(root / "dir with spaces/nested");
  fs::create_directories(root / "empty-dir");
  WriteFile(root / "dir with spaces/nested/file name.txt", "spaces");
  WriteFile(root / "caf\xC3\xA9-nfc", "nfc");
  WriteFile(root / "cafe\xCC\x81-nfd", "nfd");
  WriteFile(root / "new\nline", "newline");
  WriteFile(root / "a:colon?", "reserved on SMB");
  WriteFile(root / std::string(S3rver::kMaxNameBytes, 'L'), "a long component");
  WriteFile(root / "empty", "");
  WriteRandomFile(root / "big.bin", (1u << 20) + 4321, 5);
}

// The tree without its directories (S3 keeps no empty directory a listing
// of objects shows).
Tree FilesOnly(const Tree& t) {
  Tree out;
  for (const auto& [path, e] : t) {
    if (e.type != 'd') out.emplace(path, e);
  }
  return out;
}

struct Servers {
  explicit Servers(const TempDir& dir)
      : sshd(dir / "sshd"), smbd(dir / "smbd"), ganesha(dir / "ganesha"), s3(dir / "s3rver"), local(dir / "local") {
    fs::create_directories(local);
  }
  Sshd sshd;
  Smbd smbd;
  Ganesha ganesha;
  S3rver s3;
  fs::path local;

  std::string Url(const std::string& kind, const std::string& name) const {
    if (kind == "local") return (local / name).string();
    if (kind == "sftp") return sshd.Url(sshd.data_dir() / name);
    if (kind == "smb") return smbd.Url(name);
    if (kind == "nfs") return ganesha.Url(name);
    return "s3://lake/" + name;
  }
  std::vector<std::string> Flags() const {
    return {"--ssh-key",           sshd.client_key().string(),
            "--known-hosts",       sshd.known_hosts().string(),
            "--s3-endpoint",       s3.endpoint(),
            "--smb-password-file", smbd.password_file().string()};
  }
  // What `kind` holds under `name`, read from the server's own disk.
  Tree Read(const std::string& kind, const std::string& name, const fs::path& scratch) const {
    if (kind == "local") return ReadTree(local / name);
    if (kind == "sftp") return ReadTree(sshd.data_dir() / name);
    if (kind == "nfs") return ReadTree(ganesha.export_dir() / name);
    if (kind == "smb") {
      Tree out;
      for (auto& [path, e] : ReadTree(smbd.share_dir() / name)) out.emplace(transfer::DecodeSmbName(path), e);
      return out;
    }
    const fs::path mirror = scratch / ("mirror-" + name);
    s3.MirrorObjects("lake", name + "/", mirror);
    return ReadTree(mirror);
  }
};

RunResult Transfer(const Servers& s, const TempDir& dir, std::vector<std::string> args) {
  const std::vector<std::string> flags = s.Flags();
  args.insert(args.end(), flags.begin(), flags.end());
  return RunSluiceTransfer(args, dir.path(), 2min, S3rver::ClientEnvironment());
}

}  // namespace

TEST_CASE("transfer matrix: copy and sync between every pair of local, sftp, smb, nfs and s3",
          "[integration][transfer][smb][nfs]") {
  TempDir dir("xfer-matrix");
  Servers servers(dir);
  const fs::path src = dir / "src";
  MakeMatrixTree(src);
  const Tree want = ReadTree(src);
  const std::vector<std::string> kinds = {"local", "sftp", "smb", "nfs", "s3"};
  // Copy from the local tree to each kind; then sync from each kind to every other one.
  for (const std::string& to : kinds) {
    if (to == "local") continue;
    const RunResult r = Transfer(servers, dir, {"copy", src.string(), servers.Url(to, "from-local")});
    INFO("copy local -> " << to << ": " << r.Describe());
    REQUIRE(r.status.Exited(0));
    const Tree got = servers.Read(to, "from-local", dir.path());
    CHECK((to == "s3" ? FilesOnly(got) == FilesOnly(want) : got == want));
  }
  for (const std::string& from : kinds) {
    if (from == "local") continue;
    for (const std::string& to : kinds) {
      if (to == from) continue;
      const std::string name = from + "-to-" + to;
      const RunResult r =
          Transfer(servers, dir, {"sync", servers.Url(from, "from-local"), servers.Url(to, name), "--checksum"});
      INFO("sync " << from << " -> " << to << ": " << r.Describe());
      REQUIRE(r.status.Exited(0));
      const Tree got = servers.Read(to, name, dir.path());
      // S3 keeps no empty directory, so a tree that went through it has none.
      const bool files_only = from == "s3" || to == "s3";
      CHECK((files_only ? FilesOnly(got) == FilesOnly(want) : got == want));
      if (from != "s3" && (to == "smb" || to == "nfs" || to == "local")) {
        const auto& b = got.at("big.bin");
        CHECK(b.mtime_s == want.at("big.bin").mtime_s);  // mtime preserved both ways
      }
    }
  }
  // sync --delete removes what the destination has and the source does not.
  WriteFile(servers.smbd.share_dir() / "nfs-to-smb" / "extra", "not in the source");
  const RunResult del =
      Transfer(servers, dir, {"sync", servers.Url("nfs", "from-local"), servers.Url("smb", "nfs-to-smb"), "--delete"});
  INFO(del.Describe());
  REQUIRE(del.status.Exited(0));
  CHECK_FALSE(fs::exists(servers.smbd.share_dir() / "nfs-to-smb" / "extra"));
  CHECK(servers.Read("smb", "nfs-to-smb", dir.path()) == want);
}

TEST_CASE("transfer smb and nfs: the server stopped mid-transfer and restarted, the file resumed",
          "[integration][transfer][smb][nfs]") {
  TempDir dir("xfer-smbnfs-fault");
  fs::create_directories(dir / "src");
  const uint64_t size = 12ull << 20;
  WriteRandomFile(dir / "src/big.bin", size, 17);
  const std::string kind = GENERATE(as<std::string>{}, "smb", "nfs");
  std::optional<Smbd> smbd;
  std::optional<Ganesha> ganesha;
  std::string url;
  fs::path landed;  // the destination directory on the server's disk
  std::vector<std::string> flags = {"--bwlimit", "4M", "--retries", "10", "--report", (dir / "r.json").string()};
  if (kind == "smb") {
    smbd.emplace(dir / "smbd");
    url = smbd->Url("in");
    landed = smbd->share_dir() / "in";
    flags.insert(flags.end(), {"--smb-password-file", smbd->password_file().string()});
  } else {
    ganesha.emplace(dir / "ganesha");
    url = ganesha->Url("in");
    landed = ganesha->export_dir() / "in";
  }
  std::vector<std::string> args = {"copy", (dir / "src").string(), url};
  args.insert(args.end(), flags.begin(), flags.end());
  Process run = StartSluiceTransfer(args, dir.path());
  const fs::path partial = landed / ".sluice-big.bin.part";
  REQUIRE(WaitUntil(
      60s, [&] { return fs::exists(partial) && fs::file_size(partial) > (3ull << 20); }, 20ms));
  if (smbd) {
    smbd->Stop();
    std::this_thread::sleep_for(500ms);  // down long enough for requests to fail
    smbd->Start();
  } else {
    ganesha->Stop();
    std::this_thread::sleep_for(500ms);
    ganesha->Start();
  }
  const std::optional<ExitStatus> ended = run.WaitFor(120s);
  REQUIRE(ended.has_value());
  INFO(kind << ": " << (ended ? ended->ToString() : "running") << ": " << run.ReadStderr());
  REQUIRE(ended->Exited(0));
  const nlohmann::json e = ReportEntryFor(ReadJsonFile(dir / "r.json"), "big.bin");
  INFO(e.dump());
  CHECK(e.at("resumed_from").get<uint64_t>() > 0);
  CHECK(e.at("hash") == Sha256File(dir / "src/big.bin"));
  CHECK(Sha256File(landed / "big.bin") == Sha256File(dir / "src/big.bin"));
  CHECK_FALSE(fs::exists(partial));
}

}  // namespace sluice::test
