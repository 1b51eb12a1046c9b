// `sluice transfer` between local directories, end to end through the real
// binary: the tree arrives exactly (names, contents, empty files and
// directories, symlinks, mtimes, modes), the report accounts for every entry,
// a second run copies nothing, sync --delete, --dry-run, --checksum, exit
// statuses, and kill -9 in the middle of a file then a resume that verifies
// the kept prefix.
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "tests/support/temp_dir.h"
#include "tests/support/transfer_cli.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace fs = std::filesystem;

TEST_CASE("transfer local: a tree with awkward names arrives exactly, and a second run copies nothing",
          "[integration][transfer]") {
  TempDir dir("xfer-local");
  const fs::path src = dir / "src", dst = dir / "dst/deeper";
  MakeAwkwardTree(src);
  REQUIRE(chmod((src / "empty").c_str(), 0600) == 0);
  SetMtime(src / "big.bin", 1'650'000'000);

  const RunResult first = RunSluiceTransfer({"copy", src, dst, "--report", dir / "report.json"}, dir.path());
  INFO(first.err);
  REQUIRE(first.status.Exited(0));
  const auto want = ReadTree(src);
  const auto got = ReadTree(dst);
  CHECK(got == want);
  for (const auto& [path, e] : want) {
    INFO(path);
    if (e.type == 'f') {
      CHECK(got.at(path).mtime_s == e.mtime_s);
      CHECK(got.at(path).mode == e.mode);
    }
  }
  CHECK(got.at("empty-dir").type == 'd');
  CHECK(got.at("link-to-big").target == "big.bin");

  const nlohmann::json report = ReadJsonFile(dir / "report.json");
  CHECK(report.at("ok") == true);
  CHECK(report.at("totals").at("files_copied") == 7);
  CHECK(report.at("totals").at("failed") == 0);
  CHECK(report.at("totals").at("symlinks") == 1);
  const nlohmann::json big = ReportEntryFor(report, "big.bin");
  REQUIRE(big.is_object());
  CHECK(big.at("hash") == Sha256File(src / "big.bin"));
  CHECK(big.at("bytes") == 3 * 1024 * 1024 + 5);
  CHECK(big.at("outcome") == "copied");
  CHECK(report.at("hash_algorithm") == "sha256");

  const RunResult second = RunSluiceTransfer({"copy", src, dst, "--report", dir / "again.json"}, dir.path());
  REQUIRE(second.status.Exited(0));
  const nlohmann::json again = ReadJsonFile(dir / "again.json");
  CHECK(again.at("totals").at("files_copied") == 0);
  CHECK(again.at("totals").at("files_up_to_date") == 8);  // 7 files and the symlink
}

TEST_CASE("transfer local: sync --delete removes extras only when asked, --dry-run changes nothing",
          "[integration][transfer]") {
  TempDir dir("xfer-local");
  const fs::path src = dir / "src", dst = dir / "dst";
  fs::create_directories(src);
  fs::create_directories(dst / "old-dir");
  WriteFile(src / "keep", "k");
  WriteFile(dst / "extra", "x");
  WriteFile(dst / "old-dir/inner", "x");

  const RunResult dry = RunSluiceTransfer({"sync", src, dst, "--delete", "--dry-run"}, dir.path());
  REQUIRE(dry.status.Exited(0));
  CHECK_THAT(dry.out, Catch::Contains("copy\tkeep") && Catch::Contains("delete\textra") &&
                          Catch::Contains("delete\told-dir/inner"));
  CHECK_FALSE(fs::exists(dst / "keep"));
  CHECK(fs::exists(dst / "extra"));

  REQUIRE(RunSluiceTransfer({"sync", src, dst}, dir.path()).status.Exited(0));
  CHECK(fs::exists(dst / "keep"));
  CHECK(fs::exists(dst / "extra"));

  const RunResult del = RunSluiceTransfer({"sync", src, dst, "--delete", "--report", dir / "r.json"}, dir.path());
  REQUIRE(del.status.Exited(0));
  CHECK_FALSE(fs::exists(dst / "extra"));
  CHECK_FALSE(fs::exists(dst / "old-dir"));
  CHECK(ReadJsonFile(dir / "r.json").at("totals").at("deleted") == 3);
}

TEST_CASE("transfer local: --checksum finds a change that size and mtime hide", "[integration][transfer]") {
  TempDir dir("xfer-local");
  const fs::path src = dir / "src", dst = dir / "dst";
  fs::create_directories(src);
  fs::create_directories(dst);
  WriteFile(src / "f", "version-A");
  WriteFile(dst / "f", "version-B");
  SetMtime(src / "f", 1'700'000'000);
  SetMtime(dst / "f", 1'700'000'000);

  REQUIRE(RunSluiceTransfer({"copy", src, dst}, dir.path()).status.Exited(0));
  CHECK(ReadFile(dst / "f") == "version-B");
  const RunResult r =
      RunSluiceTransfer({"copy", src, dst, "--checksum", "--hash", "xxh128", "--report", dir / "r.json"}, dir.path());
  REQUIRE(r.status.Exited(0));
  CHECK(ReadFile(dst / "f") == "version-A");
  const nlohmann::json e = ReportEntryFor(ReadJsonFile(dir / "r.json"), "f");
  CHECK(e.at("verified_by") == "readback");
  CHECK(e.at("hash").get<std::string>().size() == 32);  // xxh128
}

TEST_CASE("transfer local: one entry that cannot be copied fails alone, the rest arrive, exit 1",
          "[integration][transfer]") {
  TempDir dir("xfer-local");
  const fs::path src = dir / "src", dst = dir / "dst";
  fs::create_directories(src);
  fs::create_directories(dst / "clash");  // a directory where the source has a file
  WriteFile(src / "clash", "file");
  WriteFile(src / "fine", "ok");
  const RunResult r = RunSluiceTransfer({"copy", src, dst, "--report", dir / "r.json"}, dir.path());
  CHECK(r.status.Exited(1));
  CHECK_THAT(r.err, Catch::Contains("FAILED clash: the destination has a directory where the source has a file"));
  CHECK(ReadFile(dst / "fine") == "ok");
  const nlohmann::json report = ReadJsonFile(dir / "r.json");
  CHECK(report.at("ok") == false);
  CHECK(ReportEntryFor(report, "clash").at("outcome") == "failed");
}

TEST_CASE("transfer local: bad usage exits 2 and says what is wrong", "[integration][transfer]") {
  TempDir dir("xfer-local");
  fs::create_directories(dir / "src");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"copy", dir / "src", "ftp://host/x"}, "unsupported scheme"},
      {{"copy", dir / "src", dir / "d", "--bwlimit", "fast"}, "--bwlimit fast"},
      {{"copy", dir / "src", dir / "d", "--hash", "md5"}, "--hash"},
      {{"copy", dir / "src", dir / "d", "--include", "[abc"}, "--include [abc"},
      {{"copy", dir / "src", "sftp://user:secret@host/x"}, "a password in the URL is refused"},
      {{"copy", dir / "missing", dir / "d"}, (dir / "missing").string()},
      {{"sync", dir / "src"}, "DST"},
      {{"copy", dir / "src", dir / "d", "--delete"}, "--delete"},
  };
  for (const Case& c : cases) {
    INFO(c.args.back());
    const RunResult r = RunSluiceTransfer(c.args, dir.path());
    CHECK(r.status.Exited(2));
    CHECK_THAT(r.err, Catch::Contains(c.says));
  }
  CHECK_FALSE(fs::exists(dir / "d"));
}

