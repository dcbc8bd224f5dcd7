#include "server/controller/reassignment.h"

#include <algorithm>

namespace runnel::server {

namespace {

bool has(const std::vector<int32_t>& v, int32_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

std::vector<int32_t> without(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    std::vector<int32_t> out;
    for (int32_t x : a) {
        if (!has(b, x)) out.push_back(x);
    }
    return out;
}

partition_move start_move(const std::vector<int32_t>& original,
                          const std::vector<int32_t>& target) {
    partition_move m;
    m.adding = without(target, original);
    m.removing = without(original, target);
    m.replicas = target;
    for (int32_t b : m.removing) m.replicas.push_back(b);
    return m;
}

std::optional<zookeeper::partition_state> cut_to(const std::vector<int32_t>& keep,
                                                 const zookeeper::partition_state& current,
                                                 const std::set<int32_t>& electable,
                                                 int32_t controller_epoch) {
    zookeeper::partition_state next = current;
    next.isr.clear();
    for (int32_t b : current.isr) {
        if (has(keep, b)) next.isr.push_back(b);
    }
    const bool leader_stays = has(keep, current.leader) && electable.contains(current.leader) &&
                              has(next.isr, current.leader);
    if (!leader_stays) {
        next.leader = -1;
        for (int32_t b : keep) {
            if (electable.contains(b) && has(next.isr, b)) {
                next.leader = b;
                break;
            }
        }
        if (next.leader < 0) return std::nullopt;
    }
    next.leader_epoch = current.leader_epoch + 1;
    next.controller_epoch = controller_epoch;
    next.recovering = false;
    return next;
}

bool caught_up(const std::vector<int32_t>& target, const zookeeper::partition_state& current) {
    return std::all_of(target.begin(), target.end(),
                       [&current](int32_t b) { return has(current.isr, b); });
}

}  // namespace runnel::server
