// The AWS JSON 1.1 protocol that Kinesis Data Streams and Firehose speak: a
// signed POST to "/" with an X-Amz-Target header naming the operation, and
// errors as {"__type": ..., "message": ...}.
//
// Invariants: one Call is one HTTP request (retrying is the caller's);
// ErrorStatus maps an error answer to the Status code the sinks act on:
// kUnavailable when waiting helps (throttling, 5xx), kNotFound (no such
// stream), kPermissionDenied (credentials, signature, KMS access), else
// kInvalidArgument. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "protocols/aws/credentials.h"
#include "protocols/http/client_pool.h"

namespace sluice::aws {

struct JsonServiceConfig {
  std::string region = "us-east-1";
  std::string endpoint;  // "" = https://<endpoint_prefix>.REGION.amazonaws.com
  http::ClientOptions http;
  std::function<std::chrono::system_clock::time_point()> clock;  // null = the system clock
};

// The region and endpoint as the AWS SDKs resolve them: the configured
// value, else AWS_REGION / AWS_DEFAULT_REGION (else us-east-1) and
// AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL; AWS_CA_BUNDLE for TLS.
JsonServiceConfig ResolveJsonServiceConfig(std::string region, std::string endpoint, std::string_view service_env_id,
                                           const std::map<std::string, std::string>& environment);

struct JsonService {
  std::string_view signing_name;     // "kinesis", "firehose"
  std::string_view endpoint_prefix;  // the host's first label
  std::string_view target_prefix;    // "Kinesis_20131202", "Firehose_20150804"
};

class AwsJsonClient {
 public:
  AwsJsonClient(JsonService service, JsonServiceConfig config, std::shared_ptr<CredentialsProvider> credentials);

  // POSTs `body` for `operation`; any HTTP answer is a value, only a failed
  // exchange (credentials, connection) is an error.
  Result<http::Response> Call(std::string_view operation, const std::string& body);

  // `what` names the call and its target ("Kinesis PutRecords to stream 'x'").
  static Status ErrorStatus(std::string_view what, long status, const std::string& body);

 private:
  const JsonService service_;
  const JsonServiceConfig config_;
  const std::shared_ptr<CredentialsProvider> credentials_;
  std::string scheme_;
  std::string host_;
  http::ClientPool pool_;
};

}  // namespace sluice::aws