TEST_CASE("transfer local: kill -9 in the middle of a file, then a resume that verifies the kept prefix",
          "[integration][transfer]") {
  TempDir dir("xfer-local");
  const fs::path src = dir / "src", dst = dir / "dst";
  fs::create_directories(src);
  const uint64_t size = 48ull << 20;
  WriteRandomFile(src / "big.bin", size, 42);

  // Slowed down so the kill lands mid-file.
  Process slow = StartSluiceTransfer({"copy", src, dst, "--bwlimit", "16M"}, dir.path());
  const fs::path partial = dst / ".sluice-big.bin.part";
  REQUIRE(WaitUntil(std::chrono::seconds(60),
                    [&] { return fs::exists(partial) && fs::file_size(partial) > (8ull << 20); }));
  slow.Kill9();
  REQUIRE(fs::exists(partial));
  CHECK_FALSE(fs::exists(dst / "big.bin"));
  const uint64_t kept = fs::file_size(partial);
  CHECK(kept < size);

  const RunResult resumed = RunSluiceTransfer({"copy", src, dst, "--report", dir / "r.json"}, dir.path());
  INFO(resumed.err);
  REQUIRE(resumed.status.Exited(0));
  const nlohmann::json e = ReportEntryFor(ReadJsonFile(dir / "r.json"), "big.bin");
  CHECK(e.at("resumed_from").get<uint64_t>() > 0);
  CHECK(e.at("resumed_from").get<uint64_t>() <= kept);
  CHECK(e.at("bytes_written").get<uint64_t>() == size - e.at("resumed_from").get<uint64_t>());
  CHECK(e.at("hash") == Sha256File(src / "big.bin"));
  CHECK(Sha256File(dst / "big.bin") == Sha256File(src / "big.bin"));
  CHECK_FALSE(fs::exists(partial));

  // A partial file whose bytes differ from the source is not trusted.
  WriteRandomFile(partial, 4 << 20, 99);
  REQUIRE(RunSluiceTransfer({"copy", src, dir / "dst2"}, dir.path()).status.Exited(0));
  fs::create_directories(dir / "dst3");
  WriteRandomFile(dir / "dst3/.sluice-big.bin.part", 4 << 20, 99);
  const RunResult wrong = RunSluiceTransfer({"copy", src, dir / "dst3", "--report", dir / "r3.json"}, dir.path());
  REQUIRE(wrong.status.Exited(0));
  CHECK_FALSE(ReportEntryFor(ReadJsonFile(dir / "r3.json"), "big.bin").contains("resumed_from"));
  CHECK(Sha256File(dir / "dst3/big.bin") == Sha256File(src / "big.bin"));
}

