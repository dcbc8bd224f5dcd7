#include "server/controller/replica_assignment.h"

#include <cstddef>
#include <set>

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

std::vector<int32_t> rack_alternated_brokers(const std::map<int32_t, std::string>& racks) {
    std::map<std::string, std::vector<int32_t>> by_rack;  // racks by name, ids in order
    for (const auto& [id, rack] : racks) by_rack[rack].push_back(id);
    std::vector<int32_t> out;
    for (size_t round = 0; out.size() < racks.size(); ++round) {
        for (const auto& [rack, ids] : by_rack) {
            if (round < ids.size()) out.push_back(ids[round]);
        }
    }
    return out;
}

std::vector<std::vector<int32_t>> assign_replicas_rack_aware(
    const std::map<int32_t, std::string>& racks, int32_t partitions, int32_t replication_factor,
    uint32_t start, uint32_t shift, int32_t first_partition) {
    const std::vector<int32_t> brokers = rack_alternated_brokers(racks);
    std::set<std::string> all_racks;
    for (const auto& [id, rack] : racks) all_racks.insert(rack);
    const auto n = static_cast<uint32_t>(brokers.size());
    const auto rack_count = static_cast<uint32_t>(all_racks.size());
    std::vector<std::vector<int32_t>> out;
    out.reserve(static_cast<size_t>(partitions));
    const uint32_t first_index = start % n;
    uint32_t next_shift = shift % n;
    const auto from = static_cast<uint32_t>(first_partition);
    for (uint32_t p = from; p < from + static_cast<uint32_t>(partitions); ++p) {
        if (p > 0 && p % n == 0) ++next_shift;
        const uint32_t first = (p + first_index) % n;
        const int32_t leader = brokers[first];
        std::vector<int32_t> replicas{leader};
        std::set<std::string> racks_used{racks.at(leader)};
        std::set<int32_t> brokers_used{leader};
        uint32_t k = 0;
        while (replicas.size() < static_cast<size_t>(replication_factor)) {
            // Kafka's replicaIndex with the shift scaled by the rack count.
            const uint32_t at = (first + 1 + (next_shift * rack_count + k) % (n - 1)) % n;
            ++k;
            const int32_t b = brokers[at];
            const std::string& rack = racks.at(b);
            // Skipped while a rack or a broker without a replica of this partition remains.
            if (racks_used.contains(rack) && racks_used.size() < rack_count) continue;
            if (brokers_used.contains(b) && brokers_used.size() < n) continue;
            replicas.push_back(b);
            racks_used.insert(rack);
            brokers_used.insert(b);
        }
        out.push_back(std::move(replicas));
    }
    return out;
}

}  // namespace runnel::server
