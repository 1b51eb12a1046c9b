#include "core/checksum/crc32c.h"

#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace sluice {

TEST_CASE("crc32c: known vectors", "[unit]") {
  CHECK(Crc32c("") == 0);
  CHECK(Crc32c("123456789") == 0xE3069283);
  CHECK(Crc32c("a") == 0xC1D04330);
  // RFC 3720 (iSCSI) appendix B.4.
  CHECK(Crc32c(std::string(32, '\0')) == 0x8A9136AA);
  CHECK(Crc32c(std::string(32, '\xff')) == 0x62A8AB43);
  std::string inc, dec;
  for (int i = 0; i < 32; ++i) {
    inc += static_cast<char>(i);
    dec += static_cast<char>(31 - i);
  }
  CHECK(Crc32c(inc) == 0x46DD794E);
  CHECK(Crc32c(dec) == 0x113FDB5C);
  const unsigned char scsi_read[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
      0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  CHECK(Crc32c(scsi_read, sizeof scsi_read) == 0xD9963A56);
}

TEST_CASE("crc32c: a CRC continues across pieces", "[unit]") {
  const std::string s = "The quick brown fox jumps over the lazy dog";
  const uint32_t whole = Crc32c(s);
  CHECK(whole == 0x22620404);
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    INFO(cut);
    CHECK(Crc32c(s.substr(cut), Crc32c(s.substr(0, cut))) == whole);
  }
}

TEST_CASE("crc32c: hardware and software agree on every length and alignment", "[unit]") {
  std::mt19937_64 rng(2026);
  std::vector<unsigned char> buf(1000 + 16);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  const bool hw = crc32c_internal::HardwareAvailable();
  if (!hw) WARN("no SSE4.2 on this CPU: only the software path is checked");
  for (size_t len = 0; len <= 1000; ++len) {
    for (size_t offset = 0; offset < 8; ++offset) {
      const unsigned char* p = buf.data() + offset;
      const uint32_t sw = crc32c_internal::Software(p, len, 0);
      const uint32_t seeded = crc32c_internal::Software(p, len, 0x12345678);
      if (hw) {
        REQUIRE(crc32c_internal::Hardware(p, len, 0) == sw);
        REQUIRE(crc32c_internal::Hardware(p, len, 0x12345678) == seeded);
      }
      REQUIRE(Crc32c(p, len) == sw);
    }
  }
}

TEST_CASE("crc32c: a flipped bit changes the CRC", "[unit]") {
  std::string s(4096, 'x');
  const uint32_t before = Crc32c(s);
  for (size_t bit = 0; bit < s.size() * 8; bit += 97) {
    std::string t = s;
    t[bit / 8] = static_cast<char>(t[bit / 8] ^ (1 << (bit % 8)));
    REQUIRE(Crc32c(t) != before);
  }
}

}  // namespace sluice
