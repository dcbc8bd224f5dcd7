#include "server/controller/leader_election.h"

#include <algorithm>

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

std::optional<zookeeper::partition_state> after_brokers_changed(
    const std::vector<int32_t>& replicas, const zookeeper::partition_state& current,
    const std::set<int32_t>& live, bool unclean, int32_t controller_epoch) {
    std::vector<int32_t> live_isr;
    for (int32_t b : current.isr) {
        if (live.contains(b)) live_isr.push_back(b);
    }
    zookeeper::partition_state next = current;
    next.controller_epoch = controller_epoch;
    next.leader_epoch = current.leader_epoch + 1;
    if (current.leader >= 0 && live.contains(current.leader)) {
        if (live_isr.size() == current.isr.size()) return std::nullopt;
        next.isr = live_isr;
        return next;
    }
    for (int32_t r : replicas) {
        if (live.contains(r) && std::find(live_isr.begin(), live_isr.end(), r) != live_isr.end()) {
            next.leader = r;
            next.isr = live_isr;
            next.recovering = false;
            return next;
        }
    }
    if (unclean) {
        for (int32_t r : replicas) {
            if (!live.contains(r)) continue;
            next.leader = r;
            next.isr = {r};
            next.recovering = false;
            return next;
        }
    }
    if (current.leader < 0) return std::nullopt;  // already without a leader
    next.leader = -1;
    next.isr = current.isr;
    return next;
}

}  // namespace runnel::server
