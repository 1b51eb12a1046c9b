#include "protocols/sftp/sftp_url.h"

#include <catch2/catch.hpp>

namespace sluice::sftp {

TEST_CASE("sftp url: user, host, port and path are parsed and decoded", "[unit][sftp]") {
  Result<SftpUrl> u = ParseSftpUrl("sftp://us%40er@example.com:2222/data/with%20space/");
  REQUIRE(u.ok());
  CHECK(u->user == "us@er");
  CHECK(u->host == "example.com");
  CHECK(u->port == 2222);
  CHECK(u->path == "/data/with space");
  // ToString round-trips (the user's '@' is left as is; the parser takes the last '@').
  Result<SftpUrl> again = ParseSftpUrl(u->ToString());
  REQUIRE(again.ok());
  CHECK(again->user == "us@er");
  CHECK(again->path == "/data/with space");

  Result<SftpUrl> v6 = ParseSftpUrl("sftp://[::1]/x");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 22);
  CHECK(v6->path == "/x");
  Result<SftpUrl> at_user = ParseSftpUrl("sftp://me%40corp@host/x");
  REQUIRE(at_user.ok());
  CHECK(at_user->user == "me@corp");
  CHECK(at_user->ToString() == "sftp://me%40corp@host/x");
  u = ParseSftpUrl("sftp://[::1]:22/~/rel");
  REQUIRE(u.ok());
  CHECK(u->host == "::1");
  CHECK(u->port == 22);
  CHECK(u->path == "rel");
  CHECK(u->ToString() == "sftp://[::1]/~/rel");

  u = ParseSftpUrl("sftp://host");
  REQUIRE(u.ok());
  CHECK(u->path.empty());
}

TEST_CASE("sftp url: bad URLs and passwords are refused", "[unit][sftp]") {
  for (const char* bad : {"http://host/x", "sftp:///x", "sftp://host:0/x", "sftp://host:99999/x", "sftp://host:x/",
                          "sftp://[::1/x", "sftp://host/%zz"}) {
    INFO(bad);
    CHECK(ParseSftpUrl(bad).status().code() == ErrorCode::kInvalidArgument);
  }
  const Result<SftpUrl> pw = ParseSftpUrl("sftp://user:secret@host/x");
  REQUIRE_FALSE(pw.ok());
  CHECK_THAT(pw.status().message(), Catch::Contains("password"));
}

}  // namespace sluice::sftp
