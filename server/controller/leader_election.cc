#include "server/controller/leader_election.h"

namespace runnel::server {

std::optional<zookeeper::partition_state> initial_partition_state(
    const std::vector<int32_t>& replicas, const std::set<int32_t>& live, int32_t controller_epoch) {
    zookeeper::partition_state s;
    for (int32_t r : replicas) {
        if (live.contains(r)) s.isr.push_back(r);
    }
    if (s.isr.empty()) return std::nullopt;
    s.leader = s.isr.front();
    s.leader_epoch = 0;
    s.controller_epoch = controller_epoch;
    return s;
}

}  // namespace runnel::server
