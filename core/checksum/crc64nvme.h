// CRC-64/NVME (polynomial 0xAD93D23594C93659, reflected, init and xorout all
// ones; check value 0xAE8B14860A799888), as S3's x-amz-checksum-crc64nvme and
// NVMe's end-to-end protection use it. Debian 12 packages no library with it
// (ISA-L 2.30 predates its crc64_rocksoft; zlib and OpenSSL have none), so it
// is written here: carry-less multiplication folding (PCLMULQDQ) where the CPU
// has it, checked at run time, else slicing-by-8 tables (about 1.5 GB/s per
// core). Both give the same value for every input (tests compare them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice {

// Continues a CRC: Crc64Nvme(b, Crc64Nvme(a)) == Crc64Nvme(a + b). Start with 0.
uint64_t Crc64Nvme(const void* data, size_t size, uint64_t crc = 0);
inline uint64_t Crc64Nvme(std::string_view s, uint64_t crc = 0) { return Crc64Nvme(s.data(), s.size(), crc); }

// The table version, whatever the CPU: for tests, and for inputs too short to fold.
uint64_t Crc64NvmeTable(const void* data, size_t size, uint64_t crc = 0);
// Whether Crc64Nvme folds with PCLMULQDQ on this CPU.
bool Crc64NvmeAccelerated();

}  // namespace sluice
