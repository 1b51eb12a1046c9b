// `sluice transfer copy|sync` and `sluice transfer drop` with S3 on a real S3
// API server (s3rver), through the real binary: a tree up and back down
// (verified byte for byte, on the server's disk too), sync that copies only
// what changed and deletes what went, the server stopped mid-transfer and
// restarted, kill -9 then a rerun, and partner drops landing in an S3 lake.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <thread>

#include "tests/support/s3rver.h"
#include "tests/support/temp_dir.h"
#include "tests/support/transfer_cli.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::vector<std::string> S3Args(std::vector<std::string> head, const S3rver& s3) {
  head.insert(head.end(), {"--s3-endpoint", s3.endpoint(), "--s3-part-size", "5M"});
  return head;
}

// A tree with what S3 keys make awkward: spaces, Unicode in both normal forms,
// a newline, nested and empty directories, an empty file, a multipart-sized file.
void MakeS3Tree(const fs::path& root) {
  fs::create_directories(root / "dir with space" / "deeper" / "deepest");
  fs::create_directories(root / "empty dir");
  WriteFile(root / "dir with space" / "a.csv", "a,b\n1,2\n");
  WriteFile(root / "dir with space" / "deeper" / "deepest" / "leaf.json", "{\"x\":1}\n");
  WriteFile(root / "caf\xc3\xa9 (NFC).txt", "nfc");
  WriteFile(root / "cafe\xcc\x81 (NFD).txt", "nfd");
  WriteFile(root / "line\nbreak", "newline in the name");
  WriteFile(root / "empty", "");
  WriteRandomFile(root / "big.bin", (11u << 20) + 12345, 42);
  // Written an hour ago: an object stored in the same second as the file's
  // last change is copied again (S3 keeps whole seconds), and this test wants
  // the second sync to find everything up to date.
  const int64_t hour_ago =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() -
      3600;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) SetMtime(e.path(), hour_ago);
  }
}

// What the server stored for every file of `tree`, read from its own disk.
void CheckStored(const S3rver& s3, const std::string& prefix, const std::map<std::string, TreeEntry>& tree) {
  for (const auto& [path, e] : tree) {
    if (e.type != 'f') continue;
    INFO(path);
    const fs::path stored = s3.ObjectFile("lake", prefix + "/" + path);
    REQUIRE(fs::exists(stored));
    CHECK(Sha256File(stored) == e.sha256);
  }
}

}  // namespace

TEST_CASE("transfer S3: a tree up to S3 and back, then sync copies only changes", "[transfer][s3]") {
  TempDir dir("sluice-s3");
  S3rver s3(dir / "s3");
  const auto env = S3rver::ClientEnvironment();
  MakeS3Tree(dir / "src");
  const auto tree = ReadTree(dir / "src");

  RunResult up = RunSluiceTransfer(S3Args({"copy", dir / "src", "s3://lake/up", "--report", dir / "up.json"}, s3),
                                   dir.path(), 5min, env);
  INFO(up.Describe());
  REQUIRE(up.status.Exited(0));
  const nlohmann::json report = ReadJsonFile(dir / "up.json");
  CHECK(report.at("totals").at("files_copied") == 7);
  CHECK(report.at("totals").at("failed") == 0);
  CHECK(ReportEntryFor(report, "big.bin").at("hash") == tree.at("big.bin").sha256);
  CheckStored(s3, "up", tree);
  // Only the empty directory needs a marker; the others exist through their keys.
  CHECK(fs::exists(s3.ObjectFile("lake", "up/empty dir/")));
  CHECK_FALSE(fs::exists(s3.ObjectFile("lake", "up/dir with space/")));

  // Down again into an empty directory: the same tree.
  RunResult down = RunSluiceTransfer(S3Args({"copy", "s3://lake/up", dir / "down"}, s3), dir.path(), 5min, env);
  INFO(down.Describe());
  REQUIRE(down.status.Exited(0));
  CHECK(ReadTree(dir / "down") == tree);

  // A second sync finds everything up to date.
  RunResult again = RunSluiceTransfer(S3Args({"sync", dir / "src", "s3://lake/up", "--report", dir / "again.json"}, s3),
                                      dir.path(), 5min, env);
  REQUIRE(again.status.Exited(0));
  CHECK(ReadJsonFile(dir / "again.json").at("totals").at("files_copied") == 0);
  CHECK(ReadJsonFile(dir / "again.json").at("totals").at("files_up_to_date") == 7);

  // Changed content (same size, newer mtime) is copied; a removed file is
  // deleted with --delete; nothing else is touched.
  std::this_thread::sleep_for(1100ms);  // S3 keeps whole seconds
  WriteFile(dir / "src" / "dir with space" / "a.csv", "x,y\n3,4\n");
  fs::remove(dir / "src" / "empty");
  RunResult changed =
      RunSluiceTransfer(S3Args({"sync", dir / "src", "s3://lake/up", "--delete", "--report", dir / "sync.json"}, s3),
                        dir.path(), 5min, env);
  INFO(changed.Describe());
  REQUIRE(changed.status.Exited(0));
  const nlohmann::json sync = ReadJsonFile(dir / "sync.json");
  CHECK(sync.at("totals").at("files_copied") == 1);
  CHECK(sync.at("totals").at("deleted") == 1);
  CHECK(ReadFile(s3.ObjectFile("lake", "up/dir with space/a.csv")) == "x,y\n3,4\n");
  CHECK_FALSE(fs::exists(s3.ObjectFile("lake", "up/empty")));

  // One object by its full key.
  RunResult one = RunSluiceTransfer(S3Args({"copy", "s3://lake/up/big.bin", dir / "one"}, s3), dir.path(), 5min, env);
  REQUIRE(one.status.Exited(0));
  CHECK(Sha256File(dir / "one" / "big.bin") == tree.at("big.bin").sha256);
}

