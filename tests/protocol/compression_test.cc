#include "protocol/compression.h"

#include <gtest/gtest.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace runnel::protocol {
namespace {

constexpr compression_codec all_codecs[] = {compression_codec::gzip, compression_codec::snappy,
                                            compression_codec::lz4, compression_codec::zstd};

constexpr size_t big = size_t{1} << 30;

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
}

// Text-like data that compresses well.
std::vector<uint8_t> compressible(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    static const char* words[] = {"kafka", "record", "batch", "offset", "{\"id\":", "value", ", "};
    std::vector<uint8_t> v;
    v.reserve(n);
    while (v.size() < n) {
        const char* w = words[rng() % 7];
        for (const char* c = w; *c && v.size() < n; ++c) v.push_back(static_cast<uint8_t>(*c));
    }
    return v;
}

std::string name(compression_codec c) {
    switch (c) {
        case compression_codec::none:
            return "none";
        case compression_codec::gzip:
            return "gzip";
        case compression_codec::snappy:
            return "snappy";
        case compression_codec::lz4:
            return "lz4";
        case compression_codec::zstd:
            return "zstd";
    }
    return "?";
}

TEST(Compression, RoundTripsEveryCodec) {
    for (auto codec : all_codecs) {
        for (size_t n : {0u, 1u, 100u, 32768u, 32769u, 65536u, 100000u, 1u << 20}) {
            for (int kind = 0; kind < 2; ++kind) {
                auto data = kind == 0 ? random_bytes(n, 7) : compressible(n, 7);
                auto packed = compress(codec, data);
                ASSERT_FALSE(packed.empty()) << name(codec) << " n=" << n;
                std::vector<uint8_t> out;
                ASSERT_TRUE(decompress(codec, packed, out, big)) << name(codec) << " n=" << n;
                EXPECT_EQ(out, data) << name(codec) << " n=" << n;
                if (kind == 1 && n >= 65536) {
                    EXPECT_LT(packed.size(), n / 2) << name(codec);
                }
            }
        }
    }
}

