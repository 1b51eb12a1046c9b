#include "transfer/copier.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/support/endpoint_conformance.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/transfer/faulty_endpoint.h"
#include "transfer/local/local_endpoint.h"
#include "transfer/planner.h"

namespace sluice::transfer {
namespace {

namespace fs = std::filesystem;
using sluice::test::ReadFile;
using sluice::test::TempDir;
using sluice::test::WriteFile;
using test::Faults;
using test::FaultyEndpoint;

std::unique_ptr<Endpoint> Local(const fs::path& p) { return test::OpenLocalOrFail(p); }

std::string Pattern(size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

std::string Sha256(std::string_view data) {
  std::unique_ptr<Hasher> h = Hasher::Create(HashAlgorithm::kSha256);
  h->Update(data);
  return h->HexDigest();
}

Action CopyAction(Endpoint& src, const std::string& path) {
  Action a;
  a.kind = ActionKind::kCopyFile;
  a.path = path;
  a.source = src.Stat(path).value();
  a.partial_seen = true;  // as the planner marks it when the listing shows a partial file
  return a;
}

CopyOptions Fast() {
  CopyOptions o;
  o.retry_base = std::chrono::milliseconds(1);
  o.retry_cap = std::chrono::milliseconds(5);
  o.buffer_bytes = 64 * 1024;
  return o;
}

struct Fixture {
  TempDir src{"copy-src"};
  TempDir dst{"copy-dst"};
  Faults faults;
  std::unique_ptr<Endpoint> s = Local(src.path());
  FaultyEndpoint d{Local(dst.path()), faults};
};

}  // namespace

TEST_CASE("copier: content, hash, mtime and mode arrive, no partial file is left", "[unit][transfer]") {
  Fixture f;
  const std::string data = Pattern(300'000);
  WriteFile(f.src / "f.bin", data);
  REQUIRE(chmod((f.src / "f.bin").c_str(), 0640) == 0);
  const timeval tv[2] = {{1'600'000'000, 123456}, {1'600'000'000, 123456}};
  REQUIRE(utimes((f.src / "f.bin").c_str(), tv) == 0);

  int64_t progressed = 0;
  CopyOptions o = Fast();
  o.on_bytes = [&](int64_t n) { progressed += n; };
  const FileResult r = CopyFile(*f.s, f.d, CopyAction(*f.s, "f.bin"), o);
  INFO(r.error);
  REQUIRE(r.outcome == FileOutcome::kCopied);
  CHECK(ReadFile(f.dst / "f.bin") == data);
  CHECK(r.hash == Sha256(data));
  CHECK(r.verified_by == "size");
  CHECK(r.bytes_written == data.size());
  CHECK(progressed == static_cast<int64_t>(data.size()));
  struct stat st {};
  REQUIRE(stat((f.dst / "f.bin").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_mtim.tv_sec == 1'600'000'000);
  CHECK(st.st_mtim.tv_nsec == 123'456'000);
  CHECK_FALSE(fs::exists(f.dst / ".sluice-f.bin.part"));
}

TEST_CASE("copier: resume keeps a partial file only after comparing it with the source", "[unit][transfer]") {
  Fixture f;
  const std::string data = Pattern(1'000'000);
  WriteFile(f.src / "f.bin", data);

  SECTION("a true prefix is kept and only the rest is sent") {
    WriteFile(f.dst / ".sluice-f.bin.part", data.substr(0, 400'000));
    const FileResult r = CopyFile(*f.s, f.d, CopyAction(*f.s, "f.bin"), Fast());
    REQUIRE(r.outcome == FileOutcome::kCopied);
    CHECK(r.resumed_from == 400'000);
    CHECK(r.bytes_written == 600'000);
    CHECK(r.hash == Sha256(data));
    CHECK(ReadFile(f.dst / "f.bin") == data);
  }
  SECTION("a partial file of the right size but other bytes is not trusted") {
    std::string wrong = data.substr(0, 400'000);
    wrong[399'999] ^= 0x40;  // the very last byte differs
    WriteFile(f.dst / ".sluice-f.bin.part", wrong);
    const FileResult r = CopyFile(*f.s, f.d, CopyAction(*f.s, "f.bin"), Fast());
    REQUIRE(r.outcome == FileOutcome::kCopied);
    CHECK(r.resumed_from == 0);
    CHECK(r.bytes_written == data.size());
    CHECK(ReadFile(f.dst / "f.bin") == data);
    CHECK(r.hash == Sha256(data));
  }
  SECTION("a partial file longer than the source starts over") {
    WriteFile(f.dst / ".sluice-f.bin.part", data + "more");
    const FileResult r = CopyFile(*f.s, f.d, CopyAction(*f.s, "f.bin"), Fast());
    REQUIRE(r.outcome == FileOutcome::kCopied);
    CHECK(r.resumed_from == 0);
    CHECK(ReadFile(f.dst / "f.bin") == data);
  }
  SECTION("a partial file the planner did not see is not looked for (and is overwritten)") {
    WriteFile(f.dst / ".sluice-f.bin.part", data.substr(0, 400'000));
    Action a = CopyAction(*f.s, "f.bin");
    a.partial_seen = false;
    const FileResult r = CopyFile(*f.s, f.d, a, Fast());
    REQUIRE(r.outcome == FileOutcome::kCopied);
    CHECK(r.resumed_from == 0);
    CHECK(ReadFile(f.dst / "f.bin") == data);
  }
  SECTION("--no-resume ignores it") {
    WriteFile(f.dst / ".sluice-f.bin.part", data.substr(0, 400'000));
    CopyOptions o = Fast();
    o.resume = false;
    const FileResult r = CopyFile(*f.s, f.d, CopyAction(*f.s, "f.bin"), o);
    REQUIRE(r.outcome == FileOutcome::kCopied);
    CHECK(r.resumed_from == 0);
    CHECK(ReadFile(f.dst / "f.bin") == data);
  }
}

TEST_CASE("copier: transient errors are retried, resuming what was already stored", "[unit][transfer]") {
  Fixture f;
  const std::string data = Pattern(500'000);
  WriteFile(f.src / "f.bin", data);
  f.faults.fail_writes = 2;
  const FileResult r = CopyFile(*f.s, f.d, CopyAction(*f.s, "f.bin"), Fast());
  INFO(r.error);
  REQUIRE(r.outcome == FileOutcome::kCopied);
  CHECK(r.attempts == 3);
  CHECK(ReadFile(f.dst / "f.bin") == data);

  f.faults.fail_writes = 100;
  CopyOptions o = Fast();
  o.retries = 2;
  WriteFile(f.src / "g.bin", data);
  const FileResult failed = CopyFile(*f.s, f.d, CopyAction(*f.s, "g.bin"), o);
  CHECK(failed.outcome == FileOutcome::kFailed);
  CHECK(failed.attempts == 3);
  CHECK_THAT(failed.error, Catch::Contains("injected: connection lost") && Catch::Contains("after 3 attempts"));
  CHECK_FALSE(fs::exists(f.dst / "g.bin"));
}

TEST_CASE("copier: a corrupted copy is caught, retried once from zero, then reported", "[unit][transfer]") {
  Fixture f;
  const std::string data = Pattern(200'000);
  WriteFile(f.src / "f.bin", data);
  CopyOptions o = Fast();
  o.verify = VerifyMode::kReadback;

  SECTION("one corruption: the retry lands a good copy") {
    f.faults.corrupt_writes = 1;
    const FileResult r = CopyFile(*f.s, f.d, CopyAction(*f.s, "f.bin"), o);
    INFO(r.error);
    REQUIRE(r.outcome == FileOutcome::kCopied);
    CHECK(r.attempts == 2);
    CHECK(r.verified_by == "readback");
    CHECK(ReadFile(f.dst / "f.bin") == data);
  }
  SECTION("corrupted twice: failed, and nothing under the final name") {
    f.faults.corrupt_writes = 2;
    const FileResult r = CopyFile(*f.s, f.d, CopyAction(*f.s, "f.bin"), o);
    CHECK(r.outcome == FileOutcome::kFailed);
    CHECK_THAT(r.error, Catch::Contains("read back"));
    CHECK_FALSE(fs::exists(f.dst / "f.bin"));
    CHECK_FALSE(fs::exists(f.dst / ".sluice-f.bin.part"));
  }
  SECTION("without readback, a size check cannot see a flipped bit, but a server hash can") {
    f.faults.corrupt_writes = 2;
    f.faults.server_hash = std::string(64, '0');
    const FileResult r = CopyFile(*f.s, f.d, CopyAction(*f.s, "f.bin"), Fast());
    CHECK(r.outcome == FileOutcome::kFailed);
    CHECK_THAT(r.error, Catch::Contains("the destination's sha256 is 0000"));
    CHECK_FALSE(fs::exists(f.dst / "f.bin"));
  }
}

TEST_CASE("copier: --checksum skips equal contents without writing", "[unit][transfer]") {
  Fixture f;
  WriteFile(f.src / "same", "content");
  WriteFile(f.dst / "same", "content");
  WriteFile(f.src / "other", "content");
  WriteFile(f.dst / "other", "CONTENT");
  Action same = CopyAction(*f.s, "same");
  same.compare_content = true;
  Action other = CopyAction(*f.s, "other");
  other.compare_content = true;
  const FileResult a = CopyFile(*f.s, f.d, same, Fast());
  CHECK(a.outcome == FileOutcome::kUpToDate);
  CHECK(a.verified_by == "content");
  CHECK(f.faults.opens_for_write == 0);
  const FileResult b = CopyFile(*f.s, f.d, other, Fast());
  CHECK(b.outcome == FileOutcome::kCopied);
  CHECK(ReadFile(f.dst / "other") == "content");
}

TEST_CASE("copier: a cancelled copy keeps its partial file for the next run", "[unit][transfer]") {
  Fixture f;
  WriteFile(f.src / "f.bin", Pattern(400'000));
  std::atomic<bool> cancel{false};
  CopyOptions o = Fast();
  o.cancel = &cancel;
  o.on_bytes = [&](int64_t) { cancel = true; };
  const FileResult r = CopyFile(*f.s, f.d, CopyAction(*f.s, "f.bin"), o);
  CHECK(r.outcome == FileOutcome::kCancelled);
  CHECK(fs::exists(f.dst / ".sluice-f.bin.part"));
  CHECK_FALSE(fs::exists(f.dst / "f.bin"));
  const FileResult resumed = CopyFile(*f.s, f.d, CopyAction(*f.s, "f.bin"), Fast());
  REQUIRE(resumed.outcome == FileOutcome::kCopied);
  // What was written before the cancel was seen: whole chunks, not all of the file.
  CHECK(resumed.resumed_from >= 64 * 1024);
  CHECK(resumed.resumed_from < 400'000);
  CHECK(resumed.resumed_from % (64 * 1024) == 0);
  CHECK(ReadFile(f.dst / "f.bin") == ReadFile(f.src / "f.bin"));
}

}  // namespace sluice::transfer
