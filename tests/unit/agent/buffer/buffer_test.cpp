#include "agent/buffer/buffer.h"

#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <thread>

#include "tests/support/temp_dir.h"
#include "tests/unit/agent/buffer/buffer_test_util.h"

using namespace sluice;
using sluice::test::DecodeLines;
using sluice::test::MakeBatch;

namespace {


std::unique_ptr<Buffer> OpenBuffer(const std::filesystem::path& dir, MetricsRegistry& m, BufferOptions o = {}) {
  return sluice::test::OpenTestBuffer(dir, m, o);
}

}  // namespace

TEST_CASE("buffer: a batch and its checkpoint commit together and survive reopening", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  std::string epoch;
  {
    auto buf = OpenBuffer(dir.path(), m);
    epoch = buf->epoch();
    REQUIRE(buf->RegisterSink("lake", {"app"}).ok());
    const std::vector<CheckpointUpdate> cp{{"1:2", std::string(R"({"offset":10})")}};
    REQUIRE(buf->Commit("app", MakeBatch({"a", "b"}), cp, {}).ok());
    const std::vector<CheckpointUpdate> cp2{{"1:2", std::string(R"({"offset":20})")}, {"1:3", std::string("x")}};
    REQUIRE(buf->Commit("app", MakeBatch({"c"}), cp2, {}).ok());
  }
  auto buf = OpenBuffer(dir.path(), m);
  CHECK(buf->epoch() == epoch);
  auto cps = buf->LoadCheckpoints("app");
  REQUIRE(cps.ok());
  CHECK(cps->at("1:2") == R"({"offset":20})");
  CHECK(cps->at("1:3") == "x");
  REQUIRE(buf->RegisterSink("lake", {"app"}).ok());
  auto pending = buf->ReadPending("lake", 100, 1 << 30);
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 2);
  CHECK(DecodeLines((*pending)[0].zstd) == std::vector<std::string>{"a", "b"});
  CHECK(DecodeLines((*pending)[1].zstd) == std::vector<std::string>{"c"});
  CHECK((*pending)[0].records == 2);
  CHECK((*pending)[0].id == epoch + "-000000000001");
  CHECK((*pending)[1].seq > (*pending)[0].seq);
}

TEST_CASE("buffer: checkpoint-only commits and deletions", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = OpenBuffer(dir.path(), m);
  const std::vector<CheckpointUpdate> put{{"k", std::string("v")}};
  REQUIRE(buf->Commit("app", EncodedBatch{}, put, {}).ok());
  CHECK(buf->LoadCheckpoints("app")->size() == 1);
  const std::vector<CheckpointUpdate> del{{"k", std::nullopt}};
  REQUIRE(buf->Commit("app", EncodedBatch{}, del, {}).ok());
  CHECK(buf->LoadCheckpoints("app")->empty());
  CHECK(buf->last_seq() == 0);
}

TEST_CASE("buffer: ack advances the cursor and deletes what every sink has", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = OpenBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("a", {"s1", "s2"}).ok());
  REQUIRE(buf->RegisterSink("b", {"s1"}).ok());
  for (int i = 0; i < 3; ++i) REQUIRE(buf->Commit("s1", MakeBatch({"x" + std::to_string(i)}), {}, {}).ok());
  REQUIRE(buf->Commit("s2", MakeBatch({"y"}), {}, {}).ok());
  CHECK(buf->ListPending("a", 100, 1 << 30)->size() == 4);
  CHECK(buf->ListPending("b", 100, 1 << 30)->size() == 3);

  REQUIRE(buf->Ack("a", 4).ok());
  CHECK(buf->ListPending("a", 100, 1 << 30)->empty());
  // s1 batches are still needed by b; the s2 batch only by a, so it is gone.
  CHECK(buf->LoadBatch(4).status().code() == ErrorCode::kNotFound);
  CHECK(buf->LoadBatch(1).ok());
  REQUIRE(buf->Ack("b", 2).ok());
  CHECK(buf->LoadBatch(1).status().code() == ErrorCode::kNotFound);
  CHECK(buf->LoadBatch(3).ok());
  // A cursor never moves back.
  REQUIRE(buf->Ack("b", 1).ok());
  CHECK(buf->ListPending("b", 100, 1 << 30)->size() == 1);
  REQUIRE(buf->Ack("b", 3).ok());
  CHECK(buf->stored_bytes() == 0);
}

