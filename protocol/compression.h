// Record batch compression codecs, in the formats Kafka clients write and read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace runnel::protocol {

// Values of attribute bits 0-2 of a record batch.
enum class compression_codec : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

// Decompresses `in` into `out` (replacing its contents). Returns false on corrupt or truncated
// input, or when the output would exceed `max_out` bytes; `out` never grows beyond `max_out`
// bytes and its contents are unspecified after a failure. Accepted formats:
//   gzip   - gzip (what Kafka writes) or zlib streams; concatenated members are joined.
//   snappy - xerial/snappy-java framing (magic, version, compatible version, then blocks of
//            [int32 big-endian length][raw snappy block]) or a single raw snappy block.
//   lz4    - LZ4 frame format; concatenated frames are joined.
//   zstd   - one or more zstd frames, with or without a content size.
//   none   - copied unchanged.
bool decompress(compression_codec codec, std::span<const uint8_t> in, std::vector<uint8_t>& out,
                size_t max_out);

// Compresses as Kafka writes each codec: gzip (level 6 by default), snappy in xerial framing with
// 32 KiB blocks, lz4 frame with independent 64 KiB blocks and no content size/checksum (as the
// Java client), zstd (level 3 by default). `none` copies. `level` is a topic's
// compression.<codec>.level (KIP-390), nullopt for the codec's default: gzip 1-9 (-1: default),
// lz4 1-17 (the default 9: the fast compressor, any other: LZ4 HC at that level, within liblz4's
// 3-12), zstd as zstd numbers them; snappy has none.
std::vector<uint8_t> compress(compression_codec codec, std::span<const uint8_t> in,
                              std::optional<int32_t> level = std::nullopt);

}  // namespace runnel::protocol
