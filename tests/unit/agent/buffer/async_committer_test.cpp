#include "agent/buffer/async_committer.h"

#include <catch2/catch.hpp>
#include <atomic>
#include <thread>

#include "tests/support/temp_dir.h"
#include "tests/unit/agent/buffer/buffer_test_util.h"

using namespace sluice;
using sluice::test::DecodeLines;
using sluice::test::MakeBatch;

namespace {

std::vector<StreamBatch> OneStream(EncodedBatch b) { return {StreamBatch{"s", std::move(b)}}; }

void SubmitRandom(AsyncCommitter& committer, size_t bytes, uint64_t seed, std::string pos) {
  REQUIRE(committer.Submit(OneStream(MakeBatch({sluice::test::RandomBytes(bytes, seed)})), {{"pos", std::move(pos)}}, {})
              .ok());
}

// A buffer of 1 MiB that holds 700 KiB for sink "k" already, and a committer
// whose first batch (400 KiB, checkpoint pos = 1) waits for space until the
// sink takes that one: what is submitted next queues behind it.
struct CommitterBehindFullBuffer {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  std::unique_ptr<Buffer> buf = Open(dir, m);
  AsyncCommitter committer{*buf, "s", sluice::test::QuietLogger()};

  explicit CommitterBehindFullBuffer(uint64_t seed) {
    SubmitRandom(committer, 400 * 1024, seed, "1");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  static std::unique_ptr<Buffer> Open(const sluice::test::TempDir& dir, MetricsRegistry& m) {
    BufferOptions o;
    o.max_bytes = 1 << 20;
    auto buf = sluice::test::OpenTestBuffer(dir.path(), m, o);
    REQUIRE(buf->RegisterSink("k", {"s"}).ok());
    REQUIRE(buf->Commit("s", MakeBatch({sluice::test::RandomBytes(700 * 1024, 3)}), {}, {}).ok());
    return buf;
  }
};

}  // namespace

TEST_CASE("async committer: batches land in order with their checkpoints", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = sluice::test::OpenTestBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("k", {"s"}).ok());
  {
    AsyncCommitter committer(*buf, "s", sluice::test::QuietLogger());
    for (int i = 0; i < 50; ++i) {
      std::vector<CheckpointUpdate> cp{{"pos", std::to_string(i)}};
      REQUIRE(committer.Submit(OneStream(MakeBatch({"r" + std::to_string(i)})), std::move(cp), {}).ok());
    }
    REQUIRE(committer.Flush().ok());
    CHECK(buf->LoadCheckpoints("s")->at("pos") == "49");
  }
  auto pending = buf->ReadPending("k", 100, 1ULL << 30);
  REQUIRE(pending->size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(DecodeLines((*pending)[i].zstd)[0] == "r" + std::to_string(i));
}

TEST_CASE("async committer: a stop while the buffer is full cancels, and nothing later is committed", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  BufferOptions o;
  o.max_bytes = 1 << 20;
  auto buf = sluice::test::OpenTestBuffer(dir.path(), m, o);
  REQUIRE(buf->RegisterSink("k", {"s"}).ok());
  const std::string noise = sluice::test::RandomBytes(700 * 1024, 7);
  std::stop_source stop;
  AsyncCommitter committer(*buf, "s", sluice::test::QuietLogger());
  REQUIRE(committer.Submit(OneStream(MakeBatch({noise})), {{"pos", std::string("1")}}, stop.get_token()).ok());
  // The second does not fit (block): it waits in the committer, not in Submit.
  REQUIRE(committer.Submit(OneStream(MakeBatch({noise})), {{"pos", std::string("2")}}, stop.get_token()).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop.request_stop();
  CHECK(committer.Flush().code() == ErrorCode::kCancelled);
  CHECK(committer.Submit(OneStream(MakeBatch({"late"})), {{"pos", std::string("3")}}, {}).code() == ErrorCode::kCancelled);
  CHECK(buf->LoadCheckpoints("s")->at("pos") == "1");
  CHECK(buf->ListPending("k", 100, 1ULL << 30)->size() == 1);
}

TEST_CASE("async committer: batches that queue while one waits commit together, in order", "[unit]") {
  CommitterBehindFullBuffer f(4);
  AsyncCommitter& committer = f.committer;
  Buffer* buf = f.buf.get();
  // Each Submit returns at once: they wait in the committer's queue.
  std::vector<std::vector<CheckpointUpdate>> updates{
      {{"pos", std::string("2")}, {"gone", std::string("x")}},
      {{"pos", std::string("3")}},
      {{"gone", std::nullopt}, {"pos", std::string("4")}},
      {{"pos", std::string("5")}, {"kept", std::string("y")}},
  };
  REQUIRE(updates.size() == AsyncCommitter::kMaxQueued);
  for (size_t i = 0; i < updates.size(); ++i) {
    REQUIRE(committer.Submit(OneStream(MakeBatch({"r" + std::to_string(i + 2)})), updates[i], {}).ok());
  }
  CHECK(buf->LoadCheckpoints("s")->empty());
  // The sink takes the first batch: room for the rest.
  auto first = buf->ListPending("k", 1, 1ULL << 30);
  REQUIRE(first->size() == 1);
  REQUIRE(buf->Ack("k", (*first)[0].seq).ok());
  REQUIRE(committer.Flush().ok());
  auto cps = buf->LoadCheckpoints("s").value();
  CHECK(cps == std::map<std::string, std::string>{{"pos", "5"}, {"kept", "y"}});
  auto pending = buf->ReadPending("k", 100, 1ULL << 30);
  REQUIRE(pending->size() == 5);
  CHECK((*pending)[0].raw_bytes > 400 * 1024);
  for (int i = 1; i < 5; ++i) CHECK(DecodeLines((*pending)[i].zstd)[0] == "r" + std::to_string(i + 1));
}

TEST_CASE("async committer: a group larger than buffer_max as a whole commits one batch at a time", "[unit]") {
  CommitterBehindFullBuffer f(8);
  AsyncCommitter& committer = f.committer;
  Buffer* buf = f.buf.get();
  // The two that queue (600 KiB each) fit one at a time only.
  SubmitRandom(committer, 600 * 1024, 6, "2");
  SubmitRandom(committer, 600 * 1024, 7, "3");
  std::atomic<int> delivered = 0;
  std::atomic<bool> ack_failed = false;
  std::jthread sink([&](std::stop_token st) {
    // Delivers whatever is stored, as a sink would, until all four went by.
    while (delivered < 4 && !st.stop_requested()) {
      auto p = buf->ListPending("k", 10, 1ULL << 30);
      for (const BatchInfo& b : p.value()) {
        if (!buf->Ack("k", b.seq).ok()) ack_failed = true;
        ++delivered;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  REQUIRE(committer.Flush().ok());
  CHECK(buf->LoadCheckpoints("s")->at("pos") == "3");
  sink.join();
  CHECK(delivered == 4);
  CHECK_FALSE(ack_failed);
}
