// The credential chain: environment first, then the shared credentials and
// config files for the chosen profile, then AWS IoT (when configured), then
// EC2 instance metadata (unless disabled); clear errors that say where the
// chain looked and never show a secret. The IoT and IMDS providers against
// real servers: tests/integration/aws/.
#include "protocols/aws/credentials.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "protocols/aws/imds_credentials.h"
#include "tests/support/net.h"
#include "tests/support/temp_dir.h"

namespace sluice::aws {
namespace {

using sluice::test::TempDir;
using sluice::test::WriteFile;

}  // namespace

TEST_CASE("AWS credentials: the environment wins over the shared files", "[aws]") {
  TempDir tmp("sluice-creds");
  std::filesystem::create_directories(tmp / ".aws");
  WriteFile(tmp / ".aws" / "credentials",
            "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
  CredentialSources s;
  s.environment = {{"HOME", tmp.path().string()},
                   {"AWS_ACCESS_KEY_ID", "ENVKEY"},
                   {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                   {"AWS_SESSION_TOKEN", "token"}};
  Result<SigV4Credentials> c = ResolveCredentials(s);
  REQUIRE(c.ok());
  CHECK(c->access_key_id == "ENVKEY");
  CHECK(c->session_token == "token");

  s.environment.erase("AWS_ACCESS_KEY_ID");
  Result<SigV4Credentials> half = ResolveCredentials(s);
  CHECK(half.status().code() == ErrorCode::kInvalidArgument);
  CHECK(half.status().message().find("envsecret") == std::string::npos);
}

TEST_CASE("AWS credentials: profiles from the credentials file, then the config file", "[aws]") {
  TempDir tmp("sluice-creds");
  std::filesystem::create_directories(tmp / ".aws");
  WriteFile(tmp / ".aws" / "credentials",
            "# comment\n[default]\naws_access_key_id=DEFKEY\naws_secret_access_key=defsecret\n\n"
            "[device] \naws_access_key_id = DEVKEY ; not a comment in a value\n"
            "aws_secret_access_key = devsecret\naws_session_token = devtoken\n");
  WriteFile(tmp / ".aws" / "config",
            "[default]\nregion = eu-west-1\n[profile cfg]\naws_access_key_id = CFGKEY\n"
            "aws_secret_access_key = cfgsecret\ns3 =\n  addressing_style = path\n[profile empty]\nregion = x\n");
  CredentialSources s;
  s.environment = {{"HOME", tmp.path().string()}};
  CHECK(ResolveCredentials(s)->access_key_id == "DEFKEY");

  s.environment["AWS_PROFILE"] = "cfg";
  CHECK(ResolveCredentials(s)->access_key_id == "CFGKEY");

  s.profile = "device";  // the caller's profile wins over AWS_PROFILE
  Result<SigV4Credentials> dev = ResolveCredentials(s);
  REQUIRE(dev.ok());
  CHECK(dev->access_key_id == "DEVKEY ; not a comment in a value");
  CHECK(dev->session_token == "devtoken");

  s.profile = "empty";
  Result<SigV4Credentials> empty = ResolveCredentials(s);
  CHECK(empty.status().code() == ErrorCode::kInvalidArgument);
  CHECK(empty.status().message().find("'empty'") != std::string::npos);

  s.profile = "nowhere";
  Result<SigV4Credentials> none = ResolveCredentials(s);
  CHECK(none.status().code() == ErrorCode::kPermissionDenied);
  CHECK(none.status().message().find("'nowhere'") != std::string::npos);
  CHECK(none.status().message().find(".aws/credentials") != std::string::npos);
  CHECK(none.status().message().find("secret") == std::string::npos);

  // Explicit file locations.
  WriteFile(tmp / "elsewhere", "[default]\naws_access_key_id = ELSEKEY\naws_secret_access_key = s\n");
  CredentialSources e;
  e.environment = {{"AWS_SHARED_CREDENTIALS_FILE", (tmp / "elsewhere").string()}};
  CHECK(ResolveCredentials(e)->access_key_id == "ELSEKEY");
}

TEST_CASE("AWS credentials chain: the environment and the shared files come before AWS IoT", "[aws]") {
  TempDir tmp("sluice-chain");
  CredentialSources s;
  s.environment = {{"HOME", tmp.path().string()},
                   {"AWS_ACCESS_KEY_ID", "ENVKEY"},
                   {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                   {"AWS_EC2_METADATA_DISABLED", "true"}};
  // An IoT endpoint nobody listens on: it must not even be asked.
  IotCredentialsConfig iot;
  iot.endpoint = "https://127.0.0.1:" + std::to_string(sluice::test::FreePort());
  iot.role_alias = "alias";
  iot.thing_name = "thing";
  iot.cert_file = (tmp / "none.crt").string();
  iot.key_file = (tmp / "none.key").string();
  s.iot = iot;
  std::shared_ptr<CredentialsProvider> chain = DefaultCredentialsChain(s);
  Result<SigV4Credentials> c = chain->Get();
  REQUIRE(c.ok());
  CHECK(c->access_key_id == "ENVKEY");

  s.environment = {{"HOME", tmp.path().string()}, {"AWS_EC2_METADATA_DISABLED", "true"}};
  std::filesystem::create_directories(tmp / ".aws");
  WriteFile(tmp / ".aws" / "credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = fs\n");
  CHECK(DefaultCredentialsChain(s)->Get()->access_key_id == "FILEKEY");
}

TEST_CASE("AWS credentials chain: nothing found says where it looked, step by step", "[aws]") {
  TempDir tmp("sluice-chain");
  CredentialSources s;
  s.environment = {{"HOME", tmp.path().string()}, {"AWS_EC2_METADATA_DISABLED", "TRUE"}};
  Result<SigV4Credentials> none = DefaultCredentialsChain(s)->Get();
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == ErrorCode::kPermissionDenied);
  const std::string& msg = none.status().message();
  CHECK(msg.find("AWS_ACCESS_KEY_ID") != std::string::npos);
  CHECK(msg.find("profile 'default'") != std::string::npos);
  CHECK(msg.find(".aws/credentials") != std::string::npos);
  CHECK(msg.find("no AWS IoT credentials provider configured") != std::string::npos);
  CHECK(msg.find("AWS_EC2_METADATA_DISABLED") != std::string::npos);

  // A default profile without keys (only a region, say) is no reason to stop.
  std::filesystem::create_directories(tmp / ".aws");
  WriteFile(tmp / ".aws" / "config", "[default]\nregion = eu-west-1\n");
  Result<SigV4Credentials> region_only = DefaultCredentialsChain(s)->Get();
  REQUIRE_FALSE(region_only.ok());
  CHECK(region_only.status().message().find("AWS_EC2_METADATA_DISABLED") != std::string::npos);

  // A profile someone named must exist: no falling through to other sources.
  s.profile = "named";
  Result<SigV4Credentials> named = DefaultCredentialsChain(s)->Get();
  REQUIRE_FALSE(named.ok());
  CHECK(named.status().message().find("'named'") != std::string::npos);
  CHECK(named.status().message().find("AWS_EC2_METADATA_DISABLED") == std::string::npos);
}

TEST_CASE("AWS credentials chain: a configured AWS IoT provider that fails is the error", "[aws]") {
  TempDir tmp("sluice-chain");
  CredentialSources s;
  // Metadata not disabled, but pointed at a closed loopback port: it must not be asked either.
  const std::string closed = "http://127.0.0.1:" + std::to_string(sluice::test::FreePort());
  s.environment = {{"HOME", tmp.path().string()}, {"AWS_EC2_METADATA_SERVICE_ENDPOINT", closed}};
  IotCredentialsConfig iot;
  iot.endpoint = "127.0.0.1:" + std::to_string(sluice::test::FreePort());
  iot.role_alias = "alias";
  iot.thing_name = "thing";
  iot.cert_file = (tmp / "none.crt").string();
  iot.key_file = (tmp / "none.key").string();
  s.iot = iot;
  Result<SigV4Credentials> c = DefaultCredentialsChain(s)->Get();
  REQUIRE_FALSE(c.ok());
  const std::string& msg = c.status().message();
  INFO(msg);
  CHECK(msg.find("AWS IoT credentials provider https://" + iot.endpoint + "/role-aliases/alias/credentials") !=
        std::string::npos);
  CHECK(msg.find("thing 'thing'") != std::string::npos);
  CHECK(msg.find("metadata") == std::string::npos);
}

TEST_CASE("EC2 instance metadata: configured from the environment as the AWS SDKs are", "[aws]") {
  CHECK_FALSE(ImdsOptionsFromEnvironment({{"AWS_EC2_METADATA_DISABLED", "true"}}).has_value());
  CHECK_FALSE(ImdsOptionsFromEnvironment({{"AWS_EC2_METADATA_DISABLED", " True "}}).has_value());
  std::optional<ImdsOptions> d = ImdsOptionsFromEnvironment({});
  REQUIRE(d.has_value());
  CHECK(d->endpoint == "http://169.254.169.254");
  CHECK(d->timeout == std::chrono::seconds(1));
  CHECK(d->attempts == 2);
  std::optional<ImdsOptions> o =
      ImdsOptionsFromEnvironment({{"AWS_EC2_METADATA_DISABLED", "false"},
                                  {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://[::1]:1338/"},
                                  {"AWS_METADATA_SERVICE_TIMEOUT", "3"},
                                  {"AWS_METADATA_SERVICE_NUM_ATTEMPTS", "4"}});
  REQUIRE(o.has_value());
  CHECK(o->endpoint == "http://[::1]:1338");
  CHECK(o->timeout == std::chrono::seconds(3));
  CHECK(o->attempts == 4);
  std::optional<ImdsOptions> junk = ImdsOptionsFromEnvironment(
      {{"AWS_METADATA_SERVICE_TIMEOUT", "soon"}, {"AWS_METADATA_SERVICE_NUM_ATTEMPTS", "0"}});
  REQUIRE(junk.has_value());
  CHECK(junk->timeout == std::chrono::seconds(1));
  CHECK(junk->attempts == 2);
}

}  // namespace sluice::aws