// A topic's compression.<codec>.level (KIP-390) reaches the codec: higher levels give smaller
// output on text with structure, and every level's output reads back.
TEST(Compression, LevelsChangeTheOutputAndAllDecode) {
    std::string text;
    uint32_t x = 12345;
    const char* words[] = {"kafka ", "broker ", "record ", "batch ", "offset ", "segment "};
    while (text.size() < 256 * 1024) {
        x = x * 1103515245 + 12345;
        text += words[(x >> 16) % 6];
        text += std::to_string((x >> 8) % 1000);
    }
    std::span<const uint8_t> in(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    struct levels {
        compression_codec codec;
        int32_t low, high;
    };
    for (auto [codec, low, high] :
         {levels{compression_codec::gzip, 1, 9}, levels{compression_codec::lz4, 9, 17},
          levels{compression_codec::zstd, 1, 19}}) {
        auto fast = compress(codec, in, low);
        auto small = compress(codec, in, high);
        EXPECT_LT(small.size(), fast.size()) << static_cast<int>(codec);
        for (const auto& out : {fast, small}) {
            std::vector<uint8_t> back;
            ASSERT_TRUE(decompress(codec, out, back, text.size()));
            EXPECT_EQ(std::string(back.begin(), back.end()), text);
        }
    }
    // Kafka's defaults are what no level means: gzip -1, lz4 9, zstd 3.
    EXPECT_EQ(compress(compression_codec::gzip, in, -1), compress(compression_codec::gzip, in));
    EXPECT_EQ(compress(compression_codec::lz4, in, 9), compress(compression_codec::lz4, in));
    EXPECT_EQ(compress(compression_codec::zstd, in, 3), compress(compression_codec::zstd, in));
}

TEST(Compression, NoneCopiesAndRespectsLimit) {
    auto data = random_bytes(100, 1);
    std::vector<uint8_t> out;
    EXPECT_TRUE(decompress(compression_codec::none, data, out, 100));
    EXPECT_EQ(out, data);
    EXPECT_FALSE(decompress(compression_codec::none, data, out, 99));
    EXPECT_EQ(compress(compression_codec::none, data), data);
}

TEST(Compression, WritesTheFormatsKafkaClientsRead) {
    auto data = compressible(100000, 3);
    auto gz = compress(compression_codec::gzip, data);
    ASSERT_GE(gz.size(), 2u);
    EXPECT_EQ(gz[0], 0x1f);
    EXPECT_EQ(gz[1], 0x8b);

    // xerial framing: magic, version 1, compatible 1, then [int32 BE length][snappy block] with
    // 32 KiB blocks.
    auto sn = compress(compression_codec::snappy, data);
    const uint8_t header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
    ASSERT_GE(sn.size(), 16u);
    EXPECT_EQ(std::memcmp(sn.data(), header, 16), 0);
    size_t pos = 16;
    size_t blocks = 0;
    while (pos < sn.size()) {
        ASSERT_LE(pos + 4, sn.size());
        uint32_t len = (uint32_t{sn[pos]} << 24) | (uint32_t{sn[pos + 1]} << 16) |
                       (uint32_t{sn[pos + 2]} << 8) | sn[pos + 3];
        pos += 4;
        ASSERT_LE(pos + len, sn.size());
        size_t raw = 0;
        ASSERT_EQ(
            snappy_uncompressed_length(reinterpret_cast<const char*>(sn.data() + pos), len, &raw),
            SNAPPY_OK);
        EXPECT_LE(raw, 32768u);
        pos += len;
        ++blocks;
    }
    EXPECT_EQ(blocks, (data.size() + 32767) / 32768);

    // LZ4 frame: magic 0x184D2204 (little-endian), FLG version 01 with independent blocks and
    // no dictionary id (Kafka's reader rejects the others), BD 64 KiB.
    auto lz = compress(compression_codec::lz4, data);
    ASSERT_GE(lz.size(), 7u);
    EXPECT_EQ(lz[0], 0x04);
    EXPECT_EQ(lz[1], 0x22);
    EXPECT_EQ(lz[2], 0x4d);
    EXPECT_EQ(lz[3], 0x18);
    uint8_t flg = lz[4];
    EXPECT_EQ(flg >> 6, 1);          // version
    EXPECT_EQ((flg >> 5) & 1, 1);    // block independence
    EXPECT_EQ(flg & 3, 0);           // reserved / dictionary id
    EXPECT_EQ((lz[5] >> 4) & 7, 4);  // 64 KiB blocks

    auto zs = compress(compression_codec::zstd, data);
    ASSERT_GE(zs.size(), 4u);
    EXPECT_EQ(zs[0], 0x28);
    EXPECT_EQ(zs[1], 0xb5);
    EXPECT_EQ(zs[2], 0x2f);
    EXPECT_EQ(zs[3], 0xfd);
}

TEST(Compression, AcceptsRawSnappy) {
    auto data = compressible(50000, 4);
    std::vector<uint8_t> raw(snappy_max_compressed_length(data.size()));
    size_t n = raw.size();
    ASSERT_EQ(snappy_compress(reinterpret_cast<const char*>(data.data()), data.size(),
                              reinterpret_cast<char*>(raw.data()), &n),
              SNAPPY_OK);
    raw.resize(n);
    std::vector<uint8_t> out;
    ASSERT_TRUE(decompress(compression_codec::snappy, raw, out, big));
    EXPECT_EQ(out, data);
    EXPECT_FALSE(decompress(compression_codec::snappy, raw, out, data.size() - 1));
    EXPECT_LE(out.capacity(), data.size());
}

TEST(Compression, AcceptsConcatenatedXerialStreams) {
    auto a = compressible(40000, 5);
    auto b = random_bytes(1000, 5);
    auto sa = compress(compression_codec::snappy, a);
    auto sb = compress(compression_codec::snappy, b);
    sa.insert(sa.end(), sb.begin(), sb.end());
    std::vector<uint8_t> out;
    ASSERT_TRUE(decompress(compression_codec::snappy, sa, out, big));
    auto both = a;
    both.insert(both.end(), b.begin(), b.end());
    EXPECT_EQ(out, both);
}

TEST(Compression, AcceptsZlibAndConcatenatedGzip) {
    auto data = compressible(30000, 6);
    std::vector<uint8_t> z(compressBound(data.size()));
    uLongf zn = z.size();
    ASSERT_EQ(compress2(z.data(), &zn, data.data(), data.size(), 6), Z_OK);
    z.resize(zn);
    std::vector<uint8_t> out;
    ASSERT_TRUE(decompress(compression_codec::gzip, z, out, big));
    EXPECT_EQ(out, data);

    auto g = compress(compression_codec::gzip, data);
    auto gg = g;
    gg.insert(gg.end(), g.begin(), g.end());
    ASSERT_TRUE(decompress(compression_codec::gzip, gg, out, big));
    auto twice = data;
    twice.insert(twice.end(), data.begin(), data.end());
    EXPECT_EQ(out, twice);

    // Trailing garbage after a member is rejected.
    g.push_back(0x00);
    g.push_back(0x01);
    EXPECT_FALSE(decompress(compression_codec::gzip, g, out, big));
}

TEST(Compression, AcceptsZstdWithoutContentSizeAndMultipleFrames) {
    auto data = compressible(300000, 8);
    // Streaming compression without a pledged size leaves the content size out, as zstd-jni does.
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    std::vector<uint8_t> packed(ZSTD_compressBound(data.size()) + 1024);
    ZSTD_outBuffer outb{packed.data(), packed.size(), 0};
    // Fed in pieces, as a stream writer would.
    for (size_t pos = 0; pos < data.size(); pos += 8192) {
        ZSTD_inBuffer in{data.data() + pos, std::min<size_t>(8192, data.size() - pos), 0};
        while (in.pos < in.size) {
            ASSERT_FALSE(ZSTD_isError(ZSTD_compressStream2(cctx, &outb, &in, ZSTD_e_continue)));
        }
    }
    ZSTD_inBuffer none{nullptr, 0, 0};
    size_t rc;
    do {
        rc = ZSTD_compressStream2(cctx, &outb, &none, ZSTD_e_end);
        ASSERT_FALSE(ZSTD_isError(rc));
    } while (rc != 0);
    ZSTD_freeCCtx(cctx);
    packed.resize(outb.pos);
    ASSERT_EQ(ZSTD_getFrameContentSize(packed.data(), packed.size()), ZSTD_CONTENTSIZE_UNKNOWN);

    std::vector<uint8_t> out;
    ASSERT_TRUE(decompress(compression_codec::zstd, packed, out, big));
    EXPECT_EQ(out, data);
    EXPECT_FALSE(decompress(compression_codec::zstd, packed, out, data.size() - 1));
    EXPECT_TRUE(decompress(compression_codec::zstd, packed, out, data.size()));
    EXPECT_EQ(out, data);

    auto framed = compress(compression_codec::zstd, data);  // has a content size
    auto two = framed;
    two.insert(two.end(), packed.begin(), packed.end());
    ASSERT_TRUE(decompress(compression_codec::zstd, two, out, big));
    ASSERT_EQ(out.size(), data.size() * 2);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), out.begin()));
    EXPECT_TRUE(std::equal(data.begin(), data.end(), out.begin() + data.size()));
}