TEST_CASE("transfer local: --progress=json prints plan, file, and done events", "[integration][transfer]") {
  TempDir dir("xfer-local");
  fs::create_directories(dir / "src");
  WriteFile(dir / "src/a", "a");
  const RunResult r = RunSluiceTransfer({"copy", dir / "src", dir / "dst", "--progress=json"}, dir.path());
  REQUIRE(r.status.Exited(0));
  std::vector<nlohmann::json> events;
  size_t start = 0;
  while (start < r.out.size()) {
    const size_t end = r.out.find('\n', start);
    events.push_back(nlohmann::json::parse(r.out.substr(start, end - start)));
    start = end + 1;
  }
  REQUIRE(events.size() >= 3);
  CHECK(events.front().at("event") == "plan");
  CHECK(events.front().at("files") == 1);
  CHECK(events[1].at("event") == "file");
  CHECK(events[1].at("path") == "a");
  CHECK(events.back().at("event") == "done");
  CHECK(events.back().at("ok") == true);
}

}  // namespace sluice::test

namespace sluice::test {

TEST_CASE("transfer local: Ctrl-C stops between chunks, keeps the partial file, reports the interruption",
          "[integration][transfer]") {
  TempDir dir("xfer-local");
  const fs::path src = dir / "src", dst = dir / "dst";
  fs::create_directories(src);
  WriteRandomFile(src / "big.bin", 32ull << 20, 5);
  Process run = StartSluiceTransfer({"copy", src, dst, "--bwlimit", "8M", "--report", dir / "r.json"}, dir.path());
  const fs::path partial = dst / ".sluice-big.bin.part";
  REQUIRE(WaitUntil(std::chrono::seconds(60), [&] { return fs::exists(partial) && fs::file_size(partial) > 0; }));
  run.Signal(SIGINT);
  const std::optional<ExitStatus> st = run.WaitFor(std::chrono::seconds(30));
  REQUIRE(st.has_value());
  CHECK(st->Exited(1));
  CHECK(fs::exists(partial));
  CHECK_FALSE(fs::exists(dst / "big.bin"));
  const nlohmann::json report = ReadJsonFile(dir / "r.json");
  CHECK(report.at("interrupted") == true);
  CHECK(report.at("ok") == false);
  CHECK(ReportEntryFor(report, "big.bin").at("outcome") == "cancelled");
}

}  // namespace sluice::test
