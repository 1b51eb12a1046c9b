// KPL aggregation: many user records in one Kinesis record, in the format the
// Kinesis Producer Library writes and the KCL (and aws-kinesis-agg) reads:
//   magic F3 89 9A C2 | protobuf AggregatedRecord | MD5 of the protobuf
// (github.com/awslabs/amazon-kinesis-producer, aggregation-format.md).
//
// Records are grouped by partition key: every aggregate holds records of one
// key and is sent under that key, so records of one key stay on one shard,
// in order. `{random}` in the template is drawn once per aggregate, not per
// record, so a random key still aggregates. An aggregate holding a single
// record is sent as that plain record (consumers take both).
//
// Invariants: an aggregate's data is at most `max_aggregate_bytes` and data
// plus key at most `max_entry_bytes`; a record too large to aggregate is sent
// plain, after the open aggregate of its key (order kept); one too large even
// plain is refused (dead letter). A key's entries are emitted in the order
// of its records; Flush emits the open aggregates in the order they began.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sinks/entry_shipper.h"

namespace sluice {

// The partition key of a record; with `fresh_random` false, {random} renders
// empty (the record's group), true draws a new value.
using PartitionKeyFn = std::function<std::string(std::string_view record, const BatchInfo& batch, bool fresh_random)>;

class KplAggregator final : public EntryPacker {
 public:
  KplAggregator(uint64_t max_aggregate_bytes, uint64_t max_entry_bytes, std::string explicit_hash_key,
                PartitionKeyFn key);
  bool Add(std::string_view record, const BatchInfo& batch, RecordRef ref, std::vector<Entry>& out) override;
  void Flush(std::vector<Entry>& out) override;

 private:
  struct Aggregate {
    std::string key;
    std::string records_pb;  // the encoded `records` fields
    std::string first;       // the first record, sent plain when it stays alone
    std::vector<RecordRef> refs;
  };
  uint64_t EncodedSize(const Aggregate& a, uint64_t extra_records_pb) const;
  void Emit(Aggregate& a, std::vector<Entry>& out);

  const uint64_t max_aggregate_bytes_;
  const uint64_t max_entry_bytes_;
  const std::string explicit_hash_key_;
  PartitionKeyFn key_;
  std::map<std::string, size_t> group_index_;  // group key -> position in groups_
  std::vector<Aggregate> groups_;
};

// The Kinesis record data of an aggregate of `records` under one partition
// key (and explicit hash key when not empty). For tests and the benchmark.
std::string EncodeKplAggregate(std::string_view partition_key, std::string_view explicit_hash_key,
                               const std::vector<std::string_view>& records);

}  // namespace sluice