TEST(Compression, AcceptsConcatenatedLz4Frames) {
    auto a = compressible(70000, 9);
    auto pa = compress(compression_codec::lz4, a);
    auto two = pa;
    two.insert(two.end(), pa.begin(), pa.end());
    std::vector<uint8_t> out;
    ASSERT_TRUE(decompress(compression_codec::lz4, two, out, big));
    EXPECT_EQ(out.size(), a.size() * 2);
}

TEST(Compression, EnforcesMaxOutWithoutOverAllocating) {
    for (auto codec : all_codecs) {
        auto data = compressible(200000, 10);
        auto packed = compress(codec, data);
        for (size_t limit : {size_t{0}, size_t{1}, size_t{4096}, data.size() - 1}) {
            std::vector<uint8_t> out;
            EXPECT_FALSE(decompress(codec, packed, out, limit)) << name(codec) << " " << limit;
            EXPECT_LE(out.capacity(), limit) << name(codec) << " " << limit;
        }
        std::vector<uint8_t> out;
        EXPECT_TRUE(decompress(codec, packed, out, data.size())) << name(codec);
        EXPECT_EQ(out, data);
        EXPECT_LE(out.capacity(), data.size()) << name(codec);
    }
}

TEST(Compression, RejectsZipBombsCheaply) {
    std::vector<uint8_t> zeros(16 << 20, 0);
    for (auto codec : all_codecs) {
        auto packed = compress(codec, zeros);
        std::vector<uint8_t> out;
        EXPECT_FALSE(decompress(codec, packed, out, 1 << 20)) << name(codec);
        EXPECT_LE(out.capacity(), size_t{1} << 20) << name(codec);
    }
}

