// The S3 sink: batches become objects in the DESIGN.md lake layout under
//   s3://<bucket>/<prefix>/raw/<source>/dt=YYYY-MM-DD/hr=HH/<batch-id>.jsonl.zst
// (.jsonl.gz with compression = "gzip", .jsonl with "none").
//
// Like the lake sink, one object holds consecutive batches of one source and
// hour and is named after its first batch, so a redelivered group (after a
// crash or a failed attempt) overwrites the same key: objects are exactly
// once. Each object is one PUT, or a multipart upload above `part_size`,
// built one batch at a time; S3 checks our CRC-64/NVME of every part and of
// the whole object, and the object appears only when its upload completes.
// Credentials come from the chain in protocols/aws/credentials.h, with the
// settings of aws_credentials_config.h.
#pragma once

#include <memory>
#include <string>

#include "agent/sinks/aws_credentials_config.h"
#include "agent/sinks/batch_encoding.h"
#include "agent/sinks/sink.h"
#include "core/config/reader.h"
#include "core/log/log.h"

namespace sluice {

struct S3SinkConfig {
  std::string bucket;
  std::string prefix;    // no leading or trailing '/'; "" = the bucket's root
  std::string region;    // "" = AWS_REGION, AWS_DEFAULT_REGION, else us-east-1
  std::string endpoint;  // "" = AWS
  bool path_style = false;
  AwsCredentialsConfig credentials;  // profile, AWS IoT
  ObjectCompression compression = ObjectCompression::kZstd;
  uint64_t part_bytes = 8u << 20;
};

S3SinkConfig ParseS3SinkConfig(TableReader& r);
std::unique_ptr<Sink> MakeS3Sink(std::string name, S3SinkConfig config, BatchPolicy policy, Logger log);

// "<prefix>/raw/<source>/dt=…/hr=…/<id><suffix>" ("raw/…" without a prefix).
std::string S3ObjectKey(const S3SinkConfig& config, std::string_view partition, std::string_view first_batch_id);

}  // namespace sluice
