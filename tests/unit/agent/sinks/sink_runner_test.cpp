#include "agent/sinks/sink_runner.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "tests/support/temp_dir.h"
#include "tests/unit/agent/buffer/buffer_test_util.h"

using namespace sluice;
using sluice::test::DecodeLines;
using sluice::test::MakeBatch;

namespace {

// A sink that records what it got and fails while told to.
class RecordingSink final : public Sink {
 public:
  explicit RecordingSink(BatchPolicy p) : policy_(p) {}
  const std::string& name() const override { return name_; }
  BatchPolicy policy() const override { return policy_; }
  Status Deliver(std::span<const BatchInfo> batches, const BatchLoader& load) override {
    std::lock_guard lock(mu);
    ++calls;
    call_times.push_back(std::chrono::steady_clock::now());
    if (fail_remaining > 0) {
      --fail_remaining;
      return Status(fail_code, "destination down");
    }
    std::vector<std::string> got;
    for (const auto& b : batches) {
      Result<std::string> data = load(b);
      if (!data.ok()) return data.status();
      for (auto& l : DecodeLines(data.value())) got.push_back(l);
    }
    lines.insert(lines.end(), got.begin(), got.end());  // all or nothing, like a real sink
    return Status::Ok();
  }
  std::chrono::milliseconds retry_after() const override { return hint; }
  std::mutex mu;
  int calls = 0;
  std::vector<std::chrono::steady_clock::time_point> call_times;
  std::chrono::milliseconds hint{0};  // the Retry-After the destination "answers" with each failure
  int fail_remaining = 0;
  ErrorCode fail_code = ErrorCode::kUnavailable;
  std::vector<std::string> lines;

 private:
  std::string name_ = "rec";
  BatchPolicy policy_;
};

template <class Pred>
bool WaitUntil(Pred p, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return p();
}

}  // namespace

TEST_CASE("sink runner: retries a failing sink without advancing, then delivers everything once", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = sluice::test::OpenTestBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("rec", {"s"}).ok());
  RecordingSink sink({1 << 20, std::chrono::milliseconds(0)});
  sink.fail_remaining = 3;
  SinkRunner runner(sink, *buf, m, sluice::test::QuietLogger(),
                    {std::chrono::milliseconds(1), std::chrono::milliseconds(5)});
  std::stop_source drain, abort;
  std::jthread t([&] { runner.Run(drain.get_token(), abort.get_token()); });
  for (int i = 0; i < 5; ++i) REQUIRE(buf->Commit("s", MakeBatch({"l" + std::to_string(i)}), {}, {}).ok());
  REQUIRE(WaitUntil([&] {
    std::lock_guard lock(sink.mu);
    return sink.lines.size() == 5;
  }));
  drain.request_stop();
  t.join();
  CHECK(sink.lines == std::vector<std::string>{"l0", "l1", "l2", "l3", "l4"});
  CHECK(sink.calls >= 4);
  CHECK(buf->ListPending("rec", 100, 1 << 30)->empty());
  CHECK(m.RenderPrometheus().find("sluice_sink_retries_total{sink=\"rec\"} 3") != std::string::npos);
}

TEST_CASE("sink runner: a destination's not-found is a failure with backoff, not a batch gone", "[unit]") {
  // A missing bucket or stream answers "not found" too; only a batch dropped
  // from the buffer meanwhile may be listed again at once.
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = sluice::test::OpenTestBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("rec", {"s"}).ok());
  RecordingSink sink({1 << 20, std::chrono::milliseconds(0)});
  sink.fail_remaining = 2;
  sink.fail_code = ErrorCode::kNotFound;
  SinkRunner runner(sink, *buf, m, sluice::test::QuietLogger(),
                    {std::chrono::milliseconds(1), std::chrono::milliseconds(5)});
  std::stop_source drain, abort;
  std::jthread t([&] { runner.Run(drain.get_token(), abort.get_token()); });
  REQUIRE(buf->Commit("s", MakeBatch({"only"}), {}, {}).ok());
  REQUIRE(WaitUntil([&] {
    std::lock_guard lock(sink.mu);
    return sink.lines.size() == 1;
  }));
  drain.request_stop();
  t.join();
  CHECK(m.RenderPrometheus().find("sluice_sink_retries_total{sink=\"rec\"} 2") != std::string::npos);
  CHECK(m.RenderPrometheus().find("sluice_sink_errors_total{sink=\"rec\"} 2") != std::string::npos);
}

TEST_CASE("sink runner: waits for max_age unless the group is full, and drains on stop", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = sluice::test::OpenTestBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("rec", {"s"}).ok());
  RecordingSink sink({1 << 20, std::chrono::hours(1)});
  SinkRunner runner(sink, *buf, m, sluice::test::QuietLogger(), {});
  std::stop_source drain, abort;
  std::jthread t([&] { runner.Run(drain.get_token(), abort.get_token()); });
  REQUIRE(buf->Commit("s", MakeBatch({"young"}), {}, {}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    std::lock_guard lock(sink.mu);
    CHECK(sink.calls == 0);  // an hour's max_age has not passed
  }
  drain.request_stop();  // shutdown delivers what is pending regardless of age
  t.join();
  CHECK(sink.lines == std::vector<std::string>{"young"});
}

