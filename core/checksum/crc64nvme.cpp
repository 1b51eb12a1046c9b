#include "core/checksum/crc64nvme.h"

#include <array>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

#if defined(__x86_64__)

// Folding, after Intel's "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ" (2009), for a reflected CRC. A 16-byte little-endian load is the
// 128-bit polynomial of those message bits with bit k the coefficient of
// x^(127-k); its low qword is the high half H, its high qword the low half L.
// The carry-less product of two such reflected 64-bit values is x*A*B in that
// 128-bit form, so multiplying by the constant x^(e-1) mod P yields something
// congruent to the value times x^e. Moving a block forward by d bits:
// H*x^(d+64) + L*x^d, i.e. the constants x^(d+63) and x^(d-1) mod P. The CRC
// is (message * x^64) mod P: the folded 128 bits, taken as 16 message bytes,
// are finished by the table code (with a zero register), then the tail.

// x^e mod P in normal bit order (bit j: the coefficient of x^j).
constexpr uint64_t XPowModP(unsigned e) {
  constexpr uint64_t kNormalPoly = 0xAD93D23594C93659ULL;
  uint64_t v = 1;
  for (unsigned i = 0; i < e; ++i) v = (v << 1) ^ ((v >> 63) ? kNormalPoly : 0);
  return v;
}

constexpr uint64_t Reflect64(uint64_t v) {
  uint64_t r = 0;
  for (int i = 0; i < 64; ++i) r |= ((v >> i) & 1) << (63 - i);
  return r;
}

// Constants for folding forward by d bits: {for H, for L}.
constexpr std::array<uint64_t, 2> FoldConstants(unsigned d) {
  return {Reflect64(XPowModP(d + 63)), Reflect64(XPowModP(d - 1))};
}

__attribute__((target("sse2,pclmul"))) inline __m128i Fold(__m128i x, __m128i k, __m128i next) {
  const __m128i hi = _mm_clmulepi64_si128(x, k, 0x00);  // H * constant for H
  const __m128i lo = _mm_clmulepi64_si128(x, k, 0x11);  // L * constant for L
  return _mm_xor_si128(_mm_xor_si128(hi, lo), next);
}

__attribute__((target("sse2,pclmul"))) uint64_t Crc64NvmeFolded(const unsigned char* p, size_t size, uint64_t crc) {
  static constexpr std::array<uint64_t, 2> k512 = FoldConstants(512);
  static constexpr std::array<uint64_t, 2> k128 = FoldConstants(128);
  const __m128i fold512 = _mm_set_epi64x(static_cast<long long>(k512[1]), static_cast<long long>(k512[0]));
  const __m128i fold128 = _mm_set_epi64x(static_cast<long long>(k128[1]), static_cast<long long>(k128[0]));
  auto load = [](const unsigned char* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); };
  // The register's starting value is XORed into the first 8 message bytes.
  __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi64_si128(static_cast<long long>(~crc)));
  __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
  p += 64;
  size -= 64;
  // Four lanes 512 bits apart, so the multiplications overlap.
  for (; size >= 64; p += 64, size -= 64) {
    x0 = Fold(x0, fold512, load(p));
    x1 = Fold(x1, fold512, load(p + 16));
    x2 = Fold(x2, fold512, load(p + 32));
    x3 = Fold(x3, fold512, load(p + 48));
  }
  __m128i x = Fold(Fold(Fold(x0, fold128, x1), fold128, x2), fold128, x3);
  for (; size >= 16; p += 16, size -= 16) x = Fold(x, fold128, load(p));
  alignas(16) unsigned char folded[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(folded), x);
  const uint64_t reg = ~Crc64NvmeTable(folded, 16, ~uint64_t{0});  // zero register in, no final inversion
  return Crc64NvmeTable(p, size, ~reg);
}

bool HasPclmul() {
  static const bool has = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
  return has;
}

#endif

}  // namespace

bool Crc64NvmeAccelerated() {
#if defined(__x86_64__)
  return HasPclmul();
#else
  return false;
#endif
}

uint64_t Crc64Nvme(const void* data, size_t size, uint64_t crc) {
#if defined(__x86_64__)
  // Below 64 bytes there is nothing to fold in parallel.
  if (size >= 64 && HasPclmul()) return Crc64NvmeFolded(static_cast<const unsigned char*>(data), size, crc);
#endif
  return Crc64NvmeTable(data, size, crc);
}

uint64_t Crc64NvmeTable(const void* data, size_t size, uint64_t crc) {
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
