// CRC-32C (Castagnoli), the checksum of record batch v2.
#pragma once

#include <cstddef>
#include <cstdint>

namespace runnel::protocol {

// Standard CRC-32C of `n` bytes ("123456789" -> 0xE3069283). `crc` is the result of a previous
// call, so crc32c(b, nb, crc32c(a, na)) == crc32c(a + b). Uses the SSE4.2 crc32 instruction when
// the CPU has it (chosen once at startup), otherwise crc32c_portable.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);

// Table-driven implementation, same results; exposed so tests can compare against it.
uint32_t crc32c_portable(const void* data, size_t n, uint32_t crc = 0);

// True when crc32c() runs on the SSE4.2 + PCLMUL path.
bool crc32c_hardware_accelerated();

}  // namespace runnel::protocol
