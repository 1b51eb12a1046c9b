#include "agent/transforms/tokenize/hmac_tokenizer.h"

#include <openssl/evp.h>

#include <array>
#include <cstring>

namespace sluice {

// HMAC (RFC 2104) over OpenSSL's SHA-256 digest contexts rather than its
// EVP_MAC: the inner and outer contexts, having absorbed the key's padded
// blocks, are kept, and each token copies them (two SHA-256 finals). EVP_MAC
// redoes part of that setup per message; this is half its cost per token.
struct HmacTokenizer::Impl {
  EVP_MD_CTX* inner = nullptr;  // after key ^ ipad
  EVP_MD_CTX* outer = nullptr;  // after key ^ opad
  EVP_MD_CTX* work = nullptr;
  ~Impl() {
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
    EVP_MD_CTX_free(work);
  }
};

HmacTokenizer::HmacTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HmacTokenizer::HmacTokenizer(HmacTokenizer&&) noexcept = default;
HmacTokenizer& HmacTokenizer::operator=(HmacTokenizer&&) noexcept = default;
HmacTokenizer::~HmacTokenizer() = default;

Result<HmacTokenizer> HmacTokenizer::Create(std::string_view key) {
  constexpr size_t kBlock = 64;  // SHA-256's block size
  auto impl = std::make_unique<Impl>();
  impl->inner = EVP_MD_CTX_new();
  impl->outer = EVP_MD_CTX_new();
  impl->work = EVP_MD_CTX_new();
  if (impl->inner == nullptr || impl->outer == nullptr || impl->work == nullptr) {
    return Status::Internal("EVP_MD_CTX_new failed");
  }
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
  if (EVP_DigestInit_ex(impl->inner, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(impl->inner, ipad.data(), ipad.size()) != 1 ||
      EVP_DigestInit_ex(impl->outer, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(impl->outer, opad.data(), opad.size()) != 1) {
    return Status::Internal("SHA-256 setup failed");
  }
  return HmacTokenizer(std::move(impl));
}

bool HmacTokenizer::AppendToken(std::string_view value, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char inner[32], md[32];
  unsigned int len = 0;
  if (EVP_MD_CTX_copy_ex(impl_->work, impl_->inner) != 1 ||
      EVP_DigestUpdate(impl_->work, value.data(), value.size()) != 1 ||
      EVP_DigestFinal_ex(impl_->work, inner, &len) != 1 || len != sizeof inner ||
      EVP_MD_CTX_copy_ex(impl_->work, impl_->outer) != 1 || EVP_DigestUpdate(impl_->work, inner, sizeof inner) != 1 ||
      EVP_DigestFinal_ex(impl_->work, md, &len) != 1 || len != sizeof md) {
    return false;
  }
  char hex[64];
  for (size_t i = 0; i < sizeof md; ++i) {
    hex[2 * i] = kHex[md[i] >> 4];
    hex[2 * i + 1] = kHex[md[i] & 15];
  }
  out.append(hex, sizeof hex);
  return true;
}

}  // namespace sluice
