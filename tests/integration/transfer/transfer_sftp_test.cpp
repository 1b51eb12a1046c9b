// `sluice transfer` to and from a real OpenSSH sshd on 127.0.0.1, through the
// real binary: awkward names and symlinks both ways, key, passphrase and
// password authentication, a host key that does not match, 10,000 small
// files, a file larger than 4 GiB (sparse on our side, so it is not stored
// twice), a permission-denied file among good ones, and kill -9 mid-upload
// then a resume that verifies the kept prefix.
#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/support/sshd.h"
#include "tests/support/temp_dir.h"
#include "tests/support/transfer_cli.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

namespace fs = std::filesystem;

SshdOptions PasswordToo() {
  SshdOptions o;
  o.password = true;
  return o;
}

std::vector<std::string> KeyAuth(const Sshd& sshd) {
  return {"--ssh-key", sshd.client_key(), "--known-hosts", sshd.known_hosts()};
}

std::vector<std::string> Args(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

// Writes `bytes` at `offset` into an existing file.
void Poke(const fs::path& p, uint64_t offset, std::string_view bytes) {
  const int fd = ::open(p.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

std::string Peek(const fs::path& p, uint64_t offset, size_t n) {
  std::string out(n, '\0');
  const int fd = ::open(p.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pread(fd, out.data(), n, static_cast<off_t>(offset)) == static_cast<ssize_t>(n));
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("transfer sftp: awkward names, empty files and directories, symlinks, up and down",
          "[integration][sftp][transfer]") {
  TempDir dir("xfer-sftp");
  Sshd sshd(dir / "sshd");
  const fs::path src = dir / "src";
  MakeAwkwardTree(src);
  const fs::path remote = sshd.data_dir() / "up";

  const RunResult up =
      RunSluiceTransfer(Args({"copy", src, sshd.Url(remote), "--report", dir / "up.json"}, KeyAuth(sshd)), dir.path());
  INFO(up.err);
  REQUIRE(up.status.Exited(0));
  const auto want = ReadTree(src);
  CHECK(ReadTree(remote) == want);
  for (const auto& [path, e] : ReadTree(remote)) {
    INFO(path);
    if (e.type == 'f') CHECK(e.mtime_s == want.at(path).mtime_s);
  }
  const nlohmann::json report = ReadJsonFile(dir / "up.json");
  CHECK(ReportEntryFor(report, "big.bin").at("hash") == Sha256File(src / "big.bin"));

  const RunResult again = RunSluiceTransfer(
      Args({"copy", src, sshd.Url(remote), "--report", dir / "again.json"}, KeyAuth(sshd)), dir.path());
  REQUIRE(again.status.Exited(0));
  CHECK(ReadJsonFile(dir / "again.json").at("totals").at("files_copied") == 0);

  const RunResult down =
      RunSluiceTransfer(Args({"copy", sshd.Url(remote), dir / "down", "--checksum"}, KeyAuth(sshd)), dir.path());
  INFO(down.err);
  REQUIRE(down.status.Exited(0));
  CHECK(ReadTree(dir / "down") == want);

  // --links=follow uploads the target's bytes; skip leaves the link out.
  const RunResult follow = RunSluiceTransfer(
      Args({"copy", src, sshd.Url(sshd.data_dir() / "followed"), "--links=follow"}, KeyAuth(sshd)), dir.path());
  REQUIRE(follow.status.Exited(0));
  CHECK(fs::is_regular_file(fs::symlink_status(sshd.data_dir() / "followed/link-to-big")));
  CHECK(Sha256File(sshd.data_dir() / "followed/link-to-big") == Sha256File(src / "big.bin"));
  const RunResult skip = RunSluiceTransfer(
      Args({"copy", src, sshd.Url(sshd.data_dir() / "skipped"), "--links=skip"}, KeyAuth(sshd)), dir.path());
  REQUIRE(skip.status.Exited(0));
  CHECK_FALSE(fs::exists(fs::symlink_status(sshd.data_dir() / "skipped/link-to-big")));
}

TEST_CASE("transfer sftp: host keys are checked, keys, passphrases and passwords authenticate",
          "[integration][sftp][transfer]") {
  TempDir dir("xfer-sftp");
  Sshd sshd(dir / "sshd", PasswordToo());
  fs::create_directories(dir / "src");
  WriteFile(dir / "src/f", "payload");
  const fs::path remote = sshd.data_dir() / "in";

  SECTION("a changed host key is refused before anything is sent") {
    const RunResult r = RunSluiceTransfer({"copy", dir / "src", sshd.Url(remote), "--ssh-key", sshd.client_key(),
                                           "--known-hosts", sshd.wrong_known_hosts()},
                                          dir.path());
    CHECK(r.status.Exited(1));
    CHECK_THAT(r.err, Catch::Contains("host key") && Catch::Contains(sshd.wrong_known_hosts().string()));
    CHECK_FALSE(fs::exists(remote));
  }
  SECTION("an unknown host is refused, unless --accept-new-host-key, which records it") {
    const fs::path fresh = dir / "fresh_known_hosts";
    const RunResult refused = RunSluiceTransfer(
        {"copy", dir / "src", sshd.Url(remote), "--ssh-key", sshd.client_key(), "--known-hosts", fresh}, dir.path());
    CHECK(refused.status.Exited(1));
    CHECK_THAT(refused.err, Catch::Contains("accept-new-host-key"));
    const RunResult accepted = RunSluiceTransfer({"copy", dir / "src", sshd.Url(remote), "--ssh-key", sshd.client_key(),
                                                  "--known-hosts", fresh, "--accept-new-host-key"},
                                                 dir.path());
    INFO(accepted.err);
    CHECK(accepted.status.Exited(0));
    CHECK_THAT(ReadFile(fresh), Catch::Contains(fmt::format("[127.0.0.1]:{}", sshd.port())));
  }
  SECTION("an encrypted key with its passphrase file") {
    const RunResult r = RunSluiceTransfer(
        {"copy", dir / "src", sshd.Url(remote), "--ssh-key", sshd.encrypted_client_key(), "--ssh-key-passphrase-file",
         sshd.key_passphrase_file(), "--known-hosts", sshd.known_hosts()},
        dir.path());
    INFO(r.err);
    CHECK(r.status.Exited(0));
    CHECK(ReadFile(remote / "f") == "payload");
  }
  SECTION("a password from a file, and from SLUICE_SSH_PASSWORD; a wrong one fails clearly") {
    const fs::path home = sshd.data_dir();
    const std::string url = sshd.Url(home / "by-file", sshd.password_user());
    const RunResult by_file = RunSluiceTransfer(
        {"copy", dir / "src", url, "--ssh-password-file", sshd.password_file(), "--known-hosts", sshd.known_hosts()},
        dir.path());
    INFO(by_file.err);
    CHECK(by_file.status.Exited(0));
    CHECK(ReadFile(home / "by-file/f") == "payload");

    const RunResult by_env = RunSluiceTransfer(
        {"copy", dir / "src", sshd.Url(home / "by-env", sshd.password_user()), "--known-hosts", sshd.known_hosts()},
        dir.path(), std::chrono::minutes(1), {{"SLUICE_SSH_PASSWORD", ReadFile(sshd.password_file())}});
    INFO(by_env.err);
    CHECK(by_env.status.Exited(0));
    CHECK(ReadFile(home / "by-env/f") == "payload");

    WriteFile(dir / "wrong-password", "not-it");
    const RunResult wrong =
        RunSluiceTransfer({"copy", dir / "src", sshd.Url(home / "wrong", sshd.password_user()), "--ssh-password-file",
                           dir / "wrong-password", "--known-hosts", sshd.known_hosts()},
                          dir.path());
    CHECK(wrong.status.Exited(1));
    CHECK_THAT(wrong.err, Catch::Contains("authenticat"));
    CHECK_THAT(wrong.err, !Catch::Contains("not-it"));
  }
}

namespace {

#ifdef __SANITIZE_ADDRESS__
// Under the sanitizers each file costs ten times as much and runs the same
// code as the others: 2,000 files check the memory the pipeline touches; the
// release run keeps the full 10,000.
constexpr int kFilesPerDir = 200;
#else
constexpr int kFilesPerDir = 1000;
#endif
constexpr int kManyFiles = 10 * kFilesPerDir;

// 10,000 small files (2,000 under the sanitizers) in 10 directories.
void MakeManyFiles(const fs::path& root) {
  for (int d = 0; d < 10; ++d) {
    fs::create_directories(root / fmt::format("d{}", d));
    for (int i = 0; i < kFilesPerDir; ++i) {
      WriteFile(root / fmt::format("d{}/f{:04}", d, i), fmt::format("file {} {} {}", d, i, std::string(i % 97, 'x')));
    }
  }
}

}  // namespace

// Up and down are separate tests so that the suite can run them side by side.
TEST_CASE("transfer sftp: 10,000 small files up", "[integration][sftp][transfer]") {
  TempDir dir("xfer-sftp");
  Sshd sshd(dir / "sshd");
  const fs::path src = dir / "src";
  MakeManyFiles(src);
  const fs::path remote = sshd.data_dir() / "many";
  const RunResult up = RunSluiceTransfer(
      Args({"copy", src, sshd.Url(remote), "--transfers", "8", "--report", dir / "up.json"}, KeyAuth(sshd)), dir.path(),
      std::chrono::minutes(10));
  INFO(up.err);
  REQUIRE(up.status.Exited(0));
  CHECK(ReadJsonFile(dir / "up.json").at("totals").at("files_copied") == kManyFiles);
  CHECK(ReadTree(remote) == ReadTree(src));
}

TEST_CASE("transfer sftp: 10,000 small files down", "[integration][sftp][transfer]") {
  TempDir dir("xfer-sftp");
  Sshd sshd(dir / "sshd");
  const fs::path remote = sshd.data_dir() / "many";
  MakeManyFiles(remote);  // the server's files, written where its sftp-server reads them
  const RunResult down = RunSluiceTransfer(
      Args({"copy", sshd.Url(remote), dir / "down", "--transfers", "8", "--report", dir / "down.json"}, KeyAuth(sshd)),
      dir.path(), std::chrono::minutes(10));
  INFO(down.err);
  REQUIRE(down.status.Exited(0));
  CHECK(ReadJsonFile(dir / "down.json").at("totals").at("files_copied") == kManyFiles);
  CHECK(ReadTree(dir / "down") == ReadTree(remote));
}

TEST_CASE("transfer sftp: a file over 4 GiB, sparse on our side, arrives verified", "[integration][sftp][transfer]") {
  TempDir dir("xfer-sftp");
  Sshd sshd(dir / "sshd");
  fs::create_directories(dir / "src");
  const fs::path big = dir / "src/sparse.bin";
  const uint64_t size = (4ull << 30) + 4097;
  { std::ofstream(big, std::ios::binary).put('\0'); }
  fs::resize_file(big, size);
  // Marks where 32-bit offsets would wrap, so a truncated offset cannot pass.
  Poke(big, 0, "start");
  Poke(big, (2ull << 30) - 2, "2GiB");
  Poke(big, (4ull << 30) - 2, "4GiB");
  Poke(big, size - 3, "end");

  const fs::path remote = sshd.data_dir() / "big";
#ifdef __SANITIZE_ADDRESS__
  // Under the sanitizers, reading 4 GiB back costs a minute of the suite's
  // budget and checks no memory the small-file tests do not: the release run
  // keeps the read-back of offsets past 4 GiB.
  const std::string verify = "auto";
#else
  const std::string verify = "readback";
#endif
  const RunResult up = RunSluiceTransfer(
      Args({"copy", dir / "src", sshd.Url(remote), "--verify=" + verify, "--hash", "xxh128", "--report", dir / "r.json"},
           KeyAuth(sshd)),
      dir.path(), std::chrono::minutes(15));
  INFO(up.err);
  REQUIRE(up.status.Exited(0));
  const nlohmann::json e = ReportEntryFor(ReadJsonFile(dir / "r.json"), "sparse.bin");
  CHECK(e.at("verified_by") == (verify == "readback" ? "readback" : "size"));
  CHECK(e.at("bytes") == size);
  const fs::path landed = remote / "sparse.bin";
  CHECK(fs::file_size(landed) == size);
  for (const uint64_t at : std::vector<uint64_t>{0, (2ull << 30) - 2, (4ull << 30) - 2, size - 3}) {
    CHECK(Peek(landed, at, 3) == Peek(big, at, 3));
  }
  fs::remove(landed);  // 4 GiB of disk back at once
}

TEST_CASE("transfer sftp: a permission-denied file is reported and the rest is copied",
          "[integration][sftp][transfer]") {
  TempDir dir("xfer-sftp");
  Sshd sshd(dir / "sshd", PasswordToo());
  const fs::path remote = sshd.data_dir() / "out";
  fs::create_directories(remote);
  WriteFile(remote / "readable", "yes");
  WriteFile(remote / "secret", "root only");
  REQUIRE(chmod((remote / "secret").c_str(), 0600) == 0);
  REQUIRE(chown((remote / "secret").c_str(), 0, 0) == 0);
  const passwd* user = getpwnam(sshd.password_user().c_str());
  REQUIRE(user != nullptr);
  REQUIRE(chown(remote.c_str(), user->pw_uid, user->pw_gid) == 0);
  REQUIRE(chown((remote / "readable").c_str(), user->pw_uid, user->pw_gid) == 0);

  const RunResult r =
      RunSluiceTransfer({"copy", sshd.Url(remote, sshd.password_user()), dir / "down", "--ssh-password-file",
                         sshd.password_file(), "--known-hosts", sshd.known_hosts(), "--report", dir / "r.json"},
                        dir.path());
  CHECK(r.status.Exited(1));
  CHECK_THAT(r.err, Catch::Contains("FAILED secret"));
  CHECK(ReadFile(dir / "down/readable") == "yes");
  CHECK_FALSE(fs::exists(dir / "down/secret"));
  const nlohmann::json e = ReportEntryFor(ReadJsonFile(dir / "r.json"), "secret");
  CHECK(e.at("outcome") == "failed");
  CHECK_THAT(e.at("error").get<std::string>(), Catch::Contains("ermission"));
  CHECK(e.at("attempts") == 1);  // not worth a retry
}

TEST_CASE("transfer sftp: kill -9 mid-upload, then a resume that verifies the kept prefix",
          "[integration][sftp][transfer]") {
  TempDir dir("xfer-sftp");
  Sshd sshd(dir / "sshd");
  fs::create_directories(dir / "src");
  const uint64_t size = 48ull << 20;
  WriteRandomFile(dir / "src/big.bin", size, 11);
  const fs::path remote = sshd.data_dir() / "resume";

  Process slow =
      StartSluiceTransfer(Args({"copy", dir / "src", sshd.Url(remote), "--bwlimit", "16M"}, KeyAuth(sshd)), dir.path());
  const fs::path partial = remote / ".sluice-big.bin.part";
  REQUIRE(WaitUntil(std::chrono::seconds(60),
                    [&] { return fs::exists(partial) && fs::file_size(partial) > (8ull << 20); }));
  slow.Kill9();
  CHECK_FALSE(fs::exists(remote / "big.bin"));

  const RunResult resumed = RunSluiceTransfer(
      Args({"copy", dir / "src", sshd.Url(remote), "--report", dir / "r.json"}, KeyAuth(sshd)), dir.path());
  INFO(resumed.err);
  REQUIRE(resumed.status.Exited(0));
  const nlohmann::json e = ReportEntryFor(ReadJsonFile(dir / "r.json"), "big.bin");
  CHECK(e.at("resumed_from").get<uint64_t>() > 0);
  CHECK(e.at("bytes_written").get<uint64_t>() == size - e.at("resumed_from").get<uint64_t>());
  CHECK(e.at("hash") == Sha256File(dir / "src/big.bin"));
  CHECK(Sha256File(remote / "big.bin") == Sha256File(dir / "src/big.bin"));
  CHECK_FALSE(fs::exists(partial));
}

}  // namespace sluice::test
