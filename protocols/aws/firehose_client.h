// A client for Amazon Data Firehose's PutRecordBatch, JSON 1.1 over HTTPS
// (json_client.h), service "firehose". No emulator of Firehose exists: this
// client is contract-tested against a local server that checks requests
// against the documented shapes (tests/servers/firehose-contract.js).
//
// Invariants: one call is one request; retrying is the caller's (the sink
// retries only the entries that failed, FailedPutCount). Whole-request
// errors map as in json_client.h. Thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "protocols/aws/json_client.h"

namespace sluice::aws {

struct FirehoseEntryResult {
  std::string error_code;  // "" when the record was stored
  std::string error_message;
  std::string record_id;
  bool ok() const { return error_code.empty(); }
};

struct PutRecordBatchResult {
  int failed = 0;                            // FailedPutCount
  std::vector<FirehoseEntryResult> entries;  // one per record sent, in order
};

class FirehoseClient {
 public:
  FirehoseClient(JsonServiceConfig config, std::shared_ptr<CredentialsProvider> credentials);

  // `records` are the raw bytes of each record (sent base64-encoded).
  Result<PutRecordBatchResult> PutRecordBatch(std::string_view delivery_stream,
                                              std::span<const std::string_view> records);

 private:
  AwsJsonClient json_;
};

}  // namespace sluice::aws