namespace {

// Frames in buffer.db's WAL, asked on a connection of the test's own.
int WalFrames(const std::filesystem::path& db_path, const char* mode) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, (std::string("PRAGMA wal_checkpoint(") + mode + ")").c_str(), -1, &st, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_int(st, 0) == 0);  // not busy
  const int frames = sqlite3_column_int(st, 1);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return frames;
}

}  // namespace

// Debian's SQLite is built with secure_delete on, which would overwrite every
// page of a delivered batch with zeros: each stored byte written twice more,
// to the WAL and then to the database, on flash that wears.
TEST_CASE("buffer: deleting a delivered batch does not rewrite its pages", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = OpenBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("lake", {"app"}).ok());
  const std::string payload = sluice::test::RandomBytes(2 << 20);  // 512 pages, under the autocheckpoint
  REQUIRE(buf->Commit("app", MakeBatch({payload}), {}, {}).ok());
  CHECK(WalFrames(dir / "buffer.db", "TRUNCATE") == 0);
  REQUIRE(buf->Ack("lake", 1).ok());
  CHECK(buf->stored_bytes() == 0);
  const int frames = WalFrames(dir / "buffer.db", "PASSIVE");
  CHECK(frames > 0);
  CHECK(frames < 16);
  // The freed pages are reused: the next batch of the same size does not grow the file.
  const auto size = std::filesystem::file_size(dir / "buffer.db");
  REQUIRE(buf->Commit("app", MakeBatch({payload}), {}, {}).ok());
  WalFrames(dir / "buffer.db", "TRUNCATE");
  CHECK(std::filesystem::file_size(dir / "buffer.db") <= size + 16 * 4096);
}

// A page freed by a delivered batch and reused by the next one is copied into
// the database once per checkpoint: the WAL is let grow with buffer_max.
TEST_CASE("buffer: the WAL is checkpointed at 1/16 of buffer_max, within SQLite's default and 16 MiB", "[unit]") {
  const auto frames_after_6_mib = [](uint64_t buffer_max) {
    sluice::test::TempDir dir;
    MetricsRegistry m;
    BufferOptions o;
    o.max_bytes = buffer_max;
    auto buf = OpenBuffer(dir.path(), m, o);
    for (int i = 0; i < 6; ++i) {
      REQUIRE(buf->Commit("app", MakeBatch({sluice::test::RandomBytes(1 << 20, 7 + i)}), {}, {}).ok());
    }
    return WalFrames(dir / "buffer.db", "PASSIVE");
  };
  // 1 GiB: 4,096 pages; six 1 MiB batches (~1,560 pages) stay in the WAL.
  CHECK(frames_after_6_mib(1ULL << 30) > 1500);
  // 64 MiB: 1/16 is 1,024 pages, just over SQLite's 1,000.
  CHECK(frames_after_6_mib(64ULL << 20) < 1500);
  // 16 MiB: SQLite's 1,000 pages, the floor; the WAL restarted after a checkpoint.
  CHECK(frames_after_6_mib(16ULL << 20) < 1000);
}

TEST_CASE("buffer: ListPending respects max_batches and max_bytes, always returning one", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = OpenBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("a", {"s"}).ok());
  for (int i = 0; i < 5; ++i) REQUIRE(buf->Commit("s", MakeBatch({std::string(100, 'a' + i)}), {}, {}).ok());
  CHECK(buf->ListPending("a", 2, 1 << 30)->size() == 2);
  CHECK(buf->ListPending("a", 100, 1)->size() == 1);
  auto all = buf->ListPending("a", 100, 1 << 30);
  const uint64_t one = (*all)[0].stored_bytes;
  CHECK(buf->ListPending("a", 100, one * 3)->size() == 3);
  auto p = buf->Pending("a");
  REQUIRE(p.ok());
  CHECK(p->batches == 5);
  CHECK(p->oldest_record_ms == 1'700'000'000'000);
}

TEST_CASE("buffer: a new sink starts at the oldest batch still stored", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = OpenBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("a", {"s"}).ok());
  REQUIRE(buf->Commit("s", MakeBatch({"1"}), {}, {}).ok());
  REQUIRE(buf->Commit("s", MakeBatch({"2"}), {}, {}).ok());
  REQUIRE(buf->Ack("a", 1).ok());
  REQUIRE(buf->RegisterSink("late", {"s"}).ok());
  auto p = buf->ReadPending("late", 100, 1 << 30);
  REQUIRE(p->size() == 1);
  CHECK(DecodeLines((*p)[0].zstd) == std::vector<std::string>{"2"});
}

