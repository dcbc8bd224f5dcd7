// Reads size-prefixed frames (a big-endian int32 length, then that many bytes: Kafka responses,
// the floor's acks) from a blocking socket through one buffer, so small responses cost one recv
// for many and a large Fetch response is read in big pieces.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace runnel::bench {

class frame_reader {
  public:
    explicit frame_reader(int fd) : fd_(fd), buf_(256 * 1024) {}

    // The next frame's bytes after its length, valid until the next call; nullopt when nothing
    // arrived within `timeout_ns` (negative: wait as long as it takes). Once part of a frame is
    // in, waits for the rest. Throws std::runtime_error at end of stream.
    std::optional<std::span<const uint8_t>> next(int64_t timeout_ns = -1);

  private:
    int fd_;
    std::vector<uint8_t> buf_;
    size_t begin_ = 0, end_ = 0;
};

}  // namespace runnel::bench
