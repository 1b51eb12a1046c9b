// The credential settings every AWS sink (S3, Kinesis, Firehose) takes, read
// in one place so they mean the same everywhere:
//   profile                    the shared-files profile ("" = AWS_PROFILE, default)
//   iot_credentials_endpoint   AWS IoT's credentials provider, for devices:
//   iot_role_alias             all five or none of these;
//   iot_thing_name
//   iot_cert, iot_key          the thing's certificate and private key (PEM files)
//   iot_ca                     optional: the CA bundle for the endpoint
// The chain itself (environment, shared files, AWS IoT, EC2 IMDSv2) is in
// protocols/aws/credentials.h.
//
// Invariants: a partial IoT set is a ConfigError naming the file, line and
// key; the certificate, key and CA files are readable when the configuration
// is checked (`sluice agent check`), not only when the first batch ships.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/config/reader.h"
#include "protocols/aws/credentials.h"

namespace sluice {

struct AwsCredentialsConfig {
  std::string profile;
  std::optional<aws::IotCredentialsConfig> iot;
};

AwsCredentialsConfig ParseAwsCredentialsConfig(TableReader& r);

// The chain's sources for a sink: these settings over `environment` (the
// process's, EnvironmentMap(), outside tests).
aws::CredentialSources MakeCredentialSources(const AwsCredentialsConfig& config,
                                             std::map<std::string, std::string> environment);

}  // namespace sluice
