// OpenSSL 3 marks the SHA256_* functions deprecated in favour of EVP; they
// stay in its API (and its SHA-NI / ARMv8 code paths). See below for why;
// agent/CMakeLists.txt defines OPENSSL_SUPPRESS_DEPRECATED for this file.
#include "agent/transforms/tokenize/hmac_tokenizer.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <array>
#include <cstring>

namespace sluice {

// HMAC (RFC 2104) over SHA-256 states that have absorbed the key's padded
// blocks: each token copies the inner and the outer state (plain structs)
// and finishes them, two SHA-256 blocks for a short value. EVP_MAC redoes
// part of the key setup per message, and copying an EVP_MD_CTX allocates in
// OpenSSL 3: measured (bench/micro), the plain states take a third of the
// time per token.
struct HmacTokenizer::Impl {
  SHA256_CTX inner;  // after key ^ ipad
  SHA256_CTX outer;  // after key ^ opad
};

HmacTokenizer::HmacTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HmacTokenizer::HmacTokenizer(HmacTokenizer&&) noexcept = default;
HmacTokenizer& HmacTokenizer::operator=(HmacTokenizer&&) noexcept = default;
HmacTokenizer::~HmacTokenizer() = default;

Result<HmacTokenizer> HmacTokenizer::Create(std::string_view key) {
  constexpr size_t kBlock = 64;  // SHA-256's block size
  auto impl = std::make_unique<Impl>();
  // A key longer than a block is replaced by its digest (RFC 2104).
  std::array<unsigned char, kBlock> k{};
  if (key.size() > kBlock) {
    unsigned int len = 0;
    if (EVP_Digest(key.data(), key.size(), k.data(), &len, EVP_sha256(), nullptr) != 1) {
      return Status::Internal("SHA-256 of the key failed");
    }
  } else {
    std::memcpy(k.data(), key.data(), key.size());
  }
  std::array<unsigned char, kBlock> ipad{}, opad{};
  for (size_t i = 0; i < kBlock; ++i) {
    ipad[i] = k[i] ^ 0x36;
    opad[i] = k[i] ^ 0x5c;
  }
  if (SHA256_Init(&impl->inner) != 1 || SHA256_Update(&impl->inner, ipad.data(), ipad.size()) != 1 ||
      SHA256_Init(&impl->outer) != 1 || SHA256_Update(&impl->outer, opad.data(), opad.size()) != 1) {
    return Status::Internal("SHA-256 setup failed");
  }
  return HmacTokenizer(std::move(impl));
}

namespace {

// The digest's lowercase hex digits. By hand, 16 bytes at a time where SSE2
// is there (every x86-64): a token took 131-132 ns with a table lookup per
// digit and takes 115-119 this way (BM_HmacToken, bench/README,
// transforms); no library we link has this. The unit tests compare every
// token with OpenSSL's HMAC printed in hex (the table, kept for other CPUs,
// is the code that was tested that way before).
void HexDigits(const TokenDigest& md, char (&hex)[2 * SHA256_DIGEST_LENGTH]) {
#ifdef __SSE2__
  const __m128i low_nibble = _mm_set1_epi8(0x0f);
  const __m128i nine = _mm_set1_epi8(9);
  const __m128i digit_zero = _mm_set1_epi8('0');
  const __m128i letter_gap = _mm_set1_epi8('a' - '0' - 10);  // from '9' + 1 to 'a'
  const auto digits = [&](__m128i nibbles) {
    const __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(nibbles, nine), letter_gap);
    return _mm_add_epi8(_mm_add_epi8(nibbles, digit_zero), letters);
  };
  for (size_t half = 0; half < 2; ++half) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(md.data() + 16 * half));
    const __m128i high = _mm_and_si128(_mm_srli_epi16(bytes, 4), low_nibble);
    const __m128i low = _mm_and_si128(bytes, low_nibble);
    // Each byte's high nibble first: its two digits in the order they are read.
    _mm_storeu_si128(reinterpret_cast<__m128i*>(hex + 32 * half), digits(_mm_unpacklo_epi8(high, low)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(hex + 32 * half + 16), digits(_mm_unpackhi_epi8(high, low)));
  }
#else
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    hex[2 * i] = kHex[md[i] >> 4];
    hex[2 * i + 1] = kHex[md[i] & 15];
  }
#endif
}

}  // namespace

bool HmacTokenizer::Digest(std::string_view value, TokenDigest& digest) {
  static_assert(sizeof(TokenDigest) == SHA256_DIGEST_LENGTH);
  unsigned char inner[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx = impl_->inner;
  if (SHA256_Update(&ctx, value.data(), value.size()) != 1 || SHA256_Final(inner, &ctx) != 1) return false;
  ctx = impl_->outer;
  return SHA256_Update(&ctx, inner, sizeof inner) == 1 && SHA256_Final(digest.data(), &ctx) == 1;
}

void HmacTokenizer::AppendHex(const TokenDigest& digest, std::string& out) {
  char hex[2 * SHA256_DIGEST_LENGTH];
  HexDigits(digest, hex);
  out.append(hex, sizeof hex);
}

bool HmacTokenizer::AppendToken(std::string_view value, std::string& out) {
  TokenDigest digest;
  if (!Digest(value, digest)) return false;
  AppendHex(digest, out);
  return true;
}

}  // namespace sluice
