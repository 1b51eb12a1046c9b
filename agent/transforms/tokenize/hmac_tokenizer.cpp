#include "agent/transforms/tokenize/hmac_tokenizer.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace sluice {

struct HmacTokenizer::Impl {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;
  ~Impl() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
  }
};

HmacTokenizer::HmacTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HmacTokenizer::HmacTokenizer(HmacTokenizer&&) noexcept = default;
HmacTokenizer& HmacTokenizer::operator=(HmacTokenizer&&) noexcept = default;
HmacTokenizer::~HmacTokenizer() = default;

Result<HmacTokenizer> HmacTokenizer::Create(std::string_view key) {
  auto impl = std::make_unique<Impl>();
  impl->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (impl->mac == nullptr) return Status::Internal("OpenSSL has no HMAC");
  impl->ctx = EVP_MAC_CTX_new(impl->mac);
  if (impl->ctx == nullptr) return Status::Internal("EVP_MAC_CTX_new failed");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(impl->ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) {
    return Status::Internal("EVP_MAC_init failed");
  }
  return HmacTokenizer(std::move(impl));
}

bool HmacTokenizer::AppendToken(std::string_view value, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char md[32];
  size_t len = 0;
  // A NULL key restarts the MAC with the key given at Create (its inner and
  // outer states were computed then), so a token costs two SHA-256 blocks.
  if (EVP_MAC_init(impl_->ctx, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(impl_->ctx, reinterpret_cast<const unsigned char*>(value.data()), value.size()) != 1 ||
      EVP_MAC_final(impl_->ctx, md, &len, sizeof md) != 1 || len != sizeof md) {
    return false;
  }
  for (unsigned char b : md) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return true;
}

}  // namespace sluice
