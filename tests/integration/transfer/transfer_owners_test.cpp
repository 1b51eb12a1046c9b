// `sluice transfer copy --owners / --no-owners` between local and SFTP and
// between local and NFS (real sshd and nfs-ganesha, No_Root_Squash), run as
// root: the numeric uid/gid set on the source (1234:2345, 4321:5432) arrive on
// the server's own disk and back; --no-owners leaves what the destination
// makes; a destination that refuses the chown (a non-root SFTP login) is a
// warning in the report, not a failure. Owners are on by default as root.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/ganesha.h"
#include "tests/support/sshd.h"
#include "tests/support/temp_dir.h"
#include "tests/support/transfer_cli.h"

namespace sluice::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::pair<uint32_t, uint32_t> OwnerOf(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return {~0u, ~0u};
  return {st.st_uid, st.st_gid};
}

// a.txt 1234:2345 (0640), sub/ 1234:5432, sub/b.bin 4321:5432, root.txt left to root.
void MakeOwnedTree(const fs::path& root) {
  fs::create_directories(root / "sub");
  WriteFile(root / "a.txt", "owned by 1234");
  WriteRandomFile(root / "sub/b.bin", (2u << 20) + 17, 3);
  WriteFile(root / "root.txt", "owned by root");
  REQUIRE(::chown((root / "a.txt").c_str(), 1234, 2345) == 0);
  REQUIRE(::chmod((root / "a.txt").c_str(), 0640) == 0);
  REQUIRE(::chown((root / "sub/b.bin").c_str(), 4321, 5432) == 0);
  REQUIRE(::chown((root / "sub").c_str(), 1234, 5432) == 0);
}

void CheckOwners(const fs::path& root) {
  INFO(root.string());
  CHECK(OwnerOf(root / "a.txt") == std::pair<uint32_t, uint32_t>{1234, 2345});
  CHECK((fs::status(root / "a.txt").permissions() & fs::perms::mask) == static_cast<fs::perms>(0640));
  CHECK(OwnerOf(root / "sub/b.bin") == std::pair<uint32_t, uint32_t>{4321, 5432});
  CHECK(OwnerOf(root / "sub") == std::pair<uint32_t, uint32_t>{1234, 5432});
  CHECK(OwnerOf(root / "root.txt") == std::pair<uint32_t, uint32_t>{0, 0});
}

// Root's files all: what a destination written by root without --owners holds.
void CheckAllRoot(const fs::path& root) {
  INFO(root.string());
  for (const char* f : {"a.txt", "sub", "sub/b.bin", "root.txt"}) {
    CHECK(OwnerOf(root / f) == std::pair<uint32_t, uint32_t>{0, 0});
  }
}

}  // namespace

