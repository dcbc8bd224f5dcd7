#include "server/cluster/default_partitioner.h"

namespace runnel::server {

int32_t kafka_murmur2(std::string_view bytes) {
    constexpr uint32_t seed = 0x9747b28c, m = 0x5bd1e995;
    constexpr int r = 24;
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    const size_t length = bytes.size();
    uint32_t h = seed ^ static_cast<uint32_t>(length);
    size_t i = 0;
    for (; i + 4 <= length; i += 4) {
        uint32_t k = data[i] | (uint32_t{data[i + 1]} << 8) | (uint32_t{data[i + 2]} << 16) |
                     (uint32_t{data[i + 3]} << 24);
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (length - i) {
        case 3:
            h ^= uint32_t{data[i + 2]} << 16;
            [[fallthrough]];
        case 2:
            h ^= uint32_t{data[i + 1]} << 8;
            [[fallthrough]];
        case 1:
            h ^= data[i];
            h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return static_cast<int32_t>(h);
}

int32_t partition_for_key(std::string_view key, int32_t partitions) {
    return static_cast<int32_t>((kafka_murmur2(key) & 0x7fffffff) % partitions);
}

}  // namespace runnel::server
