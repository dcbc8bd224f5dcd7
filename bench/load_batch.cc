#include "bench/load_batch.h"

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

#include "protocol/crc32c.h"
#include "protocol/record_batch.h"

namespace runnel::bench {

namespace L = protocol::batch_layout;

namespace {

// xorshift: values that do not compress or repeat, without a dependency.
std::string pseudo_random_bytes(size_t n, uint64_t& state) {
    std::string s(n, '\0');
    for (auto& c : s) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        c = static_cast<char>(state);
    }
    return s;
}

}  // namespace

load_batch build_load_batch(int records, int value_bytes) {
    if (records < 1 || value_bytes < 8)
        throw std::invalid_argument("a load batch needs records >= 1 and values of >= 8 bytes");
    using namespace std::chrono;
    const int64_t now_ms =
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    std::vector<protocol::record_input> inputs(static_cast<size_t>(records));
    for (auto& r : inputs) {
        r.value = pseudo_random_bytes(static_cast<size_t>(value_bytes), state);
        r.timestamp = now_ms;
    }
    load_batch b{protocol::build_batch({}, inputs), 0};
    protocol::for_each_record(
        b.bytes,
        [&](const protocol::record& r) {
            b.send_time_at = static_cast<size_t>(r.value->data() - b.bytes.data());
            return false;
        },
        nullptr);
    return b;
}

void stamp_send_time(std::span<uint8_t> batch, size_t send_time_at, int64_t send_ns) {
    std::memcpy(batch.data() + send_time_at, &send_ns, sizeof send_ns);
    L::store_i32(batch.data() + L::crc,
                 static_cast<int32_t>(
                     protocol::crc32c(batch.data() + L::attributes, batch.size() - L::attributes)));
}

int64_t stamped_send_time(std::span<const uint8_t> batch) {
    int64_t send_ns = -1;
    protocol::for_each_record(
        batch,
        [&](const protocol::record& r) {
            if (r.value && r.value->size() >= sizeof send_ns)
                std::memcpy(&send_ns, r.value->data(), sizeof send_ns);
            return false;
        },
        nullptr);
    return send_ns;
}

}  // namespace runnel::bench
