// The credential chain: environment first, then the shared credentials and
// config files for the chosen profile; clear errors that never show a secret.
#include "protocols/aws/credentials.h"

#include <catch2/catch.hpp>
#include <filesystem>

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

}  // namespace sluice::aws