TEST_CASE("transfer S3: bad credentials, bucket and options are clear errors", "[transfer][s3]") {
  TempDir dir("sluice-s3-err");
  S3rver s3(dir / "s3");
  fs::create_directories(dir / "src");
  WriteFile(dir / "src" / "f", "x");
  auto env = S3rver::ClientEnvironment();

  RunResult no_bucket =
      RunSluiceTransfer(S3Args({"copy", dir / "src", "s3://missing-bucket/x"}, s3), dir.path(), 5min, env);
  CHECK(no_bucket.status.Exited(1));
  CHECK(no_bucket.err.find("NoSuchBucket") != std::string::npos);

  RunResult bad_url = RunSluiceTransfer({"copy", (dir / "src").string(), "s3://Bad_Bucket/x"}, dir.path(), 5min, env);
  CHECK(bad_url.status.Exited(2));
  CHECK(bad_url.err.find("not an S3 bucket name") != std::string::npos);

  RunResult bad_part =
      RunSluiceTransfer({"copy", (dir / "src").string(), "s3://lake/x", "--s3-part-size", "1M"}, dir.path(), 5min, env);
  CHECK(bad_part.status.Exited(2));
  CHECK(bad_part.err.find("--s3-part-size") != std::string::npos);

  env[0].second = "WRONG";  // AWS_ACCESS_KEY_ID
  RunResult denied = RunSluiceTransfer(S3Args({"copy", dir / "src", "s3://lake/x"}, s3), dir.path(), 5min, env);
  CHECK(denied.status.Exited(1));
  CHECK(denied.err.find("InvalidAccessKeyId") != std::string::npos);
  CHECK(denied.err.find(S3rver::kSecretKey) == std::string::npos);
}

TEST_CASE("transfer S3: the server stopped mid-transfer and restarted, then kill -9 and a rerun", "[transfer][s3]") {
  TempDir dir("sluice-s3-fault");
  S3rver s3(dir / "s3");
  const auto env = S3rver::ClientEnvironment();
  fs::create_directories(dir / "src");
  for (int i = 0; i < 12; ++i) WriteRandomFile(dir / "src" / fmt::format("f{:02}.bin", i), 6u << 20, 100 + i);
  const auto tree = ReadTree(dir / "src");

  // The server goes away while files are in flight and comes back on the same
  // port: the retries carry every file through.
  Process run = StartSluiceTransfer(S3Args({"copy", (dir / "src").string(), "s3://lake/f", "--transfers", "2",
                                            "--retries", "8", "--report", (dir / "r1.json").string()},
                                           s3),
                                    dir.path(), env);
  REQUIRE(WaitUntil(
      60s, [&] { return fs::exists(dir / "s3" / "data" / "lake" / "f"); }, 10ms));
  s3.Stop();
  std::this_thread::sleep_for(1500ms);
  s3.Start();
  const std::optional<ExitStatus> ended = run.WaitFor(5min);
  REQUIRE(ended.has_value());
  INFO(run.ReadStderr());
  CHECK(ended->Exited(0));
  CheckStored(s3, "f", tree);

  // kill -9 in the middle of a second copy; a rerun finishes it, and what the
  // first one completed is up to date.
  Process killed = StartSluiceTransfer(S3Args({"copy", (dir / "src").string(), "s3://lake/g", "--transfers", "1"}, s3),
                                       dir.path(), env);
  REQUIRE(WaitUntil(
      60s, [&] { return fs::exists(s3.ObjectFile("lake", "g/f01.bin")); }, 10ms));
  killed.Kill9();
  RunResult rerun = RunSluiceTransfer(S3Args({"copy", dir / "src", "s3://lake/g", "--report", dir / "r2.json"}, s3),
                                      dir.path(), 5min, env);
  INFO(rerun.Describe());
  REQUIRE(rerun.status.Exited(0));
  CHECK(ReadJsonFile(dir / "r2.json").at("totals").at("files_up_to_date") >= 2);
  CheckStored(s3, "g", tree);
}

