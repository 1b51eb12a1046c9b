// AWS IoT's credentials provider against a real mutual-TLS server on
// loopback (tests/servers/iot-credentials.js): credentials with a session
// token for the right certificate, thing and role alias; a certificate from
// another CA refused in the handshake with a clear error; refresh ahead of
// expiry (the server sees a second request); a failed refresh keeps
// still-valid credentials, then is the error once they expire; no secret in
// any message.
#include "protocols/aws/iot_credentials.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "protocols/aws/credentials.h"
#include "tests/support/iot_credentials_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

// Short-lived credentials for refresh tests: 6 s of life, refreshed inside
// the last 4 s, a failed refresh tried again after 200 ms.
aws::RefreshOptions ShortRefresh() {
  aws::RefreshOptions r;
  r.margin = 4s;
  r.retry_after = 200ms;
  return r;
}

int RequestsFor(const IotCredentialsServer& server) {
  const IotCredentialsStats s = server.Stats();
  auto it = s.requests.find(server.options().thing + "/" + server.options().role_alias);
  return it == s.requests.end() ? 0 : it->second;
}

}  // namespace

TEST_CASE("aws iot credentials: the thing's certificate gets temporary credentials", "[aws][iot]") {
  TempDir tmp("sluice-iot");
  IotCredentialsServer server(tmp / "iot");
  Result<aws::TemporaryCredentials> c = aws::FetchIotCredentials(server.ClientConfig());
  INFO(c.status().message());
  REQUIRE(c.ok());
  CHECK(c->credentials.access_key_id.starts_with("ASIAIOT"));
  CHECK(c->credentials.secret_access_key.starts_with("iot-secret-1-"));
  CHECK(c->credentials.session_token.starts_with("iot-session-token-1-"));
  const auto left = c->expiration - std::chrono::system_clock::now();
  CHECK(left > 3500s);
  CHECK(left < 3602s);
  CHECK(RequestsFor(server) == 1);

  // The same through the chain, with nothing in the environment or the files.
  aws::CredentialSources s;
  s.environment = {{"HOME", (tmp / "home").string()}, {"AWS_EC2_METADATA_DISABLED", "true"}};
  s.iot = server.ClientConfig();
  Result<aws::SigV4Credentials> chained = aws::DefaultCredentialsChain(s)->Get();
  INFO(chained.status().message());
  REQUIRE(chained.ok());
  CHECK(chained->session_token.starts_with("iot-session-token-2-"));
}

TEST_CASE("aws iot credentials: a certificate the server does not trust is refused, clearly", "[aws][iot]") {
  TempDir tmp("sluice-iot-refused");
  IotCredentialsServer server(tmp / "iot");

  aws::IotCredentialsConfig other = server.ClientConfig();
  other.cert_file = server.pki().other_client_cert().string();
  other.key_file = server.pki().other_client_key().string();
  Result<aws::TemporaryCredentials> refused = aws::FetchIotCredentials(other);
  REQUIRE_FALSE(refused.ok());
  const std::string& msg = refused.status().message();
  INFO(msg);
  CHECK(msg.find("AWS IoT credentials provider " + server.endpoint()) != std::string::npos);
  CHECK(msg.find(other.cert_file) != std::string::npos);
  CHECK(msg.find("it refuses the client certificate " + other.cert_file) != std::string::npos);

  aws::IotCredentialsConfig none = server.ClientConfig();
  none.cert_file.clear();
  none.key_file.clear();
  CHECK_FALSE(aws::FetchIotCredentials(none).ok());

  // Nor does the client trust a server its CA did not sign.
  aws::IotCredentialsConfig untrusting = server.ClientConfig();
  untrusting.ca_file = server.pki().other_ca_cert().string();
  Result<aws::TemporaryCredentials> unverified = aws::FetchIotCredentials(untrusting);
  REQUIRE_FALSE(unverified.ok());
  INFO(unverified.status().message());
  // None of them got past the handshake.
  CHECK(server.Stats().total == 0);
}

TEST_CASE("aws iot credentials: an unknown role alias or thing is the server's answer", "[aws][iot]") {
  TempDir tmp("sluice-iot-names");
  IotCredentialsServer server(tmp / "iot");
  aws::IotCredentialsConfig alias = server.ClientConfig();
  alias.role_alias = "no-such-alias";
  Result<aws::TemporaryCredentials> a = aws::FetchIotCredentials(alias);
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().code() == ErrorCode::kPermissionDenied);
  CHECK(a.status().message().find("HTTP 404: Role alias does not exist") != std::string::npos);
  CHECK(a.status().message().find("/role-aliases/no-such-alias/credentials") != std::string::npos);

  aws::IotCredentialsConfig thing = server.ClientConfig();
  thing.thing_name = "someone-else";
  Result<aws::TemporaryCredentials> t = aws::FetchIotCredentials(thing);
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().message().find("HTTP 403: Access Denied") != std::string::npos);
  CHECK(t.status().message().find("thing 'someone-else'") != std::string::npos);
  CHECK(server.Stats().requests.at("someone-else/" + server.options().role_alias) == 1);
}

