#include "agent/sinks/s3/s3_sink.h"

#include <fmt/format.h>

#include <algorithm>

#include "agent/sinks/lake/lake_sink.h"
#include "protocols/aws/credentials.h"
#include "protocols/aws/s3_client.h"
#include "protocols/aws/s3_upload.h"

namespace sluice {
namespace {

bool ValidBucket(const std::string& b) {
  return b.size() >= 3 && b.size() <= 63 &&
         std::all_of(b.begin(), b.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'; }) &&
         b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

class S3Sink final : public Sink {
 public:
  S3Sink(std::string name, S3SinkConfig config, BatchPolicy policy, Logger log)
      : name_(std::move(name)), config_(std::move(config)), policy_(policy), log_(std::move(log)) {
    aws::CredentialSources sources = MakeCredentialSources(config_.credentials, aws::EnvironmentMap());
    aws::S3Config c;
    c.bucket = config_.bucket;
    c.region = config_.region;
    c.endpoint = config_.endpoint;
    c.path_style = config_.path_style;
    aws::ApplyEnvironmentDefaults(c, sources.environment);
    // The runner retries a failed delivery with its own backoff; the client
    // still rides out a brief blip within one delivery.
    c.max_attempts = 3;
    client_ = std::make_shared<aws::S3Client>(c, aws::DefaultCredentialsChain(std::move(sources)));
  }

  const std::string& name() const override { return name_; }
  BatchPolicy policy() const override { return policy_; }

  Status Deliver(std::span<const BatchInfo> batches, const BatchLoader& load) override {
    return ForEachLakeGroup(batches, [&](const std::string& partition, std::span<const BatchInfo> group) {
      return PutGroup(partition, group, load);
    });
  }

 private:
  Status PutGroup(const std::string& partition, std::span<const BatchInfo> group, const BatchLoader& load) {
    const std::string key = S3ObjectKey(config_, partition, group.front().id);
    aws::S3Upload upload(client_, key, config_.part_bytes);
    for (const BatchInfo& b : group) {
      Result<std::string> data = load(b);
      if (!data.ok()) return data.status();
      Result<std::string> encoded = EncodeBatch(data.value(), config_.compression);
      if (!encoded.ok()) return Status(encoded.status().code(), b.id + ": " + encoded.status().message());
      if (Status s = upload.Append(encoded.value()); !s.ok()) return s;
    }
    if (Status s = upload.Close(); !s.ok()) return s;
    log_->debug("stored s3://{}/{} ({} batches, {} bytes)", config_.bucket, key, group.size(), upload.size());
    return Status::Ok();
  }

  std::string name_;
  S3SinkConfig config_;
  BatchPolicy policy_;
  Logger log_;
  std::shared_ptr<aws::S3Client> client_;
};

}  // namespace

std::string S3ObjectKey(const S3SinkConfig& config, std::string_view partition, std::string_view first_batch_id) {
  std::string key = config.prefix.empty() ? std::string() : config.prefix + "/";
  key += partition;
  key += '/';
  key += first_batch_id;
  key += ObjectSuffix(config.compression);
  return key;
}

S3SinkConfig ParseS3SinkConfig(TableReader& r) {
  S3SinkConfig c;
  c.bucket = r.RequiredString("bucket", "the S3 bucket");
  if (!ValidBucket(c.bucket))
    r.Fail("bucket", "\"" + c.bucket + "\" is not an S3 bucket name (3 to 63 of a-z 0-9 . -)");
  c.prefix = r.String("prefix", "", "key prefix: objects go under <prefix>/raw/<source>/");
  while (!c.prefix.empty() && c.prefix.back() == '/') c.prefix.pop_back();
  if (!c.prefix.empty() && c.prefix.front() == '/') r.Fail("prefix", "must not start with '/'");
  if (c.prefix.find("//") != std::string::npos) r.Fail("prefix", "must not contain an empty component (\"//\")");
  c.region = r.String("region", "", "AWS region (empty: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1)");
  c.endpoint = r.String("endpoint", "", "endpoint URL of a VPC endpoint or S3-compatible store (empty: AWS)");
  if (!c.endpoint.empty() && !c.endpoint.starts_with("https://") && !c.endpoint.starts_with("http://")) {
    r.Fail("endpoint", "\"" + c.endpoint + "\" must start with https:// or http://");
  }
  c.path_style = r.Bool("path_style", false, "address the bucket as https://host/bucket (emulators, MinIO)");
  c.credentials = ParseAwsCredentialsConfig(r);
  const std::string compression =
      r.Enum("compression", "zstd", {"zstd", "gzip", "none"}, "object encoding: zstd as buffered, gzip or none");
  c.compression = ParseObjectCompression(compression).value();
  c.part_bytes = r.Size("part_size", "8MiB", 5u << 20, 5ull << 30,
                        "objects larger than this go up as a multipart upload of such parts (S3: 5 MiB to 5 GiB)");
  return c;
}

std::unique_ptr<Sink> MakeS3Sink(std::string name, S3SinkConfig config, BatchPolicy policy, Logger log) {
  return std::make_unique<S3Sink>(std::move(name), std::move(config), policy, std::move(log));
}

}  // namespace sluice
