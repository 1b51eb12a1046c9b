#include "agent/transforms/tokenize/token_cache.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>

namespace sluice {
namespace {

// A fill that hit less often than this did not pay for its lookups and its
// writes: a miss costs a hash, a probe and a copy of 128 bytes (2 ns in a
// loop, more in the agent, where the table competes for the caches), a hit
// saves ~100 ns (bench/README, transforms, sixteenth session).
constexpr uint64_t kMinHitsPerLookups = 8;  // 1 hit in 8
constexpr uint64_t kBypassFills = 16;

}  // namespace

TokenCache::TokenCache(size_t capacity) : capacity_(std::min(capacity, kMaxCapacity)) {
  if (capacity_ == 0) return;
  // Open addressing at most half full keeps probes short.
  slots_.assign(std::bit_ceil(2 * capacity_), 0);
  mask_ = static_cast<uint32_t>(slots_.size() - 1);
  // Reserved, not written: the pages are touched only as values arrive.
  entries_.reserve(capacity_);
}

const TokenDigest* TokenCache::Find(std::string_view value) {
  pending_slot_ = UINT32_MAX;
  if (capacity_ == 0 || value.size() > kMaxValue) return nullptr;
  if (bypass_left_ > 0) {
    --bypass_left_;
    return nullptr;
  }
  ++lookups_;
  const uint64_t hash = std::hash<std::string_view>{}(value);
  // The slot from the hash's low bits, the tag from its top ones.
  const auto tag = static_cast<uint32_t>(hash >> 32) & ~kIndexMask;
  for (auto i = static_cast<uint32_t>(hash) & mask_;; i = (i + 1) & mask_) {
    const uint32_t slot = slots_[i];
    if (slot == 0) {
      pending_slot_ = i;
      pending_tag_ = tag;
      pending_value_ = value;
      return nullptr;
    }
    if ((slot & ~kIndexMask) != tag) continue;
    const Entry& e = entries_[(slot & kIndexMask) - 1];
    if (e.size == value.size() && std::memcmp(e.value, value.data(), value.size()) == 0) {
      ++hits_;
      return &e.digest;
    }
  }
}

void TokenCache::Remember(const TokenDigest& digest) {
  if (pending_slot_ == UINT32_MAX) return;
  if (entries_.size() == capacity_) {
    // Full: this fill's hits decide whether the next one is worth making.
    const bool paid = hits_ * kMinHitsPerLookups >= lookups_;
    StartOver();
    if (!paid) {
      bypass_left_ = kBypassFills * capacity_;
      return;
    }
    // The slot found empty for the value is empty still (all are).
  }
  Entry& e = entries_.emplace_back();
  e.digest = digest;
  e.size = static_cast<uint8_t>(pending_value_.size());
  std::memcpy(e.value, pending_value_.data(), pending_value_.size());
  slots_[pending_slot_] = pending_tag_ | static_cast<uint32_t>(entries_.size());
  pending_slot_ = UINT32_MAX;
}

void TokenCache::StartOver() {
  std::fill(slots_.begin(), slots_.end(), 0);
  entries_.clear();
  lookups_ = 0;
  hits_ = 0;
}

}  // namespace sluice
