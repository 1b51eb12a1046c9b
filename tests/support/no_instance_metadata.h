// Keeps a sluice process a test starts away from the real EC2 instance
// metadata service (169.254.169.254): tests only ever talk to loopback.
// catch_main.cpp already sets AWS_EC2_METADATA_DISABLED=true for the whole
// test process; the fixtures that start sluice say so again explicitly, so
// the guarantee does not rest on an inherited variable alone.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace sluice::test {

// `env` plus AWS_EC2_METADATA_DISABLED=true, unless `env` sets it itself (a
// test of the metadata provider sets it to false and points
// AWS_EC2_METADATA_SERVICE_ENDPOINT at its own loopback server).
inline std::vector<std::pair<std::string, std::string>> NoInstanceMetadata(
    std::vector<std::pair<std::string, std::string>> env) {
  for (const auto& [name, value] : env) {
    if (name == "AWS_EC2_METADATA_DISABLED") return env;
  }
  env.emplace_back("AWS_EC2_METADATA_DISABLED", "true");
  return env;
}

}  // namespace sluice::test
