// Credentials of the IAM role attached to an EC2 instance, from the instance
// metadata service, version 2 only (a session token first; no IMDSv1
// fallback, which EC2 can turn off and which SSRF attacks rely on):
//   PUT  /latest/api/token                      X-aws-ec2-metadata-token-ttl-seconds
//   GET  /latest/meta-data/iam/security-credentials/         -> the role's name
//   GET  /latest/meta-data/iam/security-credentials/<role>   -> AccessKeyId,
//        SecretAccessKey, Token, Expiration (JSON)           X-aws-ec2-metadata-token
//
// Configured as the AWS SDKs are, from the environment:
//   AWS_EC2_METADATA_DISABLED=true         never ask
//   AWS_EC2_METADATA_SERVICE_ENDPOINT      instead of http://169.254.169.254
//   AWS_METADATA_SERVICE_TIMEOUT (s)       per attempt, default 1
//   AWS_METADATA_SERVICE_NUM_ATTEMPTS      default 2
// The timeouts are short so that a device that is not an EC2 instance finds
// out in about two seconds rather than hanging. No proxy is ever used: the
// service is link-local, and a proxy would answer for the proxy's own host.
//
// Invariant: no error message carries the body of an answer that held
// credentials.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "protocols/aws/refreshing_credentials.h"

namespace sluice::aws {

struct ImdsOptions {
  std::string endpoint = "http://169.254.169.254";  // scheme://host[:port], no path
  std::chrono::milliseconds timeout{1000};          // connect and whole request, per attempt
  int attempts = 2;
};

// The options the environment sets; nullopt when AWS_EC2_METADATA_DISABLED
// is "true" (any case).
std::optional<ImdsOptions> ImdsOptionsFromEnvironment(const std::map<std::string, std::string>& environment);

// One token, role and credentials exchange, now.
Result<TemporaryCredentials> FetchImdsCredentials(const ImdsOptions& options);

// A provider that fetches on first use and refreshes ahead of expiration.
std::shared_ptr<CredentialsProvider> ImdsCredentials(ImdsOptions options, RefreshOptions refresh);

}  // namespace sluice::aws
