// Where AWS credentials come from, in the order the AWS SDKs and CLI use:
//   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
//   2. the shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials), then
//      AWS_CONFIG_FILE (~/.aws/config), for the profile named by the caller,
//      else AWS_PROFILE, else "default".
// The device and instance providers (AWS IoT, EC2 IMDSv2) are the AWS sinks'
// part of the chain and plug in behind the same interface.
//
// Invariants: a secret never appears in a Status message or a log line; a
// provider that finds nothing says where it looked.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/status.h"
#include "protocols/aws/sigv4.h"

namespace sluice::aws {

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // Credentials valid for at least the next few minutes. Thread-safe.
  virtual Result<SigV4Credentials> Get() = 0;
};

// Fixed credentials (a test's, or ones the caller resolved itself).
std::shared_ptr<CredentialsProvider> StaticCredentials(SigV4Credentials credentials);

struct CredentialSources {
  std::string profile;  // "" = AWS_PROFILE, else "default"
  // The process environment as name -> value; the caller passes the real one
  // (EnvironmentMap()), tests pass their own.
  std::map<std::string, std::string> environment;
};

std::map<std::string, std::string> EnvironmentMap();

// Resolves once, now, through the chain above.
Result<SigV4Credentials> ResolveCredentials(const CredentialSources& sources);

// The chain as a provider; it resolves on first use and keeps the result.
std::shared_ptr<CredentialsProvider> DefaultCredentialsChain(CredentialSources sources);

}  // namespace sluice::aws
