#include "protocol/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#define RUNNEL_CRC32C_X86 1
#endif

namespace runnel::protocol {
namespace {

// Reflected Castagnoli polynomial.
constexpr uint32_t poly = 0x82F63B78u;

// Slicing-by-8 tables: table[k][b] is the CRC register after byte b followed by k zero bytes.
using crc_tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr crc_tables make_tables() {
    crc_tables t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (poly & (0u - (c & 1u)));
        t[0][i] = c;
    }
    for (size_t k = 1; k < 8; ++k) {
        for (size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    }
    return t;
}

constexpr crc_tables tables = make_tables();

uint64_t load_u64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;  // x86 and the other targets we build for are little-endian
}

uint32_t portable_update(uint32_t state, const uint8_t* p, size_t n) {
    while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
        state = tables[0][(state ^ *p++) & 0xff] ^ (state >> 8);
        --n;
    }
    while (n >= 8) {
        uint64_t w = load_u64(p) ^ state;
        state = tables[7][w & 0xff] ^ tables[6][(w >> 8) & 0xff] ^ tables[5][(w >> 16) & 0xff] ^
                tables[4][(w >> 24) & 0xff] ^ tables[3][(w >> 32) & 0xff] ^
                tables[2][(w >> 40) & 0xff] ^ tables[1][(w >> 48) & 0xff] ^ tables[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n-- > 0) state = tables[0][(state ^ *p++) & 0xff] ^ (state >> 8);
    return state;
}

#ifdef RUNNEL_CRC32C_X86

// x^n mod P in the reflected representation (bit 31 is x^0): multiplying by x is a right shift,
// reducing when x^32 falls out of the low bit.
constexpr uint32_t xpow_mod(uint32_t n) {
    uint32_t r = 0x80000000u;
    while (n-- > 0) r = (r & 1u) ? (r >> 1) ^ poly : r >> 1;
    return r;
}

// The three streams are combined by advancing a register over `block` zero bytes:
// r * x^(8*block) mod P. clmul(r, K) fed through crc32_u64 yields r * K * x^33 mod P (the product
// lands one bit low in the 64-bit word and crc32_u64 multiplies by x^32), hence K = x^(8*block-33).
constexpr size_t long_block = 4096;
constexpr size_t short_block = 256;
constexpr uint32_t long_shift = xpow_mod(8 * long_block - 33);
constexpr uint32_t short_shift = xpow_mod(8 * short_block - 33);

__attribute__((target("sse4.2,pclmul"))) inline uint32_t shift_register(uint32_t r, uint32_t k) {
    __m128i product = _mm_clmulepi64_si128(_mm_cvtsi32_si128(static_cast<int>(r)),
                                           _mm_cvtsi32_si128(static_cast<int>(k)), 0x00);
    return static_cast<uint32_t>(
        _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(product))));
}

// Runs three independent crc32 chains (the instruction has latency 3, throughput 1) over
// consecutive blocks of `block` bytes, then folds them together.
template <size_t block>
__attribute__((target("sse4.2,pclmul"))) inline uint64_t three_way(uint64_t c0, const uint8_t*& p,
                                                                   size_t& n, uint32_t k) {
    while (n >= 3 * block) {
        uint64_t c1 = 0;
        uint64_t c2 = 0;
        const uint8_t* end = p + block;
        do {
            c0 = _mm_crc32_u64(c0, load_u64(p));
            c1 = _mm_crc32_u64(c1, load_u64(p + block));
            c2 = _mm_crc32_u64(c2, load_u64(p + 2 * block));
            p += 8;
        } while (p < end);
        c0 = shift_register(static_cast<uint32_t>(c0), k) ^ c1;
        c0 = shift_register(static_cast<uint32_t>(c0), k) ^ c2;
        p += 2 * block;
        n -= 3 * block;
    }
    return c0;
}

__attribute__((target("sse4.2,pclmul"))) uint32_t hardware_crc(const void* data, size_t n,
                                                               uint32_t crc) {
    auto* p = static_cast<const uint8_t*>(data);
    uint64_t c = ~crc;
    while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
        c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
        --n;
    }
    c = three_way<long_block>(c, p, n, long_shift);
    c = three_way<short_block>(c, p, n, short_shift);
    while (n >= 8) {
        c = _mm_crc32_u64(c, load_u64(p));
        p += 8;
        n -= 8;
    }
    while (n-- > 0) c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
    return ~static_cast<uint32_t>(c);
}

#endif  // RUNNEL_CRC32C_X86

using crc_fn = uint32_t (*)(const void*, size_t, uint32_t);

crc_fn choose_implementation() {
#ifdef RUNNEL_CRC32C_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul")) return hardware_crc;
#endif
    return crc32c_portable;
}

// Function-local so callers running during static initialisation still get a valid pointer.
crc_fn implementation() {
    static const crc_fn fn = choose_implementation();
    return fn;
}

}  // namespace

uint32_t crc32c_portable(const void* data, size_t n, uint32_t crc) {
    return ~portable_update(~crc, static_cast<const uint8_t*>(data), n);
}

uint32_t crc32c(const void* data, size_t n, uint32_t crc) { return implementation()(data, n, crc); }

bool crc32c_hardware_accelerated() { return implementation() != crc32c_portable; }

}  // namespace runnel::protocol
