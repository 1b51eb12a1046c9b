// The Amazon Data Firehose sink: records go to a delivery stream with
// PutRecordBatch within the API's limits (500 records, 4 MiB per request,
// 1,000 KiB per record). Each record is one JSON line ending in "\n", so the
// objects Firehose writes to S3 are JSON Lines; with `combine = true`
// consecutive lines share a Firehose record up to the record limit (fewer,
// larger records: Firehose bills and throttles per record).
//
// Delivery as in entry_shipper.h: only the entries a PutRecordBatch answer
// refused (FailedPutCount) are resent, records that can never fit go to the
// dead-letter directory. Firehose is at-least-once.
//
// No emulator of Firehose exists: this sink is contract-tested only, against
// tests/servers/firehose-contract.js, which checks requests against the
// documented API shapes and injects the documented failures.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "agent/sinks/aws_credentials_config.h"
#include "agent/sinks/sink.h"
#include "core/config/reader.h"

namespace sluice {

struct FirehoseSinkConfig {
  std::string delivery_stream;
  std::string region;                // "" = AWS_REGION, AWS_DEFAULT_REGION, else us-east-1
  std::string endpoint;              // "" = AWS (or AWS_ENDPOINT_URL_FIREHOSE / AWS_ENDPOINT_URL)
  AwsCredentialsConfig credentials;  // profile, AWS IoT
  bool combine = false;
  uint64_t max_record_bytes = 1000u << 10;
  uint64_t max_request_bytes = 4u << 20;
  int max_records = 500;
  std::filesystem::path dead_letter;  // "" = <data_dir>/dead-letter/<sink name>
};

FirehoseSinkConfig ParseFirehoseSinkConfig(TableReader& r);
std::unique_ptr<Sink> MakeFirehoseSink(std::string name, FirehoseSinkConfig config, BatchPolicy policy,
                                       const SinkContext& context);

}  // namespace sluice
