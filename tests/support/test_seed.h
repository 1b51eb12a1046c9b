// The seed of a randomized test: SLUICE_TEST_SEED when set (to rerun a
// failure exactly), else a fresh random one. TestSeed() prints it to stderr
// with the command that reruns it, so a CI log always names it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace sluice::test {

inline uint64_t TestSeed(const char* test_name) {
  uint64_t seed = 0;
  if (const char* s = std::getenv("SLUICE_TEST_SEED")) {
    seed = std::strtoull(s, nullptr, 10);
  } else {
    seed = std::random_device{}();
  }
  std::fprintf(stderr, "%s: seed %llu (rerun with SLUICE_TEST_SEED=%llu)\n", test_name,
               static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  return seed;
}

}  // namespace sluice::test
