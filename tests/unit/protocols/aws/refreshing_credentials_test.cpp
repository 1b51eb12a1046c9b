// Refreshing temporary credentials, with a fetcher and a clock the test
// drives: fetched once while fresh, refreshed inside the margin, kept when a
// refresh fails while they are still valid, an error (naming the source,
// never a secret) once expired; one fetch for many concurrent callers.
// Timestamps as AWS writes them, and expirations corrected for a device
// clock that disagrees with the server's.
#include "protocols/aws/refreshing_credentials.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice::aws {
namespace {

using namespace std::chrono_literals;

// A fetcher whose answers and clock the test sets.
struct RefreshFixture {
  WallTime now = WallTime(std::chrono::seconds(1'800'000'000));
  std::chrono::seconds lifetime = 3600s;
  bool fail = false;
  int fetches = 0;
  std::mutex mu;

  RefreshOptions Options() {
    RefreshOptions o;
    o.margin = 300s;
    o.retry_after = 10s;
    o.clock = [this] {
      std::lock_guard lock(mu);
      return now;
    };
    return o;
  }
  CredentialsFetcher Fetcher() {
    return [this]() -> Result<TemporaryCredentials> {
      std::lock_guard lock(mu);
      ++fetches;
      if (fail) return Status::Unavailable("test endpoint: HTTP 503");
      TemporaryCredentials t;
      t.credentials = {"AKID" + std::to_string(fetches), "secret-" + std::to_string(fetches),
                       "token-" + std::to_string(fetches)};
      t.expiration = now + lifetime;
      return t;
    };
  }
  void Advance(std::chrono::seconds d) {
    std::lock_guard lock(mu);
    now += d;
  }
};

}  // namespace

TEST_CASE("refreshing credentials: fetched once while fresh, refreshed inside the margin", "[aws][credentials]") {
  RefreshFixture f;
  auto p = RefreshingCredentials("test endpoint", f.Fetcher(), f.Options());
  REQUIRE(p->Get().ok());
  CHECK(p->Get()->access_key_id == "AKID1");
  f.Advance(3299s);  // 301 s left: still outside the margin
  CHECK(p->Get()->access_key_id == "AKID1");
  CHECK(f.fetches == 1);
  f.Advance(2s);  // 299 s left
  Result<SigV4Credentials> c = p->Get();
  REQUIRE(c.ok());
  CHECK(c->access_key_id == "AKID2");
  CHECK(c->session_token == "token-2");
  CHECK(f.fetches == 2);
}

TEST_CASE("refreshing credentials: a failed refresh keeps valid credentials and is retried later",
          "[aws][credentials]") {
  RefreshFixture f;
  auto p = RefreshingCredentials("test endpoint", f.Fetcher(), f.Options());
  REQUIRE(p->Get().ok());
  f.fail = true;
  f.Advance(3400s);  // 200 s left
  Result<SigV4Credentials> kept = p->Get();
  REQUIRE(kept.ok());
  CHECK(kept->access_key_id == "AKID1");
  CHECK(f.fetches == 2);
  // Not again before retry_after.
  f.Advance(5s);
  CHECK(p->Get()->access_key_id == "AKID1");
  CHECK(f.fetches == 2);
  f.Advance(6s);
  CHECK(p->Get()->access_key_id == "AKID1");
  CHECK(f.fetches == 3);

  // Expired, and the refresh still fails: the caller's error, every call tried.
  f.Advance(200s);
  Result<SigV4Credentials> expired = p->Get();
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.status().code() == ErrorCode::kUnavailable);
  const std::string& msg = expired.status().message();
  CHECK(msg.find("test endpoint") != std::string::npos);
  CHECK(msg.find("expired at") != std::string::npos);
  CHECK(msg.find("HTTP 503") != std::string::npos);
  CHECK(msg.find("secret-1") == std::string::npos);
  CHECK(msg.find("token-1") == std::string::npos);
  CHECK_FALSE(p->Get().ok());
  CHECK(f.fetches == 5);

  // The source comes back.
  f.fail = false;
  Result<SigV4Credentials> back = p->Get();
  REQUIRE(back.ok());
  CHECK(back->access_key_id == "AKID6");
}

TEST_CASE("refreshing credentials: the first fetch failing is the fetcher's own error", "[aws][credentials]") {
  RefreshFixture f;
  f.fail = true;
  auto p = RefreshingCredentials("test endpoint", f.Fetcher(), f.Options());
  Result<SigV4Credentials> c = p->Get();
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() == "test endpoint: HTTP 503");
  // Nothing valid: every call asks again (the caller backs off).
  CHECK_FALSE(p->Get().ok());
  CHECK(f.fetches == 2);
}

TEST_CASE("refreshing credentials: credentials shorter-lived than the margin are not fetched on every call",
          "[aws][credentials]") {
  RefreshFixture f;
  f.lifetime = 60s;  // less than the 300 s margin
  auto p = RefreshingCredentials("test endpoint", f.Fetcher(), f.Options());
  for (int i = 0; i < 20; ++i) REQUIRE(p->Get().ok());
  CHECK(f.fetches == 1);
  f.Advance(11s);
  REQUIRE(p->Get().ok());
  CHECK(f.fetches == 2);
}

TEST_CASE("refreshing credentials: concurrent first callers share one fetch", "[aws][credentials]") {
  std::atomic<int> fetches{0};
  auto p = RefreshingCredentials(
      "slow endpoint",
      [&]() -> Result<TemporaryCredentials> {
        ++fetches;
        std::this_thread::sleep_for(200ms);
        return TemporaryCredentials{{"AKID", "secret", "token"}, std::chrono::system_clock::now() + 1h};
      },
      RefreshOptions{});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (p->Get().ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 8);
  CHECK(fetches == 1);
}

TEST_CASE("AWS timestamps: ISO 8601 as AWS writes expirations", "[aws][credentials]") {
  const WallTime base = WallTime(std::chrono::seconds(1'767'225'600));  // 2026-01-01T00:00:00Z
  CHECK(ParseAwsTimestamp("2026-01-01T00:00:00Z") == base);
  CHECK(ParseAwsTimestamp("2026-01-01T00:00:01.500Z") == base + 1500ms);
  CHECK(ParseAwsTimestamp("2026-01-01T01:00:00+01:00") == base);
  CHECK(ParseAwsTimestamp("2025-12-31T23:00:00-01:00") == base);
  CHECK_FALSE(ParseAwsTimestamp("").has_value());
  CHECK_FALSE(ParseAwsTimestamp("2026-01-01").has_value());
  CHECK_FALSE(ParseAwsTimestamp("2026-01-01T00:00:00").has_value());
  CHECK_FALSE(ParseAwsTimestamp("2026-01-01T00:00:00Zjunk").has_value());
  CHECK_FALSE(ParseAwsTimestamp("tomorrow").has_value());
}

TEST_CASE("AWS timestamps: an expiration counts from the server's Date, not the device clock", "[aws][credentials]") {
  const WallTime expiration = *ParseAwsTimestamp("2026-01-01T01:00:00Z");
  // The server says it is midnight: one hour left, whatever the device thinks.
  const std::string date = "Thu, 01 Jan 2026 00:00:00 GMT";
  const WallTime device_now = WallTime(std::chrono::seconds(1'000'000'000));  // 2001
  CHECK(LocalExpiration(expiration, &date, device_now) == device_now + 1h);
  CHECK(LocalExpiration(expiration, nullptr, device_now) == expiration);
  const std::string bad = "not a date";
  CHECK(LocalExpiration(expiration, &bad, device_now) == expiration);
}

}  // namespace sluice::aws
