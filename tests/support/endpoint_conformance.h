// The one conformance suite every transfer Endpoint passes (as rclone's
// fstests cover every backend): call RunEndpointConformance from a TEST_CASE
// with a function that returns the endpoint under test rooted at an empty
// directory. Each Catch SECTION gets a fresh root. What an endpoint lacks
// (capabilities()) is checked to be refused with kUnsupported instead.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "transfer/endpoint.h"

namespace sluice::transfer::test {

using EndpointFactory = std::function<std::unique_ptr<Endpoint>()>;

void RunEndpointConformance(const EndpointFactory& fresh);

// `n` deterministic pseudo-random bytes (xorshift from `seed`): file contents
// whose every byte matters.
std::string Pattern(size_t n, uint32_t seed);

// A whole file written in one Write (and Close), or read back whole.
Status PutFile(Endpoint& ep, const std::string& path, std::string_view data);
Result<std::string> GetFile(Endpoint& ep, const std::string& path);

// `threads` threads share `ep`, each writing `files` files of a few hundred
// KB under a partial name, renaming them into "t<N>/sub" and reading them
// back; what went wrong, one line per thread that failed (empty: none).
std::vector<std::string> SharedEndpointFailures(Endpoint& ep, int threads, int files);

// The local endpoint at `root`, failing the test (REQUIRE) if it cannot be opened.
std::unique_ptr<Endpoint> OpenLocalOrFail(const std::filesystem::path& root);

}  // namespace sluice::transfer::test
