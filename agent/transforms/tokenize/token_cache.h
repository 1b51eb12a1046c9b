// The digests of the values one field had lately, so that a value seen again
// costs a hash lookup instead of HMAC-SHA-256's two blocks (~105 ns with
// SHA-NI). Logs repeat their users, devices and hosts; the cache leaves the
// token exactly what it was (the digest HmacTokenizer computed for the same
// bytes, compared byte for byte, never by hash alone).
//
// Bounded: at most `capacity` values of up to kMaxValue bytes, ~136 bytes
// each with their slots, allocated as they arrive. When it is full it starts
// over, so a field of fewer distinct values than that stays cached. A field
// whose values do not recur that soon (client IPs of a busy server) would
// only pay the lookups: when a whole fill had under 1 hit in 8 lookups, the
// cache stands aside for the next 16 fills' worth of values, then tries again.
//
// Holds recent values in plain text in the agent's memory for as long as
// they stay cached (the `cache` option sets 0 where that matters).
// Not thread-safe: one per worker and field.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sluice {

using TokenDigest = std::array<unsigned char, 32>;  // SHA-256's

class TokenCache {
 public:
  static constexpr size_t kMaxValue = 95;  // longer values are tokenized every time
  static constexpr size_t kMaxCapacity = (size_t{1} << 21) - 1;  // entry index + 1 in kIndexBits

  explicit TokenCache(size_t capacity);

  // The digest remembered for `value`, or null. After a null, Remember(digest)
  // may store the digest computed for that same value.
  const TokenDigest* Find(std::string_view value);
  void Remember(const TokenDigest& digest);

  size_t size() const { return entries_.size(); }
  bool standing_aside() const { return bypass_left_ > 0; }

 private:
  // 128 bytes on a 128-byte boundary: the two cache lines a hit reads are
  // the pair the CPU fetches together, so a hit waits for memory once.
  struct alignas(128) Entry {
    uint8_t size;
    char value[kMaxValue];
    TokenDigest digest;
  };

  void StartOver();

  static constexpr unsigned kIndexBits = 21;
  static constexpr uint32_t kIndexMask = (uint32_t{1} << kIndexBits) - 1;

  size_t capacity_;
  uint32_t mask_ = 0;            // slots_.size() - 1
  std::vector<uint32_t> slots_;  // the hash's top bits above kIndexBits | entry index + 1; 0 = empty
  std::vector<Entry> entries_;   // in the order they were remembered
  // The Find that returned null, for Remember: the slot to fill, or none.
  uint32_t pending_slot_ = UINT32_MAX;
  uint32_t pending_tag_ = 0;
  std::string_view pending_value_;
  uint64_t lookups_ = 0;  // since the last start-over
  uint64_t hits_ = 0;
  uint64_t bypass_left_ = 0;  // lookups the cache still stands aside for
};

}  // namespace sluice
