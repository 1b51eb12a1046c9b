// EC2 instance metadata (IMDSv2) against an emulator on loopback
// (tests/servers/imds.js): credentials of the instance's role through a
// session token (the emulator refuses metadata without one, and ours never
// asks without one); refresh ahead of expiry; a failed refresh keeps valid
// credentials; a service that does not answer gives up within seconds; the
// chain reaches it last, and never when AWS_EC2_METADATA_DISABLED=true.
#include "protocols/aws/imds_credentials.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "protocols/aws/credentials.h"
#include "tests/support/imds_server.h"
#include "tests/support/net.h"
#include "tests/support/temp_dir.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

std::map<std::string, std::string> ImdsEnvMap(const ImdsServer& server, const TempDir& tmp) {
  std::map<std::string, std::string> env = {{"HOME", (tmp / "home").string()}};
  for (const auto& [k, v] : server.Environment()) env[k] = v;
  return env;
}

}  // namespace

TEST_CASE("aws imds: the instance role's credentials, through a session token", "[aws][imds]") {
  TempDir tmp("sluice-imds");
  ImdsServer server(tmp / "imds");

  // The emulator holds metadata back from a request without a token, as EC2
  // does with IMDSv1 turned off.
  const std::optional<HttpResponse> bare = HttpGet(server.port(), "/latest/meta-data/iam/security-credentials/");
  REQUIRE(bare.has_value());
  CHECK(bare->status == 401);
  CHECK(server.Stats().unauthorized == 1);

  const std::optional<aws::ImdsOptions> o = aws::ImdsOptionsFromEnvironment(ImdsEnvMap(server, tmp));
  REQUIRE(o.has_value());
  CHECK(o->endpoint == server.endpoint());
  Result<aws::TemporaryCredentials> c = aws::FetchImdsCredentials(*o);
  INFO(c.status().message());
  REQUIRE(c.ok());
  CHECK(c->credentials.access_key_id.starts_with("ASIAIMDS"));
  CHECK(c->credentials.session_token.starts_with("imds-session-token-1-"));
  CHECK(c->expiration - std::chrono::system_clock::now() > 6h - 10s);
  const ImdsStats s = server.Stats();
  CHECK(s.tokens == 1);
  CHECK(s.credentials == 1);
  CHECK(s.unauthorized == 1);  // ours always carried the token
}

TEST_CASE("aws imds: refreshed before expiry, kept through a failed refresh", "[aws][imds]") {
  TempDir tmp("sluice-imds-refresh");
  ImdsServerOptions so;
  so.lifetime_s = 6;
  ImdsServer server(tmp / "imds", so);
  aws::RefreshOptions r;
  r.margin = 4s;
  r.retry_after = 200ms;
  std::shared_ptr<aws::CredentialsProvider> p =
      aws::ImdsCredentials(*aws::ImdsOptionsFromEnvironment(ImdsEnvMap(server, tmp)), r);
  Result<aws::SigV4Credentials> first = p->Get();
  REQUIRE(first.ok());
  REQUIRE(p->Get().ok());
  CHECK(server.Stats().credentials == 1);
  std::this_thread::sleep_for(2500ms);
  Result<aws::SigV4Credentials> second = p->Get();
  REQUIRE(second.ok());
  CHECK(server.Stats().credentials == 2);
  CHECK(second->session_token.starts_with("imds-session-token-2-"));

  // The service fails while the credentials in hand are still valid.
  server.FailWith(500);
  std::this_thread::sleep_for(2500ms);
  Result<aws::SigV4Credentials> kept = p->Get();
  REQUIRE(kept.ok());
  CHECK(kept->session_token == second->session_token);
}

TEST_CASE("aws imds: a metadata service that does not answer gives up within seconds", "[aws][imds]") {
  // A loopback port that accepts connections (the kernel's backlog) but never
  // answers: what a device sees behind a filtering network, without leaving
  // loopback.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  REQUIRE(::listen(fd, 16) == 0);
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  const std::optional<aws::ImdsOptions> o =
      aws::ImdsOptionsFromEnvironment({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint}});
  REQUIRE(o.has_value());
  const auto start = std::chrono::steady_clock::now();
  Result<aws::TemporaryCredentials> c = aws::FetchImdsCredentials(*o);
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  REQUIRE_FALSE(c.ok());
  INFO(c.status().message());
  CHECK(c.status().code() == ErrorCode::kUnavailable);
  CHECK(c.status().message().find("EC2 instance metadata (IMDSv2) at " + endpoint) != std::string::npos);
  CHECK(c.status().message().find("/latest/api/token") != std::string::npos);
  CHECK(took >= 1900ms);  // two attempts of one second
  CHECK(took < 5s);
}

TEST_CASE("aws imds: the chain's last step, skipped when disabled", "[aws][imds]") {
  TempDir tmp("sluice-imds-chain");
  ImdsServer server(tmp / "imds");
  aws::CredentialSources s;
  s.environment = ImdsEnvMap(server, tmp);
  Result<aws::SigV4Credentials> c = aws::DefaultCredentialsChain(s)->Get();
  INFO(c.status().message());
  REQUIRE(c.ok());
  CHECK(c->session_token.starts_with("imds-session-token-1-"));

  s.environment["AWS_EC2_METADATA_DISABLED"] = "true";
  Result<aws::SigV4Credentials> off = aws::DefaultCredentialsChain(s)->Get();
  REQUIRE_FALSE(off.ok());
  CHECK(off.status().message().find("AWS_EC2_METADATA_DISABLED") != std::string::npos);
  CHECK(server.Stats().tokens == 1);  // not asked again

  // No role attached: a clear error, not credentials.
  ImdsServerOptions none;
  none.role = "";
  ImdsServer roleless(tmp / "roleless", none);
  const std::optional<aws::ImdsOptions> o =
      aws::ImdsOptionsFromEnvironment({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", roleless.endpoint()}});
  Result<aws::TemporaryCredentials> r = aws::FetchImdsCredentials(*o);
  REQUIRE_FALSE(r.ok());
  INFO(r.status().message());
  CHECK(r.status().message().find("no IAM role") != std::string::npos);
}

}  // namespace sluice::test