TEST_CASE("transfer owners: uid/gid kept local to and from sftp and nfs as root, not with --no-owners",
          "[integration][transfer][sftp][nfs]") {
  REQUIRE(::geteuid() == 0);  // the suite runs as root (CI, scripts/setup.sh): only root can give files away
  TempDir dir("xfer-owners");
  MakeOwnedTree(dir / "src");
  const std::string want_b = Sha256File(dir / "src/sub/b.bin");

  SECTION("sftp") {
    Sshd sshd(dir / "sshd");
    const std::vector<std::string> auth = {"--ssh-key", sshd.client_key().string(), "--known-hosts",
                                           sshd.known_hosts().string()};
    auto run = [&](std::vector<std::string> args) {
      args.insert(args.end(), auth.begin(), auth.end());
      return RunSluiceTransfer(args, dir.path());
    };
    // The default as root: owners on.
    RunResult up = run({"copy", (dir / "src").string(), sshd.Url(sshd.data_dir() / "up")});
    INFO(up.Describe());
    REQUIRE(up.status.Exited(0));
    CheckOwners(sshd.data_dir() / "up");
    CHECK(Sha256File(sshd.data_dir() / "up/sub/b.bin") == want_b);

    RunResult down = run({"copy", sshd.Url(sshd.data_dir() / "up"), (dir / "down").string(), "--owners"});
    INFO(down.Describe());
    REQUIRE(down.status.Exited(0));
    CheckOwners(dir / "down");

    RunResult plain = run({"copy", (dir / "src").string(), sshd.Url(sshd.data_dir() / "plain"), "--no-owners"});
    INFO(plain.Describe());
    REQUIRE(plain.status.Exited(0));
    CheckAllRoot(sshd.data_dir() / "plain");
    RunResult plain_down =
        run({"copy", sshd.Url(sshd.data_dir() / "up"), (dir / "plain-down").string(), "--no-owners"});
    REQUIRE(plain_down.status.Exited(0));
    CheckAllRoot(dir / "plain-down");
  }

  SECTION("nfs") {
    Ganesha ganesha(dir / "ganesha");
    RunResult up = RunSluiceTransfer({"copy", (dir / "src").string(), ganesha.Url("up"), "--owners"}, dir.path());
    INFO(up.Describe());
    REQUIRE(up.status.Exited(0));
    CheckOwners(ganesha.export_dir() / "up");
    CHECK(Sha256File(ganesha.export_dir() / "up/sub/b.bin") == want_b);

    RunResult down = RunSluiceTransfer({"copy", ganesha.Url("up"), (dir / "down").string()}, dir.path());
    INFO(down.Describe());
    REQUIRE(down.status.Exited(0));
    CheckOwners(dir / "down");

    RunResult plain =
        RunSluiceTransfer({"copy", (dir / "src").string(), ganesha.Url("plain"), "--no-owners"}, dir.path());
    INFO(plain.Describe());
    REQUIRE(plain.status.Exited(0));
    CheckAllRoot(ganesha.export_dir() / "plain");
  }
}

TEST_CASE("transfer owners: a destination that refuses the owner is a warning, the file still copied",
          "[integration][transfer][sftp]") {
  REQUIRE(::geteuid() == 0);  // to make the source's owners and the SFTP user
  TempDir dir("xfer-owners-refused");
  MakeOwnedTree(dir / "src");
  SshdOptions o;
  o.password = true;
  Sshd sshd(dir / "sshd", o);
  const passwd* user = getpwnam(sshd.password_user().c_str());
  REQUIRE(user != nullptr);
  const fs::path remote = sshd.data_dir() / "in";
  fs::create_directories(remote);
  REQUIRE(::chown(remote.c_str(), user->pw_uid, user->pw_gid) == 0);

  // Logged in as a user who may not give files away.
  const RunResult r =
      RunSluiceTransfer({"copy", dir / "src", sshd.Url(remote, sshd.password_user()), "--owners", "--ssh-password-file",
                         sshd.password_file(), "--known-hosts", sshd.known_hosts(), "--report", dir / "r.json"},
                        dir.path());
  INFO(r.Describe());
  CHECK(r.status.Exited(0));
  CHECK_THAT(r.err, Catch::Contains("WARNING a.txt"));
  const nlohmann::json report = ReadJsonFile(dir / "r.json");
  const nlohmann::json a = ReportEntryFor(report, "a.txt");
  CHECK(a.at("outcome") == "copied");
  CHECK_THAT(a.at("warning").get<std::string>(), Catch::Contains("1234:2345"));
  // The three files (root.txt too: 0:0 is not the user's either) and sub/.
  CHECK(report.at("totals").at("warnings") == 4);
  CHECK_THAT(ReportEntryFor(report, "sub").at("warning").get<std::string>(), Catch::Contains("1234:5432"));
  CHECK(report.at("totals").at("failed") == 0);
  // What could be kept was: the content and the mode, owned by the user.
  CHECK(ReadFile(remote / "a.txt") == "owned by 1234");
  CHECK((fs::status(remote / "a.txt").permissions() & fs::perms::mask) == static_cast<fs::perms>(0640));
  CHECK(OwnerOf(remote / "a.txt") == std::pair<uint32_t, uint32_t>{user->pw_uid, user->pw_gid});
}

}  // namespace sluice::test
