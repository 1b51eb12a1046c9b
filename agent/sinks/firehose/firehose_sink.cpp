#include "agent/sinks/firehose/firehose_sink.h"

#include "agent/sinks/entry_packers.h"
#include "agent/sinks/entry_shipper.h"
#include "protocols/aws/credentials.h"
#include "protocols/aws/firehose_client.h"

namespace sluice {
namespace {

// The API's limits (docs: PutRecordBatch).
constexpr uint64_t kMaxRecordBytes = 1000u << 10;
constexpr uint64_t kMaxRequestBytes = 4u << 20;

class FirehoseSink final : public Sink {
 public:
  FirehoseSink(std::string name, FirehoseSinkConfig config, BatchPolicy policy, const SinkContext& ctx)
      : name_(std::move(name)),
        config_(std::move(config)),
        policy_(policy),
        shipper_(ShipperOptions(name_, config_, ctx), ctx) {
    const std::map<std::string, std::string> env = aws::EnvironmentMap();
    client_ = std::make_unique<aws::FirehoseClient>(
        aws::ResolveJsonServiceConfig(config_.region, config_.endpoint, "FIREHOSE", env),
        aws::DefaultCredentialsChain(MakeCredentialSources(config_.credentials, env)));
  }

  const std::string& name() const override { return name_; }
  BatchPolicy policy() const override { return policy_; }

  Status Deliver(std::span<const BatchInfo> batches, const BatchLoader& load) override {
    auto send = [this](std::span<const Entry> entries) -> Result<std::vector<EntryOutcome>> {
      std::vector<std::string_view> wire;
      wire.reserve(entries.size());
      for (const Entry& e : entries) wire.push_back(e.data);
      Result<aws::PutRecordBatchResult> r = client_->PutRecordBatch(config_.delivery_stream, wire);
      if (!r.ok()) return r.status();
      std::vector<EntryOutcome> out;
      out.reserve(r.value().entries.size());
      for (aws::FirehoseEntryResult& e : r.value().entries) {
        out.push_back({std::move(e.error_code), std::move(e.error_message)});
      }
      return out;
    };
    if (config_.combine) {
      CombinedLines packer(config_.max_record_bytes);
      return shipper_.Deliver(batches, load, packer, send);
    }
    RecordPerEntry packer(config_.max_record_bytes, "\n", nullptr);
    return shipper_.Deliver(batches, load, packer, send);
  }

 private:
  static EntryShipperOptions ShipperOptions(const std::string& name, const FirehoseSinkConfig& c,
                                            const SinkContext& ctx) {
    EntryShipperOptions o;
    o.sink = name;
    o.target = "delivery stream '" + c.delivery_stream + "'";
    o.metric_prefix = "sluice_firehose";
    o.limits = {static_cast<size_t>(c.max_records), c.max_request_bytes, c.max_record_bytes};
    o.dead_letter = c.dead_letter.empty() ? ctx.data_dir / "dead-letter" / name : c.dead_letter;
    return o;
  }

  std::string name_;
  FirehoseSinkConfig config_;
  BatchPolicy policy_;
  EntryShipper shipper_;
  std::unique_ptr<aws::FirehoseClient> client_;
};

}  // namespace

FirehoseSinkConfig ParseFirehoseSinkConfig(TableReader& r) {
  FirehoseSinkConfig c;
  c.delivery_stream = r.RequiredString("delivery_stream", "the Firehose delivery stream's name");
  if (c.delivery_stream.empty() || c.delivery_stream.size() > 64 ||
      c.delivery_stream.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
          std::string::npos) {
    r.Fail("delivery_stream", "\"" + c.delivery_stream + "\": 1 to 64 characters of a-z A-Z 0-9 _ . -");
  }
  c.region = r.String("region", "", "AWS region (empty: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1)");
  c.endpoint = r.String("endpoint", "", "endpoint URL of a VPC endpoint or a test server (empty: AWS)");
  if (!c.endpoint.empty() && !c.endpoint.starts_with("https://") && !c.endpoint.starts_with("http://")) {
    r.Fail("endpoint", "\"" + c.endpoint + "\" must start with https:// or http://");
  }
  c.credentials = ParseAwsCredentialsConfig(r);
  c.combine =
      r.Bool("combine", false, "join consecutive lines into Firehose records of up to max_record_size (fewer records)");
  c.max_record_bytes =
      r.Size("max_record_size", "1000KiB", 1024, kMaxRecordBytes, "largest Firehose record (Firehose: 1,000 KiB)");
  c.max_request_bytes =
      r.Size("max_request_size", "4MiB", 1024, kMaxRequestBytes, "largest PutRecordBatch request (Firehose: 4 MiB)");
  if (c.max_record_bytes > c.max_request_bytes) r.Fail("max_record_size", "must not exceed max_request_size");
  c.max_records = static_cast<int>(r.Int("max_records", 500, 1, 500, "records per PutRecordBatch request"));
  c.dead_letter =
      r.String("dead_letter", "", "directory for records that can never fit (empty: <data_dir>/dead-letter/<sink>)");
  return c;
}

std::unique_ptr<Sink> MakeFirehoseSink(std::string name, FirehoseSinkConfig config, BatchPolicy policy,
                                       const SinkContext& context) {
  return std::make_unique<FirehoseSink>(std::move(name), std::move(config), policy, context);
}

}  // namespace sluice
