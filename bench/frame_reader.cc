#include "bench/frame_reader.h"

#include <cstring>
#include <stdexcept>

#include "bench/socket_io.h"
#include "protocol/record_batch_header.h"

namespace runnel::bench {

namespace {
// Below this much free space at the end the buffer is compacted before a recv, so reads stay big.
constexpr size_t min_read = 64 * 1024;
}  // namespace

std::optional<std::span<const uint8_t>> frame_reader::next(int64_t timeout_ns) {
    for (;;) {
        size_t have = end_ - begin_;
        size_t needed = 4;
        if (have >= 4) {
            auto length = protocol::batch_layout::load_i32(buf_.data() + begin_);
            if (length < 0) throw std::runtime_error("negative frame length");
            needed += static_cast<size_t>(length);
            if (have >= needed) {
                std::span<const uint8_t> frame(buf_.data() + begin_ + 4, needed - 4);
                begin_ += needed;
                return frame;
            }
        }
        if (begin_ > 0 && (begin_ + needed > buf_.size() || buf_.size() - end_ < min_read)) {
            std::memmove(buf_.data(), buf_.data() + begin_, have);
            begin_ = 0;
            end_ = have;
        }
        if (needed > buf_.size()) buf_.resize(needed);
        if (have == 0 && timeout_ns >= 0 && !wait_readable(fd_, timeout_ns)) return std::nullopt;
        size_t n = read_some(fd_, buf_.data() + end_, buf_.size() - end_);
        if (n == 0) throw std::runtime_error("connection closed by the peer");
        end_ += n;
    }
}

}  // namespace runnel::bench
