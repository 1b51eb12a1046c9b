// AWS IoT Core's credentials provider: a device that holds an X.509
// certificate registered with AWS IoT trades it, over mutual TLS, for
// temporary credentials of the IAM role behind a role alias:
//   GET https://<endpoint>/role-aliases/<alias>/credentials
//   x-amzn-iot-thingname: <thing>
//   -> {"credentials":{"accessKeyId","secretAccessKey","sessionToken","expiration"}}
// The endpoint is the account's `iot:CredentialProvider` endpoint
// (`aws iot describe-endpoint --endpoint-type iot:CredentialProvider`).
//
// Invariant: no error message carries the answer's body when it held
// credentials; an error answer's own message (AWS IoT's {"message": ...}) is
// quoted, cut short.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/status.h"
#include "protocols/aws/refreshing_credentials.h"

namespace sluice::aws {

struct IotCredentialsConfig {
  // "<id>.credentials.iot.<region>.amazonaws.com", optionally with a port,
  // or a whole "https://host[:port]" URL.
  std::string endpoint;
  std::string role_alias;
  std::string thing_name;
  std::string cert_file;  // the thing's certificate (PEM)
  std::string key_file;   // its private key (PEM)
  std::string ca_file;    // CA bundle to verify the endpoint ("" = the system's)
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{30'000};  // the whole request
};

// https://<endpoint>/role-aliases/<alias>/credentials
std::string IotCredentialsUrl(const IotCredentialsConfig& config);

// One request, now.
Result<TemporaryCredentials> FetchIotCredentials(const IotCredentialsConfig& config);

// A provider that fetches on first use and refreshes ahead of expiration.
std::shared_ptr<CredentialsProvider> IotCredentials(IotCredentialsConfig config, RefreshOptions refresh);

}  // namespace sluice::aws