TEST_CASE("buffer: overflow = drop_oldest keeps under the cap and counts drops", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  BufferOptions o;
  o.max_bytes = 1 << 20;
  o.overflow = Overflow::kDropOldest;
  auto buf = OpenBuffer(dir.path(), m, o);
  REQUIRE(buf->RegisterSink("a", {"s"}).ok());
  // Incompressible records so stored size is predictable: ~64 KiB each.
  const std::string noise = sluice::test::RandomBytes(64 * 1024);
  for (int i = 0; i < 40; ++i) {
    REQUIRE(buf->Commit("s", MakeBatch({std::to_string(i) + noise}), {}, {}).ok());
    CHECK(buf->stored_bytes() <= o.max_bytes);
  }
  auto pending = buf->ReadPending("a", 100, 1ULL << 30);
  REQUIRE(!pending->empty());
  // The newest survive, in order.
  CHECK(DecodeLines(pending->back().zstd)[0].rfind("39", 0) == 0);
  const std::string text = m.RenderPrometheus();
  CHECK(text.find("sluice_buffer_dropped_records_total{source=\"s\"}") != std::string::npos);
  CHECK(40 - pending->size() > 0);
}

TEST_CASE("buffer: overflow = block waits for an ack, and gives up on stop", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  BufferOptions o;
  o.max_bytes = 1 << 20;
  auto buf = OpenBuffer(dir.path(), m, o);
  REQUIRE(buf->RegisterSink("a", {"s"}).ok());
  // Incompressible bytes, so two batches cannot fit in the 1 MiB cap.
  const std::string big = sluice::test::RandomBytes(600 * 1024, 1);
  REQUIRE(buf->Commit("s", MakeBatch({big}), {}, {}).ok());

  // A second one does not fit: it waits until the first is acked.
  std::atomic<bool> committed{false};
  std::thread writer([&] {
    const std::vector<CheckpointUpdate> cp{{"k", std::string("after")}};
    REQUIRE(buf->Commit("s", MakeBatch({big}), cp, {}).ok());
    committed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(committed.load());
  CHECK(buf->LoadCheckpoints("s")->empty());  // the checkpoint waits with its batch
  REQUIRE(buf->Ack("a", 1).ok());
  writer.join();
  CHECK(committed.load());
  CHECK(buf->LoadCheckpoints("s")->at("k") == "after");

  // Full again; a stop request cancels the wait without storing anything.
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop.request_stop();
  });
  const Status s = buf->Commit("s", MakeBatch({big}), {}, stop.get_token());
  stopper.join();
  CHECK(s.code() == ErrorCode::kCancelled);
  CHECK(buf->ListPending("a", 100, 1ULL << 30)->size() == 1);
}

TEST_CASE("buffer: a batch larger than the cap is refused, not waited for", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  BufferOptions o;
  o.max_bytes = 1 << 20;
  auto buf = OpenBuffer(dir.path(), m, o);
  EncodedBatch b;
  b.records = 1;
  b.zstd.assign((1 << 20) + 1, 'x');
  CHECK(buf->Commit("s", b, {}, {}).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("buffer: a corrupt database is quarantined and replaced, with a new epoch", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  std::string epoch;
  {
    auto buf = OpenBuffer(dir.path(), m);
    epoch = buf->epoch();
    REQUIRE(buf->RegisterSink("a", {"s"}).ok());
    REQUIRE(buf->Commit("s", MakeBatch({"before"}), {}, {}).ok());
  }
  {
    // Garbage over the header: SQLite no longer recognizes the file.
    const int fd = ::open((dir / "buffer.db").c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    const std::string junk(100, '\x5a');
    REQUIRE(::pwrite(fd, junk.data(), junk.size(), 0) == 100);
    ::close(fd);
    std::filesystem::remove(dir / "buffer.db-wal");
  }
  MetricsRegistry m2;
  auto buf = OpenBuffer(dir.path(), m2);
  CHECK(buf->epoch() != epoch);
  CHECK(m2.RenderPrometheus().find("sluice_buffer_quarantined_total 1") != std::string::npos);
  size_t quarantined = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "quarantine")) {
    quarantined += e.path().extension() == ".db";
  }
  CHECK(quarantined == 1);
  REQUIRE(buf->RegisterSink("a", {"s"}).ok());
  REQUIRE(buf->Commit("s", MakeBatch({"after"}), {}, {}).ok());
  auto p = buf->ReadPending("a", 10, 1 << 30);
  REQUIRE(p->size() == 1);
  // Ids from the fresh database cannot collide with the old one's.
  CHECK((*p)[0].id == buf->epoch() + "-000000000001");
}

TEST_CASE("buffer: a batch whose stored bytes changed fails its CRC", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = OpenBuffer(dir.path(), m);
  REQUIRE(buf->Commit("s", MakeBatch({"payload"}), {}, {}).ok());
  buf.reset();
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir / "buffer.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "UPDATE batches SET data = X'00112233' WHERE seq = 1", nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    sqlite3_close(db);
  }
  buf = OpenBuffer(dir.path(), m);
  CHECK(buf->LoadBatch(1).status().code() == ErrorCode::kCorrupt);
}

