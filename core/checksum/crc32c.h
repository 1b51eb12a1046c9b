// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected), as used by iSCSI,
// ext4, SCTP and S3's x-amz-checksum-crc32c. Debian 12 packages no CRC32C
// library, so it is written here: SSE4.2 crc32 instructions when the CPU has
// them (checked at run time), slicing-by-8 tables otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice {

// Continues a CRC: Crc32c(b, Crc32c(a)) == Crc32c(a + b). Start with 0.
uint32_t Crc32c(const void* data, size_t size, uint32_t crc = 0);
inline uint32_t Crc32c(std::string_view s, uint32_t crc = 0) { return Crc32c(s.data(), s.size(), crc); }

// The two implementations behind Crc32c, exposed so tests can check that they agree.
namespace crc32c_internal {
uint32_t Software(const void* data, size_t size, uint32_t crc);
// True when this CPU has the SSE4.2 crc32 instruction; Hardware() must not be called otherwise.
bool HardwareAvailable();
uint32_t Hardware(const void* data, size_t size, uint32_t crc);
}  // namespace crc32c_internal

}  // namespace sluice