TEST(Compression, RejectsEveryTruncation) {
    auto data = compressible(3000, 11);
    data.insert(data.end(), 2000, 'x');
    auto noise = random_bytes(1000, 11);
    data.insert(data.end(), noise.begin(), noise.end());
    for (auto codec : all_codecs) {
        auto packed = compress(codec, data);
        for (size_t n = 0; n < packed.size(); ++n) {
            std::vector<uint8_t> out;
            std::span<const uint8_t> prefix(packed.data(), n);
            bool ok = decompress(codec, prefix, out, big);
            if (codec == compression_codec::snappy && ok) {
                // A xerial stream cut at a block boundary is itself a valid, shorter stream.
                ASSERT_LE(out.size(), data.size());
                ASSERT_TRUE(std::equal(out.begin(), out.end(), data.begin())) << n;
                ASSERT_LT(out.size(), data.size()) << n;
            } else {
                ASSERT_FALSE(ok) << name(codec) << " accepted a prefix of " << n << " bytes";
            }
        }
    }
    // A single xerial block cut short, and raw snappy cut short.
    std::vector<uint8_t> raw(snappy_max_compressed_length(data.size()));
    size_t rn = raw.size();
    snappy_compress(reinterpret_cast<const char*>(data.data()), data.size(),
                    reinterpret_cast<char*>(raw.data()), &rn);
    for (size_t n = 0; n < rn; ++n) {
        std::vector<uint8_t> out;
        ASSERT_FALSE(decompress(compression_codec::snappy, std::span(raw.data(), n), out, big));
    }
}

TEST(Compression, SurvivesCorruption) {
    auto data = compressible(20000, 12);
    std::mt19937 rng(12);
    for (auto codec : all_codecs) {
        auto packed = compress(codec, data);
        for (int trial = 0; trial < 300; ++trial) {
            auto bad = packed;
            int flips = 1 + static_cast<int>(rng() % 4);
            for (int f = 0; f < flips; ++f)
                bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
            std::vector<uint8_t> out;
            // Whatever the verdict (a flipped literal can still decode), it must stay in bounds.
            if (decompress(codec, bad, out, 65536)) {
                EXPECT_LE(out.size(), 65536u);
            }
        }
    }
}

TEST(Compression, RejectsGarbage) {
    for (auto codec : all_codecs) {
        for (uint32_t seed = 0; seed < 50; ++seed) {
            auto junk = random_bytes(1 + seed * 13, seed);
            std::vector<uint8_t> out;
            EXPECT_FALSE(decompress(codec, junk, out, big)) << name(codec) << " " << seed;
        }
        std::vector<uint8_t> out;
        EXPECT_FALSE(decompress(codec, {}, out, big)) << name(codec);
    }
    // A xerial header claiming a block longer than the input.
    std::vector<uint8_t> sn = {0x82, 'S', 'N', 'A', 'P', 'P',  'Y',  0,    0,    0,   0,
                               1,    0,   0,   0,   1,   0x7f, 0xff, 0xff, 0xff, 0x00};
    std::vector<uint8_t> out;
    EXPECT_FALSE(decompress(compression_codec::snappy, sn, out, big));
    // Raw snappy claiming a 4 GiB output from 5 bytes.
    std::vector<uint8_t> claim = {0xff, 0xff, 0xff, 0xff, 0x0f};
    EXPECT_FALSE(decompress(compression_codec::snappy, claim, out, SIZE_MAX));
    EXPECT_LE(out.capacity(), 1024u);
}

TEST(Compression, ZstdClaimingHugeContentIsRejectedUpFront) {
    auto packed = compress(compression_codec::zstd, compressible(1000, 13));
    std::vector<uint8_t> out;
    EXPECT_FALSE(decompress(compression_codec::zstd, packed, out, 999));
    EXPECT_TRUE(decompress(compression_codec::zstd, packed, out, 1000));
}

}  // namespace
}  // namespace runnel::protocol