TEST_CASE("buffer: a database from a newer format is refused, not quarantined", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  { auto buf = OpenBuffer(dir.path(), m); }
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir / "buffer.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "UPDATE meta SET value = '99' WHERE key = 'format_version'", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  BufferOptions o;
  o.dir = dir.path();
  auto b = Buffer::Open(o, sluice::test::QuietLogger(), m);
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().message().find("format version 99") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "quarantine"));
}

TEST_CASE("buffer: staged records are durable one by one and fold into a batch atomically", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = OpenBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("lake", {"mqtt"}).ok());
  Result<int64_t> a = buf->Stage("mqtt", "{\"n\":1}\n", 1000, {});
  Result<int64_t> b = buf->Stage("mqtt", "{\"n\":2}\n", 1001, {});
  Result<int64_t> other = buf->Stage("other", "{\"n\":9}\n", 1002, {});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(other.ok());
  CHECK(b.value() > a.value());
  CHECK(buf->stored_bytes() == 24);
  // Sinks do not see staged records.
  CHECK(buf->ListPending("lake", 10, 1 << 20).value().empty());

  // A restart finds them, in order, per source.
  buf.reset();
  buf = OpenBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("lake", {"mqtt"}).ok());
  CHECK(buf->stored_bytes() == 24);
  Result<std::vector<StagedRecord>> staged = buf->LoadStaged("mqtt");
  REQUIRE(staged.ok());
  REQUIRE(staged->size() == 2);
  CHECK(staged->at(0).id == a.value());
  CHECK(staged->at(0).record == "{\"n\":1}\n");
  CHECK(staged->at(0).ts_ms == 1000);
  CHECK(staged->at(1).record == "{\"n\":2}\n");

  // Folding replaces them with a batch, and leaves other sources' alone.
  REQUIRE(buf->CommitStaged("mqtt", MakeBatch({"{\"n\":1}", "{\"n\":2}"}), b.value()).ok());
  CHECK(buf->LoadStaged("mqtt").value().empty());
  CHECK(buf->LoadStaged("other").value().size() == 1);
  const auto pending = buf->ReadPending("lake", 10, 1 << 20);
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 1);
  CHECK(DecodeLines(pending->at(0).zstd) == std::vector<std::string>{"{\"n\":1}", "{\"n\":2}"});
  CHECK(buf->stored_bytes() == pending->at(0).stored_bytes + 8);
}

TEST_CASE("buffer: staging waits for space under overflow = block, or goes over the cap when told", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  BufferOptions o;
  o.max_bytes = 64;
  auto buf = OpenBuffer(dir.path(), m, o);
  const std::string record(40, 'x');
  REQUIRE(buf->Stage("mqtt", record, 1, {}).ok());
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop.request_stop();
  });
  CHECK(buf->Stage("mqtt", record, 2, stop.get_token()).status().code() == ErrorCode::kCancelled);
  stopper.join();
  CHECK(buf->stored_bytes() == 40);
  REQUIRE(buf->Stage("mqtt", record, 2, {}, /*over_cap=*/true).ok());
  CHECK(buf->stored_bytes() == 80);
  CHECK(m.GetCounter("sluice_buffer_over_cap_bytes_total", "").value() == 40);
  CHECK(buf->Stage("mqtt", std::string(65, 'y'), 3, {}).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("buffer: a version 1 database is upgraded in place", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  {
    auto buf = OpenBuffer(dir.path(), m);
    REQUIRE(buf->Commit("s", MakeBatch({"kept"}), {}, {}).ok());
  }
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir / "buffer.db").c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "DROP TABLE staged; UPDATE meta SET value = '1' WHERE key = 'format_version'", nullptr,
                         nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto buf = OpenBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("lake", {"s"}).ok());
  CHECK(buf->ReadPending("lake", 10, 1 << 20).value().size() == 1);
  REQUIRE(buf->Stage("s", "{}\n", 1, {}).ok());
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir / "buffer.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'format_version'", -1, &st, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "2");
  sqlite3_finalize(st);
  sqlite3_close(db);
}
