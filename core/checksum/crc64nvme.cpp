#include "core/checksum/crc64nvme.h"

#include <array>

namespace sluice {
namespace {

constexpr uint64_t kPoly = 0x9A6C9329AC4BC9B5ULL;  // 0xAD93D23594C93659 reflected

using Tables = std::array<std::array<uint64_t, 256>, 8>;

// Slicing-by-8, as in crc32c.cpp: table[k][b] is the CRC of byte b followed by k zero bytes.
constexpr Tables MakeTables() {
  Tables t{};
  for (uint64_t i = 0; i < 256; ++i) {
    uint64_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][i] = c;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
  return t;
}

inline uint64_t LoadLe64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

uint64_t Crc64Nvme(const void* data, size_t size, uint64_t crc) {
  static constexpr Tables kT = MakeTables();
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t c = ~crc;
  while (size >= 8) {
    const uint64_t v = c ^ LoadLe64(p);
    c = kT[7][v & 0xff] ^ kT[6][(v >> 8) & 0xff] ^ kT[5][(v >> 16) & 0xff] ^ kT[4][(v >> 24) & 0xff] ^
        kT[3][(v >> 32) & 0xff] ^ kT[2][(v >> 40) & 0xff] ^ kT[1][(v >> 48) & 0xff] ^ kT[0][v >> 56];
    p += 8;
    size -= 8;
  }
  while (size-- > 0) c = (c >> 8) ^ kT[0][(c ^ *p++) & 0xff];
  return ~c;
}

}  // namespace sluice
