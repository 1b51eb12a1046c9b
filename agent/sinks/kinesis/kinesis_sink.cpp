#include "agent/sinks/kinesis/kinesis_sink.h"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "agent/sinks/batch_encoding.h"
#include "core/backoff.h"
#include "core/util/durable_file.h"
#include "core/util/utf8.h"
#include "protocols/aws/credentials.h"
#include "protocols/aws/kinesis_client.h"

namespace sluice {
namespace {

constexpr size_t kMaxPartitionKey = 256;
constexpr int kEntryRetryRounds = 4;

// One record on its way: owned bytes, so a request can span batches.
struct Outgoing {
  std::string data;
  std::string key;
  size_t batch = 0;  // index into the delivery's batches
  size_t index = 0;  // the record's position in its batch
};

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

class KinesisSink final : public Sink {
 public:
  KinesisSink(std::string name, KinesisSinkConfig config, BatchPolicy policy, const SinkContext& ctx)
      : name_(std::move(name)),
        config_(std::move(config)),
        policy_(policy),
        log_(ctx.log),
        own_metrics_(ctx.metrics == nullptr ? std::make_unique<MetricsRegistry>() : nullptr),
        metrics_(ctx.metrics != nullptr ? *ctx.metrics : *own_metrics_),
        requests_(metrics_.GetCounter("sluice_kinesis_requests_total", "PutRecords requests sent", {{"sink", name_}})),
        refused_(metrics_.GetCounter("sluice_kinesis_refused_records_total",
                                     "records a PutRecords answer refused (FailedRecordCount), each retried",
                                     {{"sink", name_}})),
        dead_(metrics_.GetCounter("sluice_sink_dead_letter_records_total",
                                  "records that can never be delivered, written to the dead-letter directory",
                                  {{"sink", name_}})),
        rng_(std::random_device{}()) {
    if (config_.dead_letter.empty()) config_.dead_letter = ctx.data_dir / "dead-letter" / name_;
    const std::map<std::string, std::string> env = aws::EnvironmentMap();
    aws::KinesisConfig c;
    auto first_set = [&](std::initializer_list<const char*> names) {
      for (const char* n : names) {
        auto it = env.find(n);
        if (it != env.end() && !it->second.empty()) return it->second;
      }
      return std::string();
    };
    c.region = !config_.region.empty() ? config_.region : first_set({"AWS_REGION", "AWS_DEFAULT_REGION"});
    if (c.region.empty()) c.region = "us-east-1";
    c.endpoint =
        !config_.endpoint.empty() ? config_.endpoint : first_set({"AWS_ENDPOINT_URL_KINESIS", "AWS_ENDPOINT_URL"});
    c.http.ca_file = first_set({"AWS_CA_BUNDLE"});
    client_ = std::make_unique<aws::KinesisClient>(
        c, aws::DefaultCredentialsChain(MakeCredentialSources(config_.credentials, env)));
  }

  const std::string& name() const override { return name_; }
  BatchPolicy policy() const override { return policy_; }

  Status Deliver(std::span<const BatchInfo> batches, const BatchLoader& load) override {
    std::vector<Outgoing> request;
    uint64_t request_bytes = 0;
    std::vector<Outgoing> refused;
    Status last_refusal;
    auto flush = [&]() -> Status {
      if (request.empty()) return Status::Ok();
      Status s = Send(batches, request, refused, last_refusal);
      request.clear();
      request_bytes = 0;
      return s;
    };

    for (size_t bi = 0; bi < batches.size(); ++bi) {
      const BatchInfo& b = batches[bi];
      Result<std::string> frame = load(b);
      if (!frame.ok()) return frame.status();
      Result<std::string> plain = EncodeBatch(frame.value(), ObjectCompression::kNone);
      if (!plain.ok()) return Status(plain.status().code(), b.id + ": " + plain.status().message());
      const std::vector<std::string_view> lines = Lines(plain.value());
      std::vector<bool>& stored = Stored(b.id, lines.size());
      std::string dead_letters;
      std::vector<size_t> dead;
      for (size_t i = 0; i < lines.size(); ++i) {
        if (stored[i]) continue;
        Outgoing o{std::string(lines[i]), Key(lines[i], b.source), bi, i};
        const uint64_t size = o.data.size() + o.key.size();
        if (size > config_.max_record_bytes) {
          dead_letters.append(lines[i]);
          dead_letters += '\n';
          dead.push_back(i);
          continue;
        }
        if (request.size() >= static_cast<size_t>(config_.max_records) ||
            request_bytes + size > config_.max_request_bytes) {
          if (Status s = flush(); !s.ok()) return s;
        }
        request_bytes += size;
        request.push_back(std::move(o));
      }
      if (!dead.empty()) {
        if (Status s = WriteDeadLetters(b, dead_letters, dead.size()); !s.ok()) return s;
        for (size_t i : dead) stored[i] = true;
      }
    }
    if (Status s = flush(); !s.ok()) return s;

    // The refused entries alone, in their order, a few rounds with backoff;
    // what is still refused fails the delivery (the runner waits longer).
    Backoff backoff(std::chrono::milliseconds(100), std::chrono::milliseconds(2000));
    for (int round = 0; round < kEntryRetryRounds && !refused.empty(); ++round) {
      std::this_thread::sleep_for(backoff.Next());
      std::vector<Outgoing> again = std::move(refused);
      refused.clear();
      for (size_t start = 0; start < again.size();) {
        std::vector<Outgoing> chunk;
        uint64_t bytes = 0;
        while (start < again.size() && chunk.size() < static_cast<size_t>(config_.max_records) &&
               bytes + again[start].data.size() + again[start].key.size() <= config_.max_request_bytes) {
          bytes += again[start].data.size() + again[start].key.size();
          chunk.push_back(std::move(again[start++]));
        }
        if (Status s = Send(batches, chunk, refused, last_refusal); !s.ok()) return s;
      }
    }
    if (!refused.empty()) {
      return Status::Unavailable(fmt::format("{} records still refused by stream '{}' after {} retries; last: {}",
                                             refused.size(), config_.stream, kEntryRetryRounds,
                                             last_refusal.message()));
    }
    for (const BatchInfo& b : batches) stored_.erase(b.id);
    return Status::Ok();
  }

