#include "transfer/hash.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include <stdexcept>

#include "core/checksum/crc64nvme.h"

namespace sluice::transfer {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 0xf];
  }
  return out;
}

class Sha256Hasher final : public Hasher {
 public:
  Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
      throw std::runtime_error("OpenSSL could not start a SHA-256 digest");
    }
  }
  void Update(std::string_view data) override { EVP_DigestUpdate(ctx_.get(), data.data(), data.size()); }
  std::string HexDigest() override {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &len);
    return Hex(md, len);
  }

 private:
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

class Xxh128Hasher final : public Hasher {
 public:
  Xxh128Hasher() : state_(XXH3_createState()) {
    if (state_ == nullptr || XXH3_128bits_reset(state_.get()) != XXH_OK) {
      throw std::runtime_error("libxxhash could not start an XXH128 state");
    }
  }
  void Update(std::string_view data) override { XXH3_128bits_update(state_.get(), data.data(), data.size()); }
  std::string HexDigest() override {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_.get()));
    return Hex(canonical.digest, sizeof(canonical.digest));
  }

 private:
  struct Free {
    void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
  };
  std::unique_ptr<XXH3_state_t, Free> state_;
};

class Crc64NvmeHasher final : public Hasher {
 public:
  void Update(std::string_view data) override { crc_ = Crc64Nvme(data, crc_); }
  std::string HexDigest() override { return fmt::format("{:016x}", crc_); }

 private:
  uint64_t crc_ = 0;
};

}  // namespace

Result<HashAlgorithm> ParseHashAlgorithm(std::string_view name) {
  if (name == "sha256") return HashAlgorithm::kSha256;
  if (name == "xxh128") return HashAlgorithm::kXxh128;
  if (name == "crc64nvme") return HashAlgorithm::kCrc64Nvme;
  return Status::InvalidArgument(fmt::format("unknown hash '{}' (choose sha256, xxh128 or crc64nvme)", name));
}

std::string_view HashName(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::kSha256:
      return "sha256";
    case HashAlgorithm::kXxh128:
      return "xxh128";
    case HashAlgorithm::kCrc64Nvme:
      return "crc64nvme";
  }
  return "?";
}

std::unique_ptr<Hasher> Hasher::Create(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::kSha256:
      return std::make_unique<Sha256Hasher>();
    case HashAlgorithm::kXxh128:
      return std::make_unique<Xxh128Hasher>();
    case HashAlgorithm::kCrc64Nvme:
      return std::make_unique<Crc64NvmeHasher>();
  }
  throw std::logic_error("unknown hash algorithm");
}

}  // namespace sluice::transfer
