// The OAUTHBEARER token of Amazon MSK's IAM access control: a SigV4
// presigned URL (GET https://kafka.<region>.amazonaws.com/?Action=
// kafka-cluster:Connect, service "kafka-cluster", valid 15 minutes) with a
// User-Agent parameter appended after signing, base64url-encoded without
// padding. This is what AWS's signer libraries (aws-msk-iam-sasl-signer-*)
// send; the brokers check the signature, so the encoding is exact.
// tests/servers/msk-iam-token.js builds the same token with the AWS SDK's
// signer to check it.
#pragma once

#include <chrono>
#include <string>

#include "protocols/aws/sigv4.h"
#include "protocols/kafka/kafka_producer.h"

namespace sluice::kafka {

inline constexpr std::chrono::seconds kMskTokenLifetime{900};

// The token for `region` signed at `now`; expires_ms = now (to the second) + 15 minutes.
OAuthToken MskIamToken(const aws::SigV4Credentials& credentials, std::string_view region,
                       std::chrono::system_clock::time_point now, std::string_view user_agent);

}  // namespace sluice::kafka
