#include "server/controller/replica_assignment.h"

#include <cstddef>

namespace runnel::server {

std::vector<std::vector<int32_t>> assign_replicas(const std::vector<int32_t>& brokers,
                                                  int32_t partitions, int32_t replication_factor,
                                                  uint32_t start, uint32_t shift,
                                                  int32_t first_partition) {
    const auto n = static_cast<uint32_t>(brokers.size());
    std::vector<std::vector<int32_t>> out;
    out.reserve(static_cast<size_t>(partitions));
    const uint32_t first_index = start % n;
    uint32_t next_shift = shift % n;
    const auto from = static_cast<uint32_t>(first_partition);
    for (uint32_t p = from; p < from + static_cast<uint32_t>(partitions); ++p) {
        if (p > 0 && p % n == 0) ++next_shift;
        const uint32_t first = (p + first_index) % n;
        std::vector<int32_t> replicas{brokers[first]};
        for (uint32_t j = 0; j + 1 < static_cast<uint32_t>(replication_factor); ++j) {
            // The followers skip the leader: 1 + (shift + j) mod (n - 1) places after it.
            const uint32_t at = (first + 1 + (next_shift + j) % (n - 1)) % n;
            replicas.push_back(brokers[at]);
        }
        out.push_back(std::move(replicas));
    }
    return out;
}

}  // namespace runnel::server
