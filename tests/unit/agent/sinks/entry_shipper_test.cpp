// The delivery loop of the Kinesis and Firehose sinks, with a scripted
// sender: requests within the limits, only refused entries resent, stored
// entries remembered across a failed delivery, records that never fit
// dead-lettered, combined lines within the entry limit.
#include "agent/sinks/entry_shipper.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>

#include "agent/sinks/entry_packers.h"
#include "core/log/log.h"
#include "tests/support/compress.h"
#include "tests/support/temp_dir.h"

namespace sluice {
namespace {

struct ShipperFixture {
  test::TempDir tmp{"sluice-entry-shipper"};
  std::vector<BatchInfo> batches;
  std::map<std::string, std::string> frames;
  std::vector<std::vector<std::string>> requests;  // the data of every entry of every request
  std::function<bool(const std::string&, int)> refuse = [](const std::string&, int) { return false; };
  bool fail_whole = false;

  void AddBatch(const std::string& id, const std::vector<std::string>& lines) {
    BatchInfo b;
    b.id = id;
    b.source = "app";
    b.records = static_cast<uint32_t>(lines.size());
    std::string text;
    for (const std::string& l : lines) text += l + "\n";
    frames[id] = test::ZstdBytes(text);
    batches.push_back(b);
  }
  BatchLoader Loader() {
    return [this](const BatchInfo& b) -> Result<std::string> { return frames.at(b.id); };
  }
  EntrySender Sender() {
    return [this](std::span<const Entry> entries) -> Result<std::vector<EntryOutcome>> {
      if (fail_whole) return Status::Unavailable("whole request failed");
      std::vector<std::string> seen;
      std::vector<EntryOutcome> out;
      for (const Entry& e : entries) {
        seen.push_back(e.data);
        const int attempt = static_cast<int>(std::count_if(requests.begin(), requests.end(), [&](const auto& r) {
          return std::find(r.begin(), r.end(), e.data) != r.end();
        }));
        out.push_back(refuse(e.data, attempt) ? EntryOutcome{"ProvisionedThroughputExceededException", "slow down"}
                                              : EntryOutcome{});
      }
      requests.push_back(std::move(seen));
      return out;
    };
  }
  SinkContext Context() const {
    return SinkContext{MakeLogger("entry-shipper-test", LogFormat::kText, spdlog::level::off), nullptr, tmp.path()};
  }
  EntryShipperOptions Options(EntryLimits limits) const {
    EntryShipperOptions o;
    o.sink = "test";
    o.target = "stream 'test'";
    o.metric_prefix = "sluice_test";
    o.limits = limits;
    o.dead_letter = tmp / "dead";
    o.retry_initial = std::chrono::milliseconds(1);
    o.retry_max = std::chrono::milliseconds(2);
    return o;
  }
};

std::string ShipperLine(int n) { return "line-" + std::to_string(n); }

}  // namespace

TEST_CASE("entry shipper: requests stay within the entry and byte limits", "[sinks][entries]") {
  ShipperFixture f;
  std::vector<std::string> lines;
  for (int i = 0; i < 100; ++i) lines.push_back(ShipperLine(i) + std::string(static_cast<size_t>(i % 7) * 10, '.'));
  f.AddBatch("1-1", lines);
  f.AddBatch("1-2", lines);
  EntryShipper shipper(f.Options({.max_entries = 7, .max_request_bytes = 200, .max_entry_bytes = 100}), f.Context());
  RecordPerEntry packer(100, "\n", nullptr);
  REQUIRE(shipper.Deliver(f.batches, f.Loader(), packer, f.Sender()).ok());
  size_t total = 0;
  for (const auto& r : f.requests) {
    CHECK(r.size() <= 7);
    size_t bytes = 0;
    for (const std::string& d : r) bytes += d.size();
    CHECK(bytes <= 200);
    total += r.size();
  }
  CHECK(total == 200);
}

TEST_CASE("entry shipper: only refused entries are resent, in their order", "[sinks][entries]") {
  ShipperFixture f;
  std::vector<std::string> lines;
  for (int i = 0; i < 50; ++i) lines.push_back(ShipperLine(i));
  f.AddBatch("1-1", lines);
  // Every third entry is refused on its first two attempts.
  f.refuse = [](const std::string& data, int attempt) { return std::stoi(data.substr(5)) % 3 == 0 && attempt < 2; };
  EntryShipper shipper(f.Options({.max_entries = 500, .max_request_bytes = 1 << 20, .max_entry_bytes = 1024}),
                       f.Context());
  RecordPerEntry packer(1024, "", nullptr);
  REQUIRE(shipper.Deliver(f.batches, f.Loader(), packer, f.Sender()).ok());
  REQUIRE(f.requests.size() == 3);
  CHECK(f.requests[0].size() == 50);
  CHECK(f.requests[1].size() == 17);  // 0, 3, ..., 48
  CHECK(f.requests[2].size() == 17);
  CHECK(f.requests[1].front() == "line-0");
  CHECK(f.requests[1].back() == "line-48");
}

TEST_CASE("entry shipper: a failed delivery resends only what was not stored", "[sinks][entries]") {
  ShipperFixture f;
  std::vector<std::string> lines;
  for (int i = 0; i < 20; ++i) lines.push_back(ShipperLine(i));
  f.AddBatch("1-1", lines);
  f.refuse = [](const std::string& data, int) { return data == "line-5"; };  // refused every time
  EntryShipper shipper(f.Options({.max_entries = 500, .max_request_bytes = 1 << 20, .max_entry_bytes = 1024}),
                       f.Context());
  {
    RecordPerEntry packer(1024, "", nullptr);
    const Status s = shipper.Deliver(f.batches, f.Loader(), packer, f.Sender());
    CHECK(s.code() == ErrorCode::kUnavailable);
    CHECK(s.message().find("stream 'test'") != std::string::npos);
  }
  f.requests.clear();
  f.refuse = [](const std::string&, int) { return false; };
  RecordPerEntry packer(1024, "", nullptr);
  REQUIRE(shipper.Deliver(f.batches, f.Loader(), packer, f.Sender()).ok());
  REQUIRE(f.requests.size() == 1);
  CHECK(f.requests[0] == std::vector<std::string>{"line-5"});

  // Once confirmed, the batch is forgotten: a later delivery sends it whole.
  f.requests.clear();
  RecordPerEntry again(1024, "", nullptr);
  REQUIRE(shipper.Deliver(f.batches, f.Loader(), again, f.Sender()).ok());
  CHECK(f.requests[0].size() == 20);
}

TEST_CASE("entry shipper: a record that never fits is dead-lettered and the rest delivered", "[sinks][entries]") {
  ShipperFixture f;
  f.AddBatch("1-7", {"small", std::string(200, 'B'), "tail"});
  EntryShipper shipper(f.Options({.max_entries = 500, .max_request_bytes = 1 << 20, .max_entry_bytes = 100}),
                       f.Context());
  RecordPerEntry packer(100, "", nullptr);
  REQUIRE(shipper.Deliver(f.batches, f.Loader(), packer, f.Sender()).ok());
  REQUIRE(f.requests.size() == 1);
  CHECK(f.requests[0] == std::vector<std::string>{"small", "tail"});
  CHECK(test::ReadFile(f.tmp / "dead" / "app" / "1-7-1.jsonl") == std::string(200, 'B') + "\n");
}

TEST_CASE("combined lines: entries of whole lines within the limit, in order", "[sinks][entries]") {
  CombinedLines packer(32);
  BatchInfo b;
  std::vector<Entry> out;
  for (size_t i = 0; i < 10; ++i) REQUIRE(packer.Add("0123456789", b, RecordRef{0, i}, out));  // 11 bytes each
  CHECK_FALSE(packer.Add(std::string(32, 'x'), b, RecordRef{0, 10}, out));                     // 33 with its newline
  packer.Flush(out);
  REQUIRE(out.size() == 5);  // two lines of 11 bytes each: a third would make 33
  size_t next = 0;
  for (const Entry& e : out) {
    CHECK(e.data.size() <= 32);
    CHECK(e.data.size() == e.records.size() * 11);
    for (const RecordRef& r : e.records) CHECK(r.index == next++);
  }
  CHECK(next == 10);
}

}  // namespace sluice
