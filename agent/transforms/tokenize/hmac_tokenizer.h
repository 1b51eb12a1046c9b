// Keyed tokens: the lowercase hex HMAC-SHA-256 of a value's UTF-8 bytes,
// optionally prefixed. The same value always maps to the same token (joins
// still work downstream) and without the key a token cannot be reversed.
// The key's HMAC state is computed once; each token only restarts it.
// Not thread-safe: one per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agent/transforms/tokenize/token_cache.h"
#include "core/status.h"

namespace sluice {

class HmacTokenizer {
 public:
  static Result<HmacTokenizer> Create(std::string_view key);
  HmacTokenizer(HmacTokenizer&&) noexcept;
  HmacTokenizer& operator=(HmacTokenizer&&) noexcept;
  ~HmacTokenizer();

  // Appends the 64 hex digits of HMAC-SHA-256(key, value) to `out`; false
  // (nothing appended) if OpenSSL fails, which a context that initialized does not.
  bool AppendToken(std::string_view value, std::string& out);

  // The two halves of AppendToken, for a caller that remembers digests
  // (TokenCache): the HMAC's digest, false if OpenSSL fails; its 64 hex digits.
  bool Digest(std::string_view value, TokenDigest& digest);
  static void AppendHex(const TokenDigest& digest, std::string& out);

 private:
  struct Impl;
  explicit HmacTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