TEST_CASE("aws iot credentials: refreshed before they expire", "[aws][iot]") {
  TempDir tmp("sluice-iot-refresh");
  IotCredentialsServerOptions o;
  o.lifetime_s = 6;
  IotCredentialsServer server(tmp / "iot", o);
  std::shared_ptr<aws::CredentialsProvider> p = aws::IotCredentials(server.ClientConfig(), ShortRefresh());
  Result<aws::SigV4Credentials> first = p->Get();
  REQUIRE(first.ok());
  REQUIRE(p->Get().ok());
  CHECK(RequestsFor(server) == 1);  // fresh: not asked again
  // Inside the margin (less than 4 s left) after at most 2 s; still valid.
  std::this_thread::sleep_for(2500ms);
  Result<aws::SigV4Credentials> second = p->Get();
  REQUIRE(second.ok());
  CHECK(RequestsFor(server) == 2);
  CHECK(second->session_token != first->session_token);
  CHECK(second->session_token.starts_with("iot-session-token-2-"));
}

TEST_CASE("aws iot credentials: a failed refresh keeps valid credentials, an expired one is the error", "[aws][iot]") {
  TempDir tmp("sluice-iot-refresh-fail");
  IotCredentialsServerOptions o;
  o.lifetime_s = 6;
  IotCredentialsServer server(tmp / "iot", o);
  std::shared_ptr<aws::CredentialsProvider> p = aws::IotCredentials(server.ClientConfig(), ShortRefresh());
  const auto fetched_at = std::chrono::steady_clock::now();
  Result<aws::SigV4Credentials> first = p->Get();
  REQUIRE(first.ok());

  server.FailWith(503);
  std::this_thread::sleep_for(2500ms);
  Result<aws::SigV4Credentials> kept = p->Get();
  REQUIRE(kept.ok());
  CHECK(kept->session_token == first->session_token);
  const int attempts = server.Stats().total;
  CHECK(attempts == 2);  // it did try

  // Past the expiration (at most 6 s after the fetch): the error names the
  // endpoint and the refusal, and no secret.
  std::this_thread::sleep_until(fetched_at + 7s);
  Result<aws::SigV4Credentials> expired = p->Get();
  REQUIRE_FALSE(expired.ok());
  const std::string& msg = expired.status().message();
  INFO(msg);
  CHECK(expired.status().code() == ErrorCode::kUnavailable);
  CHECK(msg.find(server.endpoint()) != std::string::npos);
  CHECK(msg.find("expired at") != std::string::npos);
  CHECK(msg.find("HTTP 503") != std::string::npos);
  CHECK(msg.find(first->secret_access_key) == std::string::npos);
  CHECK(msg.find(first->session_token) == std::string::npos);

  server.FailWith(0);
  Result<aws::SigV4Credentials> back = p->Get();
  REQUIRE(back.ok());
  CHECK(back->session_token.starts_with("iot-session-token-2-"));
}

TEST_CASE("aws iot credentials: an answer that is not credentials is an error without its body", "[aws][iot]") {
  TempDir tmp("sluice-iot-garbage");
  IotCredentialsServer server(tmp / "iot");
  server.SendGarbage(true);
  Result<aws::TemporaryCredentials> c = aws::FetchIotCredentials(server.ClientConfig());
  REQUIRE_FALSE(c.ok());
  const std::string& msg = c.status().message();
  INFO(msg);
  CHECK(msg.find("the answer is not") != std::string::npos);
  CHECK(msg.find("iot-secret") == std::string::npos);
  CHECK(msg.find("half-a-token") == std::string::npos);
}

TEST_CASE("aws iot credentials: concurrent first users share one request", "[aws][iot]") {
  TempDir tmp("sluice-iot-threads");
  IotCredentialsServer server(tmp / "iot");
  std::shared_ptr<aws::CredentialsProvider> p = aws::IotCredentials(server.ClientConfig(), aws::RefreshOptions{});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) {
        if (p->Get().ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 160);
  CHECK(RequestsFor(server) == 1);
}

}  // namespace sluice::test
