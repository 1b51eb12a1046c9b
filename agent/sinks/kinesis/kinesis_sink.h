// The Kinesis Data Streams sink: every buffered record (one JSON line, no
// newline) becomes one Kinesis record, sent with PutRecords within the API's
// limits: at most `max_records` (500) records and `max_request_size` (5 MiB)
// per request, `max_record_size` (1 MiB) per record, each counting its data
// and its partition key.
//
// Delivery (entry_shipper.h): a request that fails as a whole fails the
// delivery; entries refused inside a successful request (FailedRecordCount)
// are resent alone; records that can never fit go to the dead-letter
// directory. With `aggregate = true` records travel in KPL aggregates
// (kpl_aggregator.h). Kinesis is at-least-once: after a crash unconfirmed
// batches are sent again.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "agent/sinks/aws_credentials_config.h"
#include "agent/sinks/sink.h"
#include "core/config/reader.h"

namespace sluice {

struct KinesisSinkConfig {
  std::string stream;
  std::string region;                // "" = AWS_REGION, AWS_DEFAULT_REGION, else us-east-1
  std::string endpoint;              // "" = AWS (or AWS_ENDPOINT_URL_KINESIS / AWS_ENDPOINT_URL)
  AwsCredentialsConfig credentials;  // profile, AWS IoT
  // {topic} {source} {host} {path} {random}, and literal text.
  std::string partition_key = "{random}";
  std::string explicit_hash_key;  // "" or a decimal 128-bit hash key
  uint64_t max_record_bytes = 1u << 20;
  uint64_t max_request_bytes = 5u << 20;
  int max_records = 500;
  bool aggregate = false;  // KPL aggregation (kpl_aggregator.h)
  uint64_t aggregate_max_bytes = 51200;
  std::filesystem::path dead_letter;  // "" = <data_dir>/dead-letter/<sink name>
};

KinesisSinkConfig ParseKinesisSinkConfig(TableReader& r);
std::unique_ptr<Sink> MakeKinesisSink(std::string name, KinesisSinkConfig config, BatchPolicy policy,
                                      const SinkContext& context);

// The partition key template with one record's fields: `fields` is the
// record's JSON line; `random` fills {random}. Empty results become the
// record's source, and keys are cut to Kinesis's 256 characters.
std::string RenderPartitionKey(std::string_view templ, std::string_view record_json, std::string_view batch_source,
                               std::string_view random);

}  // namespace sluice
