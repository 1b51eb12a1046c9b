#include "agent/buffer/async_committer.h"

#include <catch2/catch.hpp>
#include <thread>

#include "tests/support/temp_dir.h"
#include "tests/unit/agent/buffer/buffer_test_util.h"

using namespace sluice;
using sluice::test::DecodeLines;
using sluice::test::MakeBatch;

namespace {

std::vector<StreamBatch> OneStream(EncodedBatch b) { return {StreamBatch{"s", std::move(b)}}; }

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
