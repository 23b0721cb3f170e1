#pragma once
// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), the checksum of every stored record.
//
// Why our own: zlib's crc32() is CRC-32/IEEE, not CRC-32C, and no CRC-32C library (libcrc32c,
// google-crc32c) is installed on the build image. CRC-32C is what iSCSI, ext4 and LevelDB use,
// detects all 1-3 bit errors in records of the sizes we write, and x86-64 computes it in hardware
// (SSE4.2 crc32 instruction), which we use when the CPU has it; otherwise a slicing-by-8 table.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tern::server {

// Extends `crc` (the value returned for the preceding bytes; 0 to start) over data[0, n).
// Thread-safe; no state.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);
// The table-driven path, exposed so tests can check it against the hardware one.
uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t n);
inline uint32_t crc32c(std::string_view s) { return crc32c_extend(0, s.data(), s.size()); }

}  // namespace tern::server
