// KPL aggregation: the exact bytes of an aggregate, grouping by partition
// key, {random} drawn once per aggregate, the size limits, records too
// large to aggregate sent plain, in order. (De-aggregation by the reference
// implementation is in the integration test.)
#include "agent/sinks/kinesis/kpl_aggregator.h"

#include <openssl/evp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>

namespace sluice {
namespace {

std::string KplMd5(std::string_view bytes) {
  unsigned char md[16];
  unsigned int n = 0;
  REQUIRE(EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_md5(), nullptr) == 1);
  return std::string(reinterpret_cast<const char*>(md), n);
}

BatchInfo KplBatch(std::string source) {
  BatchInfo b;
  b.id = "1-1";
  b.source = std::move(source);
  return b;
}

// Keys are the record's first character; {random} draws "r<N>".
PartitionKeyFn FirstCharKey(int& draws, bool random) {
  return [&draws, random](std::string_view record, const BatchInfo&, bool fresh) {
    if (!random) return std::string(record.substr(0, 1));
    return fresh ? "r" + std::to_string(++draws) : std::string("r");
  };
}

}  // namespace

TEST_CASE("kpl aggregate: the bytes are magic, protobuf AggregatedRecord and its MD5", "[kinesis][kpl]") {
  const std::string got = EncodeKplAggregate("k", "", {"a", "bc"});
  // (Literals split where a hex escape would swallow the next letter.)
  const std::string pb(
      "\x0A\x01"
      "k"  // partition_key_table: "k"
      "\x1A\x05\x08\x00\x1A\x01"
      "a"  // records: {partition_key_index 0, data "a"}
      "\x1A\x06\x08\x00\x1A\x02"
      "bc",  // records: {partition_key_index 0, data "bc"}
      3 + 7 + 8);
  REQUIRE(got.size() == 4 + pb.size() + 16);
  CHECK(got.substr(0, 4) == std::string("\xF3\x89\x9A\xC2", 4));
  CHECK(got.substr(4, pb.size()) == pb);
  CHECK(got.substr(4 + pb.size()) == KplMd5(pb));

  // An explicit hash key adds its table and each record's index.
  const std::string with_ehk = EncodeKplAggregate("k", "42", {"a"});
  const std::string pb2(
      "\x0A\x01"
      "k"
      "\x12\x02"
      "42"
      "\x1A\x07\x08\x00\x10\x00\x1A\x01"
      "a",
      3 + 4 + 9);
  CHECK(with_ehk.substr(4, pb2.size()) == pb2);

  // Lengths past 127 take two varint bytes.
  const std::string long_record(300, 'z');
  const std::string big = EncodeKplAggregate("k", "", {long_record});
  CHECK(big.substr(7, 6) == std::string("\x1A\xB1\x02\x08\x00\x1A", 6));  // a record of 305 bytes
  CHECK(big.substr(13, 2) == std::string("\xAC\x02", 2));                 // 300
}

TEST_CASE("kpl aggregator: one aggregate per key, within the size limit, emitted in order", "[kinesis][kpl]") {
  int draws = 0;
  KplAggregator agg(/*max_aggregate_bytes=*/200, /*max_entry_bytes=*/1000, "", FirstCharKey(draws, false));
  const BatchInfo b = KplBatch("app");
  std::vector<Entry> out;
  std::vector<std::string> records;
  for (int i = 0; i < 40; ++i)
    records.push_back((i % 2 == 0 ? "a" : "b") + std::string(20, static_cast<char>('0' + i % 10)));
  for (size_t i = 0; i < records.size(); ++i) REQUIRE(agg.Add(records[i], b, RecordRef{0, i}, out));
  agg.Flush(out);
  size_t carried = 0;
  std::map<std::string, std::vector<size_t>> order;
  for (const Entry& e : out) {
    CHECK(e.data.size() <= 200);
    CHECK(e.data.substr(0, 4) == std::string("\xF3\x89\x9A\xC2", 4));
    for (const RecordRef& r : e.records) {
      CHECK(records[r.index].substr(0, 1) == e.key);  // every record under its own key
      order[e.key].push_back(r.index);
    }
    carried += e.records.size();
    // The aggregate is exactly what EncodeKplAggregate makes of its records.
    std::vector<std::string_view> mine;
    for (const RecordRef& r : e.records) mine.push_back(records[r.index]);
    CHECK(e.data == EncodeKplAggregate(e.key, "", mine));
  }
  CHECK(carried == records.size());
  CHECK(out.size() < records.size() / 3);
  for (const auto& [key, idx] : order) CHECK(std::is_sorted(idx.begin(), idx.end()));
}

TEST_CASE("kpl aggregator: {random} is drawn per aggregate, so random keys still aggregate", "[kinesis][kpl]") {
  int draws = 0;
  KplAggregator agg(200, 1000, "", FirstCharKey(draws, true));
  const BatchInfo b = KplBatch("app");
  std::vector<Entry> out;
  for (size_t i = 0; i < 30; ++i) REQUIRE(agg.Add(std::string(30, 'x'), b, RecordRef{0, i}, out));
  agg.Flush(out);
  CHECK(out.size() < 10);
  std::set<std::string> keys;
  for (const Entry& e : out) keys.insert(e.key);
  CHECK(keys.size() == out.size());  // a new draw for each aggregate
}

TEST_CASE("kpl aggregator: a lone record goes plain, a large one plain after its key's aggregate, a huge one refused",
          "[kinesis][kpl]") {
  int draws = 0;
  KplAggregator agg(100, 500, "", FirstCharKey(draws, false));
  const BatchInfo b = KplBatch("app");
  std::vector<Entry> out;
  REQUIRE(agg.Add("a1", b, RecordRef{0, 0}, out));
  REQUIRE(agg.Add("a2", b, RecordRef{0, 1}, out));
  REQUIRE(agg.Add("b-alone", b, RecordRef{0, 2}, out));
  const std::string large = "a" + std::string(200, 'L');  // over 100 aggregated, under 500 plain
  REQUIRE(agg.Add(large, b, RecordRef{0, 3}, out));
  REQUIRE(out.size() == 2);  // a's aggregate, then the large record plain
  CHECK(out[0].key == "a");
  CHECK(out[0].records.size() == 2);
  CHECK(out[1].data == large);
  CHECK(out[1].records.size() == 1);
  CHECK_FALSE(agg.Add("a" + std::string(600, 'H'), b, RecordRef{0, 4}, out));
  agg.Flush(out);
  REQUIRE(out.size() == 3);
  CHECK(out[2].data == "b-alone");  // alone: plain, not an aggregate of one
  CHECK(out[2].key == "b");
}

}  // namespace sluice
