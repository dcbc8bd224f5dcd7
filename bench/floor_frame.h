// The floor's wire format, the least a produce path has to carry: a frame is a big-endian uint32
// payload length, the payload's CRC-32C, then the payload. The receiver acknowledges every frame,
// once it is in the page cache, with a size-prefixed 4-byte frame holding the frame's number.
#pragma once

#include <cstddef>

namespace runnel::bench::floor_frame {

inline constexpr size_t header_size = 8;
inline constexpr size_t crc_at = 4;
inline constexpr size_t ack_size = 8;

}  // namespace runnel::bench::floor_frame
