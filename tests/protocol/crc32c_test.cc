#include "protocol/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace runnel::protocol {
namespace {

uint32_t crc_of(const std::string& s) { return crc32c(s.data(), s.size()); }

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
}

TEST(Crc32c, KnownVectors) {
    EXPECT_EQ(crc_of("123456789"), 0xE3069283u);
    EXPECT_EQ(crc_of(""), 0u);
    EXPECT_EQ(crc_of("a"), 0xC1D04330u);
    EXPECT_EQ(crc_of("The quick brown fox jumps over the lazy dog"), 0x22620404u);

    // RFC 3720 (iSCSI) appendix B.4.
    uint8_t buf[32];
    std::memset(buf, 0, sizeof(buf));
    EXPECT_EQ(crc32c(buf, sizeof(buf)), 0x8A9136AAu);
    std::memset(buf, 0xff, sizeof(buf));
    EXPECT_EQ(crc32c(buf, sizeof(buf)), 0x62A8AB43u);
    for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
    EXPECT_EQ(crc32c(buf, sizeof(buf)), 0x46DD794Eu);
    for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
    EXPECT_EQ(crc32c(buf, sizeof(buf)), 0x113FDB5Cu);
}

TEST(Crc32c, PortableKnownVectors) {
    EXPECT_EQ(crc32c_portable("123456789", 9), 0xE3069283u);
    EXPECT_EQ(crc32c_portable("", 0), 0u);
    uint8_t zeros[32] = {};
    EXPECT_EQ(crc32c_portable(zeros, sizeof(zeros)), 0x8A9136AAu);
}

TEST(Crc32c, ReportsImplementation) {
    // Informational: the hardware path is what production machines use.
    if (!crc32c_hardware_accelerated()) GTEST_SKIP() << "no SSE4.2/PCLMUL on this CPU";
    SUCCEED();
}

TEST(Crc32c, IncrementalEqualsWhole) {
    auto data = random_bytes(5000, 1);
    uint32_t whole = crc32c(data.data(), data.size());
    for (size_t split = 0; split <= data.size(); split += (split < 64 ? 1 : 97)) {
        uint32_t first = crc32c(data.data(), split);
        EXPECT_EQ(crc32c(data.data() + split, data.size() - split, first), whole) << split;
        uint32_t first_p = crc32c_portable(data.data(), split);
        EXPECT_EQ(crc32c_portable(data.data() + split, data.size() - split, first_p), whole)
            << split;
    }
    // Byte at a time.
    uint32_t crc = 0;
    for (uint8_t b : data) crc = crc32c(&b, 1, crc);
    EXPECT_EQ(crc, whole);
}

TEST(Crc32c, MatchesPortableAcrossLengthsAndAlignments) {
    auto data = random_bytes(200000 + 64, 2);
    std::vector<size_t> lengths;
    for (size_t n = 0; n <= 2100; ++n) lengths.push_back(n);
    // Around the 3-way block boundaries (3 x 256 and 3 x 4096) and beyond.
    for (size_t base : {767u, 768u, 769u, 1535u, 1536u, 12287u, 12288u, 12289u, 13056u, 24576u,
                        65536u, 100003u, 200000u}) {
        for (size_t d = 0; d < 9; ++d) lengths.push_back(base + d);
    }
    for (size_t n : lengths) {
        for (size_t align = 0; align < 16; ++align) {
            if (align + n > data.size()) continue;
            const uint8_t* p = data.data() + align;
            ASSERT_EQ(crc32c(p, n), crc32c_portable(p, n)) << "n=" << n << " align=" << align;
            ASSERT_EQ(crc32c(p, n, 0x12345678u), crc32c_portable(p, n, 0x12345678u))
                << "n=" << n << " align=" << align;
        }
    }
}

TEST(Crc32c, DetectsSingleBitFlips) {
    auto data = random_bytes(20000, 3);
    uint32_t good = crc32c(data.data(), data.size());
    for (size_t pos : {0u, 1u, 7u, 255u, 4095u, 4096u, 8191u, 12288u, 19999u}) {
        data[pos] ^= 0x10;
        EXPECT_NE(crc32c(data.data(), data.size()), good) << pos;
        data[pos] ^= 0x10;
    }
}

}  // namespace
}  // namespace runnel::protocol
