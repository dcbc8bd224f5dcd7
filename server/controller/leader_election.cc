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

requested_election elect(const std::vector<int32_t>& replicas,
                         const zookeeper::partition_state& current, const std::set<int32_t>& live,
                         bool unclean, int32_t controller_epoch) {
    using protocol::error_code;
    requested_election out;
    if (!unclean) {
        const int32_t preferred = replicas.empty() ? -1 : replicas.front();
        if (preferred >= 0 && current.leader == preferred) {
            out.error = error_code::election_not_needed;
            return out;
        }
        const bool in_isr =
            std::find(current.isr.begin(), current.isr.end(), preferred) != current.isr.end();
        if (preferred < 0 || !live.contains(preferred) || !in_isr) {
            out.error = error_code::preferred_leader_not_available;
            return out;
        }
        zookeeper::partition_state next = current;
        next.leader = preferred;
        next.leader_epoch = current.leader_epoch + 1;
        next.controller_epoch = controller_epoch;
        out.next = next;
        return out;
    }
    if (current.leader >= 0 && live.contains(current.leader)) {
        out.error = error_code::election_not_needed;
        return out;
    }
    out.next = after_brokers_changed(replicas, current, live, true, controller_epoch);
    if (!out.next || out.next->leader < 0) {
        out.next.reset();
        out.error = error_code::eligible_leaders_not_available;
    }
    return out;
}

}  // namespace runnel::server
