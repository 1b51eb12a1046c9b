// Where AWS credentials come from, in the order the AWS SDKs use:
//   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
//   2. the shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials), then
//      AWS_CONFIG_FILE (~/.aws/config), for the profile named by the caller,
//      else AWS_PROFILE, else "default";
//   3. AWS IoT's credentials provider, when the caller configured it (devices
//      holding an X.509 certificate; iot_credentials.h);
//   4. the EC2 instance metadata service, IMDSv2 (imds_credentials.h), unless
//      AWS_EC2_METADATA_DISABLED=true.
// The first two give long-term keys that never expire; the last two give
// temporary credentials that are refreshed ahead of their expiration.
//
// Invariants: a secret never appears in a Status message or a log line; when
// nothing is found the error says where the chain looked, step by step.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "protocols/aws/credentials_provider.h"
#include "protocols/aws/iot_credentials.h"
#include "protocols/aws/refreshing_credentials.h"
#include "protocols/aws/sigv4.h"

namespace sluice::aws {

struct CredentialSources {
  std::string profile;  // "" = AWS_PROFILE, else "default"
  // The process environment as name -> value; the caller passes the real one
  // (EnvironmentMap()), tests pass their own.
  std::map<std::string, std::string> environment;
  // AWS IoT's credentials provider (step 3); absent = skipped. Without a
  // ca_file it verifies the endpoint with AWS_CA_BUNDLE, else the system's CAs.
  std::optional<IotCredentialsConfig> iot;
  // When temporary credentials are refreshed.
  RefreshOptions refresh;
};

std::map<std::string, std::string> EnvironmentMap();

// Steps 1 and 2 only (long-term keys), once, now. Errors: a half-set
// environment, a profile without keys, or no profile anywhere.
Result<SigV4Credentials> ResolveCredentials(const CredentialSources& sources);

// The whole chain as a provider. On first use it walks the steps in order and
// keeps the first that gives credentials (later calls ask only that one, which
// refreshes its own); until one does, every call walks the chain again. A
// profile named explicitly (by the caller or AWS_PROFILE) must exist: its
// absence is an error rather than a reason to go on to the device and instance
// providers.
std::shared_ptr<CredentialsProvider> DefaultCredentialsChain(CredentialSources sources);

}  // namespace sluice::aws
