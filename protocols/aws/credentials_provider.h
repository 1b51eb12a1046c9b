// The interface every source of AWS credentials implements, and the simplest
// one: fixed credentials. The chain (credentials.h) and the refreshing
// providers (refreshing_credentials.h) build on it.
//
// Invariant: a provider's Status messages say where it looked and never
// contain a secret access key or a session token.
#pragma once

#include <memory>

#include "core/status.h"
#include "protocols/aws/sigv4.h"

namespace sluice::aws {

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // Credentials valid for at least the next few minutes (temporary ones are
  // refreshed ahead of their expiration). Thread-safe.
  virtual Result<SigV4Credentials> Get() = 0;
};

// Fixed credentials (a test's, or long-term keys the caller resolved); they
// never expire.
std::shared_ptr<CredentialsProvider> StaticCredentials(SigV4Credentials credentials);

}  // namespace sluice::aws