 private:
  std::vector<bool>& Stored(const std::string& batch_id, size_t records) {
    std::vector<bool>& v = stored_[batch_id];
    if (v.size() != records) v.assign(records, false);
    return v;
  }

  std::string Key(std::string_view record, std::string_view source) {
    const std::string random =
        config_.partition_key.find("{random}") != std::string::npos ? fmt::format("{:016x}", rng_()) : std::string();
    return RenderPartitionKey(config_.partition_key, record, source, random);
  }

  // One PutRecords; stored entries are marked, refused ones appended to `refused`.
  Status Send(std::span<const BatchInfo> batches, std::vector<Outgoing>& records, std::vector<Outgoing>& refused,
              Status& last_refusal) {
    std::vector<aws::KinesisRecord> wire;
    wire.reserve(records.size());
    for (const Outgoing& o : records) wire.push_back({o.data, o.key, config_.explicit_hash_key});
    requests_.Inc();
    Result<aws::PutRecordsResult> r = client_->PutRecords(config_.stream, wire);
    if (!r.ok()) return r.status();
    for (size_t i = 0; i < records.size(); ++i) {
      const aws::KinesisEntryResult& e = r.value().entries[i];
      if (e.ok()) {
        stored_[batches[records[i].batch].id][records[i].index] = true;
      } else {
        refused_.Inc();
        last_refusal = Status::Unavailable(e.error_code + ": " + e.error_message);
        refused.push_back(std::move(records[i]));
      }
    }
    return Status::Ok();
  }

  Status WriteDeadLetters(const BatchInfo& b, const std::string& lines, size_t count) {
    const std::filesystem::path dir = config_.dead_letter / b.source;
    if (Status s = CreateDirectoriesDurable(dir, true); !s.ok()) return s;
    Result<AtomicFile> f = AtomicFile::Create(dir / (b.id + ".jsonl"), true);
    if (!f.ok()) return f.status();
    if (Status s = f->Append(lines); !s.ok()) return s;
    if (Status s = f->Commit(); !s.ok()) return s;
    dead_.Inc(count);
    log_->warn("{} records of batch {} exceed max_record_size ({} bytes): written to {}", count, b.id,
               config_.max_record_bytes, (dir / (b.id + ".jsonl")).string());
    return Status::Ok();
  }

  std::string name_;
  KinesisSinkConfig config_;
  BatchPolicy policy_;
  Logger log_;
  std::unique_ptr<MetricsRegistry> own_metrics_;
  MetricsRegistry& metrics_;
  Counter& requests_;
  Counter& refused_;
  Counter& dead_;
  std::unique_ptr<aws::KinesisClient> client_;
  // Records stored so far of batches not yet confirmed, by batch id.
  std::map<std::string, std::vector<bool>> stored_;
  std::mt19937_64 rng_;
};

}  // namespace

std::string RenderPartitionKey(std::string_view templ, std::string_view record_json, std::string_view batch_source,
                               std::string_view random) {
  std::string out;
  nlohmann::json fields;
  bool parsed = false;
  for (size_t i = 0; i < templ.size();) {
    if (templ[i] != '{') {
      out += templ[i++];
      continue;
    }
    const size_t close = templ.find('}', i);
    if (close == std::string_view::npos) {  // not a variable (the config reader refuses these)
      out += templ.substr(i);
      break;
    }
    const std::string_view var = templ.substr(i + 1, close - i - 1);
    i = close + 1;
    if (var == "random") {
      out += random;
      continue;
    }
    if (!parsed) {
      fields = nlohmann::json::parse(record_json, nullptr, /*allow_exceptions=*/false);
      parsed = true;
    }
    if (fields.is_object()) {
      auto it = fields.find(std::string(var));
      if (it != fields.end() && it->is_string()) out += it->get<std::string>();
    }
  }
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
  c.partition_key = r.String("partition_key", "{random}",
                             "partition key template: {topic} {source} {host} {path} {random} and literal text");
  for (size_t i = 0; i < c.partition_key.size(); ++i) {
    if (c.partition_key[i] != '{') continue;
    const size_t close = c.partition_key.find('}', i);
    const std::string var = close == std::string::npos ? "" : c.partition_key.substr(i + 1, close - i - 1);
    if (var != "topic" && var != "source" && var != "host" && var != "path" && var != "random") {
      r.Fail("partition_key",
             "\"" + c.partition_key + "\": unknown variable; use {topic} {source} {host} {path} {random}");
    }
    i = close;
  }
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
  c.dead_letter =
      r.String("dead_letter", "", "directory for records that can never fit (empty: <data_dir>/dead-letter/<sink>)");
  return c;
}

std::unique_ptr<Sink> MakeKinesisSink(std::string name, KinesisSinkConfig config, BatchPolicy policy,
                                      const SinkContext& context) {
  return std::make_unique<KinesisSink>(std::move(name), std::move(config), policy, context);
}

}  // namespace sluice
