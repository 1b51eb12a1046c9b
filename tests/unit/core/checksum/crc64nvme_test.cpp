#include "core/checksum/crc64nvme.h"

#include <catch2/catch.hpp>
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

TEST_CASE("crc64nvme: a flipped bit changes it", "[unit][checksum]") {
  std::string data(4096, 'x');
  const uint64_t before = Crc64Nvme(data);
  data[1234] ^= 0x10;
  CHECK(Crc64Nvme(data) != before);
}

}  // namespace sluice
