#include "transfer/hash.h"

#include <catch2/catch.hpp>

namespace sluice::transfer {

std::string Digest(HashAlgorithm a, std::initializer_list<std::string_view> parts) {
  std::unique_ptr<Hasher> h = Hasher::Create(a);
  for (std::string_view p : parts) h->Update(p);
  return h->HexDigest();
}

TEST_CASE("hashes: known digests, as sha256sum, xxh128sum and the CRC catalogue print them", "[unit][transfer]") {
  CHECK(Digest(HashAlgorithm::kSha256, {"abc"}) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Digest(HashAlgorithm::kSha256, {""}) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Digest(HashAlgorithm::kXxh128, {""}) == "99aa06d3014798d86001c324468d497f");
  CHECK(Digest(HashAlgorithm::kCrc64Nvme, {"123456789"}) == "ae8b14860a799888");
}

TEST_CASE("hashes: streaming in pieces equals hashing the whole", "[unit][transfer]") {
  for (HashAlgorithm a : {HashAlgorithm::kSha256, HashAlgorithm::kXxh128, HashAlgorithm::kCrc64Nvme}) {
    INFO(HashName(a));
    CHECK(Digest(a, {"hello ", "", "world"}) == Digest(a, {"hello world"}));
    CHECK(Digest(a, {"hello world"}) != Digest(a, {"hello worle"}));
  }
}

TEST_CASE("hashes: names parse, and an unknown one is refused naming the choices", "[unit][transfer]") {
  CHECK(ParseHashAlgorithm("xxh128").value() == HashAlgorithm::kXxh128);
  CHECK(HashName(ParseHashAlgorithm("crc64nvme").value()) == "crc64nvme");
  const Result<HashAlgorithm> bad = ParseHashAlgorithm("md5");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("sha256, xxh128 or crc64nvme"));
}

}  // namespace sluice::transfer
