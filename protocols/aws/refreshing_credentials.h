// Temporary credentials (AWS IoT's credentials provider, EC2 instance
// metadata) and the provider that keeps them fresh.
//
// RefreshingCredentials calls its fetcher on first use and again once less
// than `margin` is left before the expiration. A refresh that fails while the
// credentials in hand are still valid is not an error: they are returned and
// the refresh is tried again `retry_after` later. Once they have expired, a
// failed refresh is the caller's error, saying where the provider looked.
//
// Invariants: at most one fetch is in flight; callers holding still-valid
// credentials never wait for it; callers with nothing valid wait and share
// its outcome. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "protocols/aws/credentials_provider.h"

namespace sluice::aws {

using WallTime = std::chrono::system_clock::time_point;

struct TemporaryCredentials {
  SigV4Credentials credentials;
  WallTime expiration;  // by this process's clock (see LocalExpiration)
};

struct RefreshOptions {
  // Refresh when less than this is left (the AWS SDKs use 5 to 15 minutes;
  // tests use seconds with credentials that live a few seconds).
  std::chrono::milliseconds margin{std::chrono::minutes(5)};
  // Still-valid credentials are not fetched again sooner than this after the
  // last fetch: a failed refresh is retried this much later, and credentials
  // that live less than the margin are not fetched on every call. Expired
  // credentials are fetched on every call (the caller backs off).
  std::chrono::milliseconds retry_after{std::chrono::seconds(15)};
  // The clock expirations are compared with; null = the system clock.
  std::function<WallTime()> clock;
};

using CredentialsFetcher = std::function<Result<TemporaryCredentials>()>;

// `source` names where the fetcher looks ("AWS IoT credentials provider
// https://…"); it prefixes the error once credentials have expired.
std::shared_ptr<CredentialsProvider> RefreshingCredentials(std::string source, CredentialsFetcher fetch,
                                                           RefreshOptions options);

// "2026-11-21T10:00:00Z" (fractions of a second and "+00:00" allowed), the
// form AWS gives expirations in; nullopt when it is not one.
std::optional<WallTime> ParseAwsTimestamp(std::string_view text);

// The expiration by this process's clock: `expiration` minus the server's
// `date_header` (RFC 7231, when present and valid) is how long the
// credentials live, counted from now. Devices often boot with a wrong clock;
// without this, a clock ahead of the server's would see every fresh
// credential as expired.
WallTime LocalExpiration(WallTime expiration, const std::string* date_header, WallTime now);

}  // namespace sluice::aws