TEST_CASE("sink runner: abort returns while the sink keeps failing, leaving data in the buffer", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = sluice::test::OpenTestBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("rec", {"s"}).ok());
  RecordingSink sink({1 << 20, std::chrono::milliseconds(0)});
  sink.fail_remaining = 1'000'000;
  SinkRunner runner(sink, *buf, m, sluice::test::QuietLogger(),
                    {std::chrono::milliseconds(50), std::chrono::seconds(10)});
  std::stop_source drain, abort;
  REQUIRE(buf->Commit("s", MakeBatch({"kept"}), {}, {}).ok());
  std::jthread t([&] { runner.Run(drain.get_token(), abort.get_token()); });
  drain.request_stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  abort.request_stop();
  t.join();
  CHECK(buf->ListPending("rec", 100, 1 << 30)->size() == 1);
}

TEST_CASE("sink runner: a corrupt batch is skipped and counted, the rest delivered", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  BufferOptions o;
  o.dir = dir.path();
  {
    auto buf = std::move(Buffer::Open(o, sluice::test::QuietLogger(), m)).value();
    for (int i = 0; i < 3; ++i) REQUIRE(buf->Commit("s", MakeBatch({"b" + std::to_string(i)}), {}, {}).ok());
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir / "buffer.db").c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "UPDATE batches SET crc32c = crc32c + 1 WHERE seq = 2", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(db);
  auto buf = std::move(Buffer::Open(o, sluice::test::QuietLogger(), m)).value();
  REQUIRE(buf->RegisterSink("rec", {"s"}).ok());
  RecordingSink sink({1 << 20, std::chrono::milliseconds(0)});
  SinkRunner runner(sink, *buf, m, sluice::test::QuietLogger(),
                    {std::chrono::milliseconds(1), std::chrono::milliseconds(5)});
  std::stop_source drain, abort;
  std::jthread t([&] { runner.Run(drain.get_token(), abort.get_token()); });
  REQUIRE(WaitUntil([&] { return buf->ListPending("rec", 100, 1 << 30)->empty(); }));
  drain.request_stop();
  t.join();
  CHECK(sink.lines == std::vector<std::string>{"b0", "b2"});
  CHECK(m.RenderPrometheus().find("sluice_sink_corrupt_batches_skipped_total{sink=\"rec\"} 1") != std::string::npos);
}

TEST_CASE("sink runner: a Retry-After hint longer than the backoff delays the next attempt", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = sluice::test::OpenTestBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("rec", {"s"}).ok());
  RecordingSink sink({1 << 20, std::chrono::milliseconds(0)});
  sink.fail_remaining = 2;
  sink.hint = std::chrono::milliseconds(300);  // the backoff alone would wait at most 5 ms
  SinkRunner runner(sink, *buf, m, sluice::test::QuietLogger(),
                    {std::chrono::milliseconds(1), std::chrono::milliseconds(5)});
  std::stop_source drain, abort;
  std::jthread t([&] { runner.Run(drain.get_token(), abort.get_token()); });
  REQUIRE(buf->Commit("s", MakeBatch({"late"}), {}, {}).ok());
  REQUIRE(WaitUntil([&] {
    std::lock_guard lock(sink.mu);
    return sink.lines.size() == 1;
  }));
  drain.request_stop();
  t.join();
  REQUIRE(sink.call_times.size() == 3);
  // Each retry came no earlier than the destination asked (an ordering fact:
  // a sleep is never shorter than asked, however slow the machine).
  CHECK(sink.call_times[1] - sink.call_times[0] >= sink.hint);
  CHECK(sink.call_times[2] - sink.call_times[1] >= sink.hint);
}

TEST_CASE("sink runner: a Retry-After wait ends at abort", "[unit]") {
  sluice::test::TempDir dir;
  MetricsRegistry m;
  auto buf = sluice::test::OpenTestBuffer(dir.path(), m);
  REQUIRE(buf->RegisterSink("rec", {"s"}).ok());
  RecordingSink sink({1 << 20, std::chrono::milliseconds(0)});
  sink.fail_remaining = 1'000'000;
  sink.hint = std::chrono::hours(24);  // capped at kMaxRetryAfter, and abort ends it sooner
  SinkRunner runner(sink, *buf, m, sluice::test::QuietLogger(),
                    {std::chrono::milliseconds(1), std::chrono::milliseconds(5)});
  std::stop_source drain, abort;
  REQUIRE(buf->Commit("s", MakeBatch({"kept"}), {}, {}).ok());
  std::jthread t([&] { runner.Run(drain.get_token(), abort.get_token()); });
  REQUIRE(WaitUntil([&] {
    std::lock_guard lock(sink.mu);
    return sink.calls == 1;
  }));
  abort.request_stop();
  t.join();  // returns: the wait was interrupted (a hung join fails the test by its timeout)
  CHECK(sink.calls == 1);
  CHECK(buf->ListPending("rec", 100, 1 << 30)->size() == 1);
}
