// A client for the Kinesis Data Streams API calls the agent needs
// (PutRecords), JSON 1.1 over HTTPS (json_client.h), service "kinesis".
//
// Invariants: one call is one request; retrying is the caller's (the sink
// retries only the entries that failed). A whole-request failure maps to
// kUnavailable when waiting helps (throttling, 5xx, a lost connection),
// kNotFound (no such stream), kPermissionDenied (credentials, signature,
// KMS access) or kInvalidArgument (a request the API rejects), with the
// stream, the error type and AWS's message in the text. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "protocols/aws/credentials.h"
#include "protocols/aws/json_client.h"

namespace sluice::aws {

using KinesisConfig = JsonServiceConfig;

struct KinesisRecord {
  std::string_view data;               // the bytes (sent base64-encoded)
  std::string_view partition_key;      // 1 to 256 characters
  std::string_view explicit_hash_key;  // "" or a decimal 128-bit hash key
};

struct KinesisEntryResult {
  std::string error_code;  // "" when the record was stored
  std::string error_message;
  std::string shard_id;
  std::string sequence_number;
  bool ok() const { return error_code.empty(); }
};

struct PutRecordsResult {
  int failed = 0;                           // FailedRecordCount
  std::vector<KinesisEntryResult> entries;  // one per record sent, in order
};

class KinesisClient {
 public:
  KinesisClient(KinesisConfig config, std::shared_ptr<CredentialsProvider> credentials);

  Result<PutRecordsResult> PutRecords(std::string_view stream, std::span<const KinesisRecord> records);

  // The bytes a record counts against the request and record limits: its
  // data and its partition key (as the API documents).
  static size_t RecordSize(const KinesisRecord& r) { return r.data.size() + r.partition_key.size(); }

 private:
  AwsJsonClient json_;
};

}  // namespace sluice::aws
