// TokenCache: a remembered digest comes back only for the very same bytes;
// the bounds (value size, capacity) and standing aside when a fill does not pay.
#include "agent/transforms/tokenize/token_cache.h"

#include <catch2/catch.hpp>
#include <string>

using namespace sluice;

namespace {

TokenDigest DigestFor(unsigned char seed) {
  TokenDigest d{};
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<unsigned char>(seed + i * 7);
  return d;
}

// Looks `value` up and, on a miss, remembers `digest` for it; true on a hit
// (which must then give `digest` back).
bool LookUp(TokenCache& cache, std::string_view value, const TokenDigest& digest) {
  if (const TokenDigest* d = cache.Find(value)) {
    CHECK(*d == digest);
    return true;
  }
  cache.Remember(digest);
  return false;
}

}  // namespace

TEST_CASE("token cache: a digest comes back for the same bytes only", "[unit][transforms]") {
  TokenCache cache(64);
  const std::string with_nul("a\0b", 3);
  const std::string values[] = {"ann@example.com", "ann@example.co", "ann@example.comm", "Ann@example.com",
                                "", with_nul, std::string("a\0c", 3), "10.0.0.1", "10.0.0.10",
                                std::string(TokenCache::kMaxValue, 'x')};
  for (size_t i = 0; i < std::size(values); ++i) CHECK_FALSE(LookUp(cache, values[i], DigestFor(static_cast<unsigned char>(i))));
  CHECK(cache.size() == std::size(values));
  for (size_t i = 0; i < std::size(values); ++i) {
    INFO("value " << i);
    const TokenDigest* d = cache.Find(values[i]);
    REQUIRE(d != nullptr);
    CHECK(*d == DigestFor(static_cast<unsigned char>(i)));
  }
  CHECK(cache.Find("ann@example.org") == nullptr);
}

TEST_CASE("token cache: values longer than its limit, and a cache of 0, keep nothing", "[unit][transforms]") {
  TokenCache cache(64);
  const std::string long_value(TokenCache::kMaxValue + 1, 'x');
  CHECK_FALSE(LookUp(cache, long_value, DigestFor(1)));
  CHECK_FALSE(LookUp(cache, long_value, DigestFor(1)));
  CHECK(cache.size() == 0);

  TokenCache off(0);
  CHECK_FALSE(LookUp(off, "ann", DigestFor(2)));
  CHECK_FALSE(LookUp(off, "ann", DigestFor(2)));
  CHECK(off.size() == 0);
}

TEST_CASE("token cache: full, it starts over and keeps at most its capacity", "[unit][transforms]") {
  TokenCache cache(4);
  for (unsigned char i = 0; i < 4; ++i) CHECK_FALSE(LookUp(cache, "v" + std::to_string(i), DigestFor(i)));
  for (int round = 0; round < 3; ++round) {
    for (unsigned char i = 0; i < 4; ++i) CHECK(LookUp(cache, "v" + std::to_string(i), DigestFor(i)));
  }
  CHECK(cache.size() == 4);
  // A fifth value: the fill paid (12 hits in 16 lookups), so the cache starts over with it.
  CHECK_FALSE(LookUp(cache, "v4", DigestFor(4)));
  CHECK(cache.size() == 1);
  CHECK_FALSE(cache.standing_aside());
  CHECK(LookUp(cache, "v4", DigestFor(4)));
  CHECK_FALSE(LookUp(cache, "v0", DigestFor(0)));  // forgotten, remembered again
  CHECK(LookUp(cache, "v0", DigestFor(0)));
}

TEST_CASE("token cache: a fill of values that never recur makes it stand aside, then try again", "[unit][transforms]") {
  TokenCache cache(4);
  unsigned char n = 0;
  for (; n < 4; ++n) CHECK_FALSE(LookUp(cache, "ip" + std::to_string(n), DigestFor(n)));
  // The fifth new value finds it full after 0 hits in 5 lookups.
  CHECK_FALSE(LookUp(cache, "ip" + std::to_string(n), DigestFor(n)));
  CHECK(cache.standing_aside());
  CHECK(cache.size() == 0);
  // Standing aside for 16 fills' worth of lookups (64): nothing is kept, even a value repeated.
  for (int i = 0; i < 64; ++i) CHECK_FALSE(LookUp(cache, "same", DigestFor(9)));
  CHECK(cache.size() == 0);
  CHECK_FALSE(cache.standing_aside());
  // Then it caches again.
  CHECK_FALSE(LookUp(cache, "same", DigestFor(9)));
  CHECK(LookUp(cache, "same", DigestFor(9)));
}
