// Catch2's runner, compiled once for both test executables: it is the slowest
// file in the tree to compile (about 50 s at -O2), so it must not be built twice.
//
// Before any test runs it turns off the EC2 instance metadata service for this
// process and everything it starts (AWS_EC2_METADATA_DISABLED=true, which
// sluice and the AWS SDKs both honour): a test must never send a request to
// 169.254.169.254. A test of the metadata provider points
// AWS_EC2_METADATA_SERVICE_ENDPOINT at its own loopback server and sets
// AWS_EC2_METADATA_DISABLED=false in the environment it hands over.
#define CATCH_CONFIG_RUNNER
#include <stdlib.h>

#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
  ::setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  return Catch::Session().run(argc, argv);
}
