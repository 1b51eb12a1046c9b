#include "transfer/local/local_endpoint.h"

#include <catch2/catch.hpp>

#include "tests/support/endpoint_conformance.h"
#include "tests/support/temp_dir.h"

namespace sluice::transfer {

TEST_CASE("local endpoint: the endpoint conformance suite", "[unit][transfer]") {
  sluice::test::TempDir dir("sluice-local-ep");
  test::RunEndpointConformance([&] {
    Result<std::unique_ptr<Endpoint>> ep = OpenLocalEndpoint(dir.path());
    REQUIRE(ep.ok());
    return std::move(ep).value();
  });
}

TEST_CASE("local endpoint: opening a root that is missing or not a directory fails clearly", "[unit][transfer]") {
  sluice::test::TempDir dir("sluice-local-ep");
  CHECK(OpenLocalEndpoint(dir / "missing").status().code() == ErrorCode::kNotFound);
  sluice::test::WriteFile(dir / "file", "x");
  const Result<std::unique_ptr<Endpoint>> ep = OpenLocalEndpoint(dir / "file");
  REQUIRE_FALSE(ep.ok());
  CHECK_THAT(ep.status().message(), Catch::Contains((dir / "file").string()));
}

TEST_CASE("endpoint paths: relative, no empty, \".\" or \"..\" component", "[unit][transfer]") {
  for (const char* ok : {"", "a", "a/b", ".hidden", "a/..b", "a b/c"}) {
    INFO(ok);
    CHECK(RelativePathProblem(ok).empty());
  }
  for (const char* bad : {"/a", "a/", "a//b", ".", "..", "a/./b", "a/../b"}) {
    INFO(bad);
    CHECK_FALSE(RelativePathProblem(bad).empty());
  }
  CHECK(JoinPath("", "x") == "x");
  CHECK(JoinPath("a/b", "x") == "a/b/x");
}

}  // namespace sluice::transfer
