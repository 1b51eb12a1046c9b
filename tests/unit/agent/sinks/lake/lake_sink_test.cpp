#include "agent/sinks/lake/lake_sink.h"

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"
#include "tests/unit/agent/buffer/buffer_test_util.h"

using namespace sluice;
using sluice::test::DecodeLines;
using sluice::test::MakeBatch;

namespace {


struct Fixture {
  sluice::test::TempDir dir;
  std::map<int64_t, std::string> data;
  std::vector<BatchInfo> infos;
  BatchLoader load = [this](const BatchInfo& b) -> Result<std::string> { return data.at(b.seq); };

  void Add(int64_t seq, std::string source, int64_t ts_ms, std::vector<std::string> lines) {
    BatchInfo b;
    b.seq = seq;
    b.id = "e-" + std::to_string(seq);
    b.source = std::move(source);
    b.first_ts_ms = ts_ms;
    data[seq] = MakeBatch(lines, ts_ms).zstd;
    infos.push_back(b);
  }
  std::vector<std::filesystem::path> Files() const {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path() / "lake")) {
      if (e.is_regular_file()) out.push_back(std::filesystem::relative(e.path(), dir.path() / "lake"));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

// 2026-11-21T10:59:59.999Z and one millisecond later.
constexpr int64_t kTen = 1'795'258'799'999;

}  // namespace

TEST_CASE("lake: partitions are Hive-style dt/hr in UTC", "[unit]") {
  CHECK(LakePartition("app", kTen) == "raw/app/dt=2026-11-21/hr=10");
  CHECK(LakePartition("app", kTen + 1) == "raw/app/dt=2026-11-21/hr=11");
}

TEST_CASE("lake: groups by source and hour, names files after the first batch", "[unit]") {
  Fixture f;
  f.Add(1, "app", kTen, {"a1", "a2"});
  f.Add(2, "app", kTen, {"a3"});
  f.Add(3, "app", kTen + 1, {"a4"});
  f.Add(4, "db", kTen + 1, {"d1"});
  f.Add(5, "app", kTen + 1, {"a5"});
  auto sink = MakeLakeSink("lake", {f.dir / "lake", true}, {}, sluice::test::QuietLogger());
  REQUIRE(sink->Deliver(f.infos, f.load).ok());
  const std::vector<std::filesystem::path> expected{
      "raw/app/dt=2026-11-21/hr=10/e-1.jsonl.zst", "raw/app/dt=2026-11-21/hr=11/e-3.jsonl.zst",
      "raw/app/dt=2026-11-21/hr=11/e-5.jsonl.zst", "raw/db/dt=2026-11-21/hr=11/e-4.jsonl.zst"};
  CHECK(f.Files() == expected);
  // Concatenated frames decode as one stream.
  CHECK(DecodeLines(sluice::test::ReadFile(f.dir / "lake" / expected[0])) ==
        std::vector<std::string>{"a1", "a2", "a3"});
}

TEST_CASE("lake: delivering the same batches again rewrites the same files", "[unit]") {
  Fixture f;
  f.Add(7, "app", kTen, {"x"});
  auto sink = MakeLakeSink("lake", {f.dir / "lake", true}, {}, sluice::test::QuietLogger());
  REQUIRE(sink->Deliver(f.infos, f.load).ok());
  // Redelivery after a crash may include more batches; the name stays the first batch's.
  f.Add(8, "app", kTen, {"y"});
  REQUIRE(sink->Deliver(f.infos, f.load).ok());
  const auto files = f.Files();
  REQUIRE(files.size() == 1);
  CHECK(DecodeLines(sluice::test::ReadFile(f.dir / "lake" / files[0])) == std::vector<std::string>{"x", "y"});
}

TEST_CASE("lake: a failure leaves no partial file under a final name", "[unit]") {
  Fixture f;
  f.Add(1, "app", kTen, {"x"});
  f.Add(2, "app", kTen, {"y"});
  BatchLoader failing = [&](const BatchInfo& b) -> Result<std::string> {
    if (b.seq == 2) return Status::Io("simulated read failure");
    return f.data.at(b.seq);
  };
  auto sink = MakeLakeSink("lake", {f.dir / "lake", true}, {}, sluice::test::QuietLogger());
  CHECK(sink->Deliver(f.infos, failing).code() == ErrorCode::kIo);
  CHECK(f.Files().empty());  // neither the final file nor the temporary one remains
}

TEST_CASE("lake: an unwritable destination is an error the runner retries", "[unit]") {
  Fixture f;
  f.Add(1, "app", kTen, {"x"});
  // A regular file where the raw/ directory should be: fails even for root.
  std::filesystem::create_directories(f.dir / "lake");
  sluice::test::WriteFile(f.dir / "lake" / "raw", "not a directory");
  auto sink = MakeLakeSink("lake", {f.dir / "lake", true}, {}, sluice::test::QuietLogger());
  const Status s = sink->Deliver(f.infos, f.load);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("raw") != std::string::npos);
  std::filesystem::remove(f.dir / "lake" / "raw");
  CHECK(sink->Deliver(f.infos, f.load).ok());
}

TEST_CASE("lake: a replay keeps the files that exist and rewrites them with the same batches", "[unit]") {
  Fixture f;
  // The live sink wrote batches 1-2 as one file, then 3-4 as another.
  f.Add(1, "app", kTen, {"a"});
  f.Add(2, "app", kTen, {"b"});
  auto live = MakeLakeSink("lake", {f.dir / "lake", true}, {}, sluice::test::QuietLogger());
  REQUIRE(live->Deliver(f.infos, f.load).ok());
  f.Add(3, "app", kTen, {"c"});
  f.Add(4, "app", kTen, {"d"});
  REQUIRE(live->Deliver(std::span<const BatchInfo>(f.infos).subspan(2), f.load).ok());
  REQUIRE(f.Files().size() == 2);
  // A replay of all four in one delivery: without the existing files it
  // would write one file e-1 holding c and d a second time.
  auto replay = MakeLakeSink("lake", {f.dir / "lake", true}, {}, sluice::test::QuietLogger(), /*replay=*/true);
  REQUIRE(replay->Deliver(f.infos, f.load).ok());
  const auto files = f.Files();
  REQUIRE(files.size() == 2);
  CHECK(DecodeLines(sluice::test::ReadFile(f.dir / "lake" / files[0])) == std::vector<std::string>{"a", "b"});
  CHECK(DecodeLines(sluice::test::ReadFile(f.dir / "lake" / files[1])) == std::vector<std::string>{"c", "d"});
  // With the first file deleted, the replay recreates it and keeps the second.
  std::filesystem::remove(f.dir / "lake" / files[0]);
  REQUIRE(replay->Deliver(f.infos, f.load).ok());
  CHECK(f.Files() == files);
}
