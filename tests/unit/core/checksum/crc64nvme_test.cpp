#include "core/checksum/crc64nvme.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>

namespace sluice {

TEST_CASE("crc64nvme: the catalogue's check value and the empty input", "[unit][checksum]") {
  CHECK(Crc64Nvme("123456789") == 0xAE8B14860A799888ULL);
  CHECK(Crc64Nvme("") == 0);
}

TEST_CASE("crc64nvme: continuing a CRC equals one CRC over the whole, for every split", "[unit][checksum]") {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>((i * 131 + 7) % 256);
  const uint64_t whole = Crc64Nvme(data);
  for (size_t split : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{500}, size_t{999}, size_t{1000}}) {
    INFO(split);
    CHECK(Crc64Nvme(std::string_view(data).substr(split), Crc64Nvme(std::string_view(data).substr(0, split))) == whole);
  }
}

TEST_CASE("crc64nvme: the folded version equals the table version at every length, alignment and start",
          "[unit][checksum]") {
  INFO("PCLMULQDQ folding: " << Crc64NvmeAccelerated());
  CHECK(Crc64NvmeTable("123456789", 9) == 0xAE8B14860A799888ULL);
  std::mt19937_64 rng(20261123);
  std::string data(70'000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  // Every length around the fold sizes (16, 64) from each alignment, then random ones.
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t len = 0; len < 300; ++len) {
      INFO(offset << " " << len);
      REQUIRE(Crc64Nvme(data.data() + offset, len) == Crc64NvmeTable(data.data() + offset, len));
    }
  }
  for (int i = 0; i < 2000; ++i) {
    const size_t offset = rng() % 64, len = rng() % (data.size() - 64);
    const uint64_t start = i % 2 ? rng() : 0;
    INFO(offset << " " << len << " " << start);
    REQUIRE(Crc64Nvme(data.data() + offset, len, start) == Crc64NvmeTable(data.data() + offset, len, start));
  }
  // Data the table version knows: the check string repeated past the fold sizes.
  std::string repeated;
  for (int i = 0; i < 100; ++i) repeated += "123456789";
  CHECK(Crc64Nvme(repeated) == Crc64NvmeTable(repeated.data(), repeated.size()));
  CHECK(Crc64Nvme(repeated.substr(9), Crc64Nvme("123456789")) == Crc64Nvme(repeated));
}

TEST_CASE("crc64nvme: a flipped bit changes it", "[unit][checksum]") {
  std::string data(4096, 'x');
  const uint64_t before = Crc64Nvme(data);
  data[1234] ^= 0x10;
  CHECK(Crc64Nvme(data) != before);
}

}  // namespace sluice
