#include "agent/sinks/kinesis/kpl_aggregator.h"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

namespace sluice {
namespace {

// The format is three protobuf fields; the encoding is written here rather
// than generated with libprotobuf, which would add a dependency and a code
// generator to the build for a dozen lines.
constexpr std::string_view kMagic("\xF3\x89\x9A\xC2", 4);
constexpr size_t kMd5Bytes = 16;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void AppendLengthDelimited(std::string& out, uint8_t tag, std::string_view bytes) {
  out += static_cast<char>(tag);
  AppendVarint(out, bytes.size());
  out.append(bytes);
}

// Record { partition_key_index = 1 (0); explicit_hash_key_index = 2 (0); data = 3 }
size_t RecordBodySize(size_t data, bool ehk) { return 2 + (ehk ? 2 : 0) + 1 + VarintSize(data) + data; }

void AppendRecordField(std::string& out, std::string_view data, bool ehk) {
  out += '\x1A';  // AggregatedRecord.records (3, length-delimited)
  AppendVarint(out, RecordBodySize(data.size(), ehk));
  out += '\x08';  // partition_key_index (1, varint) = 0
  out += '\x00';
  if (ehk) {
    out += '\x10';  // explicit_hash_key_index (2, varint) = 0
    out += '\x00';
  }
  AppendLengthDelimited(out, 0x1A, data);  // Record.data (3)
}

size_t RecordFieldSize(size_t data, bool ehk) {
  const size_t body = RecordBodySize(data, ehk);
  return 1 + VarintSize(body) + body;
}

size_t TablesSize(std::string_view key, std::string_view ehk) {
  size_t n = 1 + VarintSize(key.size()) + key.size();
  if (!ehk.empty()) n += 1 + VarintSize(ehk.size()) + ehk.size();
  return n;
}

std::string Finish(std::string_view key, std::string_view ehk, std::string_view records_pb) {
  std::string pb;
  pb.reserve(TablesSize(key, ehk) + records_pb.size());
  AppendLengthDelimited(pb, 0x0A, key);                    // partition_key_table (1)
  if (!ehk.empty()) AppendLengthDelimited(pb, 0x12, ehk);  // explicit_hash_key_table (2)
  pb.append(records_pb);
  std::array<unsigned char, kMd5Bytes> md5{};
  unsigned int md5_len = 0;
  if (EVP_Digest(pb.data(), pb.size(), md5.data(), &md5_len, EVP_md5(), nullptr) != 1 || md5_len != kMd5Bytes) {
    throw std::runtime_error("OpenSSL MD5 failed");  // only when libcrypto itself is broken
  }
  std::string out;
  out.reserve(kMagic.size() + pb.size() + kMd5Bytes);
  out.append(kMagic);
  out.append(pb);
  out.append(reinterpret_cast<const char*>(md5.data()), md5.size());
  return out;
}

}  // namespace

std::string EncodeKplAggregate(std::string_view partition_key, std::string_view explicit_hash_key,
                               const std::vector<std::string_view>& records) {
  std::string records_pb;
  for (std::string_view r : records) AppendRecordField(records_pb, r, !explicit_hash_key.empty());
  return Finish(partition_key, explicit_hash_key, records_pb);
}

KplAggregator::KplAggregator(uint64_t max_aggregate_bytes, uint64_t max_entry_bytes, std::string explicit_hash_key,
                             PartitionKeyFn key)
    : max_aggregate_bytes_(max_aggregate_bytes),
      max_entry_bytes_(max_entry_bytes),
      explicit_hash_key_(std::move(explicit_hash_key)),
      key_(std::move(key)) {}

uint64_t KplAggregator::EncodedSize(const Aggregate& a, uint64_t extra_records_pb) const {
  return kMagic.size() + TablesSize(a.key, explicit_hash_key_) + a.records_pb.size() + extra_records_pb + kMd5Bytes;
}

bool KplAggregator::Add(std::string_view record, const BatchInfo& batch, RecordRef ref, std::vector<Entry>& out) {
  const std::string group = key_(record, batch, false);
  auto [it, inserted] = group_index_.try_emplace(group, groups_.size());
  if (inserted) groups_.push_back(Aggregate{key_(record, batch, true), {}, {}, {}});
  Aggregate& a = groups_[it->second];

  const bool ehk = !explicit_hash_key_.empty();
  const uint64_t field = RecordFieldSize(record.size(), ehk);
  auto fits = [&](const Aggregate& g) {
    const uint64_t size = EncodedSize(g, field);
    return size <= max_aggregate_bytes_ && size + g.key.size() <= max_entry_bytes_;
  };
  if (!a.refs.empty() && !fits(a)) {
    Emit(a, out);
    a.key = key_(record, batch, true);  // a new draw of {random} for the next aggregate
  }
  if (!fits(a)) {
    // Too large to aggregate even alone: plain, after what its key holds.
    if (record.size() + a.key.size() > max_entry_bytes_) return false;
    out.push_back(Entry{std::string(record), a.key, {ref}});
    return true;
  }
  if (a.refs.empty()) a.first.assign(record);
  AppendRecordField(a.records_pb, record, ehk);
  a.refs.push_back(ref);
  return true;
}

void KplAggregator::Emit(Aggregate& a, std::vector<Entry>& out) {
  if (a.refs.empty()) return;
  Entry e;
  e.key = a.key;
  e.data = a.refs.size() == 1 ? std::move(a.first) : Finish(a.key, explicit_hash_key_, a.records_pb);
  e.records = std::move(a.refs);
  out.push_back(std::move(e));
  a.records_pb.clear();
  a.first.clear();
  a.refs.clear();
}

void KplAggregator::Flush(std::vector<Entry>& out) {
  for (Aggregate& a : groups_) Emit(a, out);
  groups_.clear();
  group_index_.clear();
}

}  // namespace sluice
