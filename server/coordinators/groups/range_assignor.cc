#include "server/coordinators/groups/assignor.h"

namespace runnel::server::groups {

assignment_map range_assign(const assignor_input& in) {
    assignment_map out;
    for (const auto& [id, m] : in.members) out[id];
    for (const auto& [topic, count] : in.topics) {
        std::vector<std::string> subs;  // sorted: members is an ordered map
        for (const auto& [id, m] : in.members) {
            if (m.subscribed_topics.count(topic)) subs.push_back(id);
        }
        if (subs.empty() || count <= 0) continue;
        const int32_t n = static_cast<int32_t>(subs.size());
        const int32_t base = count / n, extra = count % n;
        int32_t next = 0;
        for (int32_t i = 0; i < n; ++i) {
            const int32_t take = base + (i < extra ? 1 : 0);
            for (int32_t k = 0; k < take; ++k) out[subs[i]][topic].insert(next++);
        }
    }
    return out;
}

}  // namespace runnel::server::groups