TEST_CASE("drop: partner files land in an S3 lake, each exactly once", "[drop][s3]") {
  TempDir tmp("sluice-drop-s3");
  S3rver s3(tmp / "s3");
  const auto env = S3rver::ClientEnvironment();
  fs::create_directories(tmp / "in" / "sub");
  WriteFile(tmp / "drop.toml", fmt::format(R"([drop]
data_dir = "{0}/state"
[drops.acme]
source = "{0}/in"
recursive = true
destination = "s3://lake/landing"
s3_endpoint = "{1}"
poll = "50ms"
stable_for = "0s"
after = "delete"
land_as = "raw/{{drop}}/{{path}}"
)",
                                           tmp.path().string(), s3.endpoint()));
  WriteFile(tmp / "in" / "a.csv", "first\n");
  WriteFile(tmp / "in" / "sub" / "b.json", "{}\n");
  WriteRandomFile(tmp / "in" / "big.bin", 7u << 20, 9);
  const std::string big_sha = Sha256File(tmp / "in" / "big.bin");
  auto once = [&] {
    return RunSluiceTransfer({"drop", "--config", (tmp / "drop.toml").string(), "--once"}, tmp.path(), 5min, env);
  };
  RunResult first = once();
  INFO(first.Describe());
  REQUIRE(first.status.Exited(0));
  CHECK(ReadFile(s3.ObjectFile("lake", "landing/raw/acme/a.csv")) == "first\n");
  CHECK(ReadFile(s3.ObjectFile("lake", "landing/raw/acme/sub/b.json")) == "{}\n");
  CHECK(Sha256File(s3.ObjectFile("lake", "landing/raw/acme/big.bin")) == big_sha);
  CHECK_FALSE(fs::exists(tmp / "in" / "a.csv"));
  // No temporary key and no directory marker is left in the lake.
  int objects = 0;
  for (const auto& e : fs::recursive_directory_iterator(tmp / "s3" / "data" / "lake")) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with("._S3rver_object")) continue;
    INFO(e.path());
    CHECK(name != "._S3rver_object");
    CHECK_FALSE(name.starts_with("."));
    ++objects;
  }
  CHECK(objects == 3);

  // The same name again with new content is a new version; the same content is a duplicate.
  WriteFile(tmp / "in" / "a.csv", "second\n");
  REQUIRE(once().status.Exited(0));
  WriteFile(tmp / "in" / "a.csv", "first\n");
  REQUIRE(once().status.Exited(0));
  CHECK(ReadFile(s3.ObjectFile("lake", "landing/raw/acme/a.v2.csv")) == "second\n");
  CHECK_FALSE(fs::exists(s3.ObjectFile("lake", "landing/raw/acme/a.v3.csv")));

  // --check accepts the s3:// destination; a bad bucket name is a config error with file and key.
  RunResult check =
      RunSluiceTransfer({"drop", "--config", (tmp / "drop.toml").string(), "--check"}, tmp.path(), 5min, env);
  CHECK(check.status.Exited(0));
  WriteFile(tmp / "bad.toml", "[drops.x]\nsource = \"/in\"\ndestination = \"s3://No_Such\"\n");
  RunResult bad = RunSluiceTransfer({"drop", "--config", (tmp / "bad.toml").string(), "--check"}, tmp.path());
  CHECK(bad.status.Exited(2));
  CHECK(bad.err.find("bad.toml:3") != std::string::npos);
  CHECK(bad.err.find("drops.x.destination") != std::string::npos);
}

}  // namespace sluice::test
