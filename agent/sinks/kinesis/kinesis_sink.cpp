#include "agent/sinks/kinesis/kinesis_sink.h"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "agent/sinks/entry_packers.h"
#include "agent/sinks/entry_shipper.h"
#include "agent/sinks/kinesis/kpl_aggregator.h"
#include "agent/sinks/record_template.h"
#include "core/util/utf8.h"
#include "protocols/aws/credentials.h"
#include "protocols/aws/kinesis_client.h"

namespace sluice {
namespace {

constexpr size_t kMaxPartitionKey = 256;

class KinesisSink final : public Sink {
 public:
  KinesisSink(std::string name, KinesisSinkConfig config, BatchPolicy policy, const SinkContext& ctx)
      : name_(std::move(name)),
        config_(std::move(config)),
        policy_(policy),
        shipper_(ShipperOptions(name_, config_, ctx), ctx),
        rng_(std::random_device{}()) {
    const std::map<std::string, std::string> env = aws::EnvironmentMap();
    client_ = std::make_unique<aws::KinesisClient>(
        aws::ResolveJsonServiceConfig(config_.region, config_.endpoint, "KINESIS", env),
        aws::DefaultCredentialsChain(MakeCredentialSources(config_.credentials, env)));
  }

  const std::string& name() const override { return name_; }
  BatchPolicy policy() const override { return policy_; }

  Status Deliver(std::span<const BatchInfo> batches, const BatchLoader& load) override {
    auto send = [this](std::span<const Entry> entries) -> Result<std::vector<EntryOutcome>> {
      std::vector<aws::KinesisRecord> wire;
      wire.reserve(entries.size());
      for (const Entry& e : entries) wire.push_back({e.data, e.key, config_.explicit_hash_key});
      Result<aws::PutRecordsResult> r = client_->PutRecords(config_.stream, wire);
      if (!r.ok()) return r.status();
      std::vector<EntryOutcome> out;
      out.reserve(r.value().entries.size());
      for (aws::KinesisEntryResult& e : r.value().entries) {
        out.push_back({std::move(e.error_code), std::move(e.error_message)});
      }
      return out;
    };
    if (config_.aggregate) {
      KplAggregator packer(
          config_.aggregate_max_bytes, config_.max_record_bytes, config_.explicit_hash_key,
          [this](std::string_view record, const BatchInfo& b, bool fresh) { return Key(record, b.source, fresh); });
      return shipper_.Deliver(batches, load, packer, send);
    }
    RecordPerEntry packer(config_.max_record_bytes, "",
                          [this](std::string_view record, const BatchInfo& b) { return Key(record, b.source, true); });
    return shipper_.Deliver(batches, load, packer, send);
  }

 private:
  static EntryShipperOptions ShipperOptions(const std::string& name, const KinesisSinkConfig& c,
                                            const SinkContext& ctx) {
    EntryShipperOptions o;
    o.sink = name;
    o.target = "stream '" + c.stream + "'";
    o.metric_prefix = "sluice_kinesis";
    o.limits = {static_cast<size_t>(c.max_records), c.max_request_bytes, c.max_record_bytes};
    o.dead_letter = c.dead_letter.empty() ? ctx.data_dir / "dead-letter" / name : c.dead_letter;
    return o;
  }

  std::string Key(std::string_view record, std::string_view source, bool fresh_random) {
    const std::string random = fresh_random && config_.partition_key.find("{random}") != std::string::npos
                                   ? fmt::format("{:016x}", rng_())
                                   : std::string();
    return RenderPartitionKey(config_.partition_key, record, source, random);
  }

  std::string name_;
  KinesisSinkConfig config_;
  BatchPolicy policy_;
  EntryShipper shipper_;
  std::unique_ptr<aws::KinesisClient> client_;
  std::mt19937_64 rng_;
};

}  // namespace

std::string RenderPartitionKey(std::string_view templ, std::string_view record_json, std::string_view batch_source,
                               std::string_view random) {
  // The config reader refuses a template that does not parse; here it is literal text.
  auto parsed = RecordTemplate::Parse(templ, kRecordTemplateVars);
  std::string out = parsed.ok() ? parsed->Render(record_json, random) : std::string(templ);
  if (out.empty()) out = std::string(batch_source);
  if (out.size() > kMaxPartitionKey) out.resize(ValidUtf8Prefix(std::string_view(out).substr(0, kMaxPartitionKey)));
  return out;
}

KinesisSinkConfig ParseKinesisSinkConfig(TableReader& r) {
  KinesisSinkConfig c;
  c.stream = r.RequiredString("stream", "the Kinesis data stream's name");
  c.region = r.String("region", "", "AWS region (empty: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1)");
  c.endpoint = r.String("endpoint", "", "endpoint URL of a VPC endpoint or emulator (empty: AWS)");
  if (!c.endpoint.empty() && !c.endpoint.starts_with("https://") && !c.endpoint.starts_with("http://")) {
    r.Fail("endpoint", "\"" + c.endpoint + "\" must start with https:// or http://");
  }
  c.credentials = ParseAwsCredentialsConfig(r);
  c.partition_key = RecordTemplate::Read(r, "partition_key", "{random}", kRecordTemplateVars,
                                         "partition key template: {topic} {source} {host} {path} {random} and "
                                         "literal text")
                        .text();
  if (c.partition_key.empty()) r.Fail("partition_key", "must not be empty");
  c.explicit_hash_key = r.String("explicit_hash_key", "", "a decimal 128-bit hash key for every record (empty: none)");
  if (!c.explicit_hash_key.empty() &&
      (c.explicit_hash_key.size() > 39 || c.explicit_hash_key.find_first_not_of("0123456789") != std::string::npos)) {
    r.Fail("explicit_hash_key", "must be a decimal number below 2^128");
  }
  c.max_record_bytes = r.Size("max_record_size", "1MiB", 1024, 10u << 20,
                              "largest record (data + partition key); streams take up to 10 MiB when configured so");
  c.max_request_bytes =
      r.Size("max_request_size", "5MiB", 1024, 10u << 20, "largest PutRecords request (data + partition keys)");
  if (c.max_record_bytes > c.max_request_bytes) r.Fail("max_record_size", "must not exceed max_request_size");
  c.max_records = static_cast<int>(r.Int("max_records", 500, 1, 500, "records per PutRecords request"));
  c.aggregate = r.Bool("aggregate", false,
                       "pack many records into each Kinesis record in the KPL format (consumers de-aggregate with "
                       "the KCL)");
  c.aggregate_max_bytes = r.Size("aggregate_max_size", "50KiB", 1024, 10u << 20,
                                 "largest aggregated record (the KPL's AggregationMaxSize default is 51200 bytes)");
  if (c.aggregate && c.aggregate_max_bytes > c.max_record_bytes) {
    r.Fail("aggregate_max_size", "must not exceed max_record_size");
  }
  c.dead_letter =
      r.String("dead_letter", "", "directory for records that can never fit (empty: <data_dir>/dead-letter/<sink>)");
  return c;
}

std::unique_ptr<Sink> MakeKinesisSink(std::string name, KinesisSinkConfig config, BatchPolicy policy,
                                      const SinkContext& context) {
  return std::make_unique<KinesisSink>(std::move(name), std::move(config), policy, context);
}

}  // namespace sluice
