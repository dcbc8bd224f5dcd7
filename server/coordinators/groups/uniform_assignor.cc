// Sticky and balanced: (1) every partition stays with its current owner if that member still
// subscribes to its topic; (2) unowned partitions go to the least loaded subscriber; (3) while a
// member holds two or more partitions more than another member that could take one of them, the
// partition moves. Ties break by member id, partitions are visited in (topic, partition) order,
// so the result is deterministic.
#include <algorithm>

#include "server/coordinators/groups/assignor.h"

namespace runnel::server::groups {

namespace {

using tp = std::pair<std::string, int32_t>;

}  // namespace

assignment_map uniform_assign(const assignor_input& in) {
    std::map<std::string, std::set<tp>> owned;  // member → partitions
    for (const auto& [id, m] : in.members) owned[id];
    std::map<tp, std::string> owner;

    auto subscribers = [&](const std::string& topic) {
        std::vector<std::string> subs;
        for (const auto& [id, m] : in.members) {
            if (m.subscribed_topics.count(topic)) subs.push_back(id);
        }
        return subs;
    };

    // (1) stickiness
    for (const auto& [id, m] : in.members) {
        for (const auto& [topic, parts] : m.current) {
            auto t = in.topics.find(topic);
            if (t == in.topics.end() || !m.subscribed_topics.count(topic)) continue;
            for (int32_t p : parts) {
                if (p < 0 || p >= t->second) continue;
                tp key{topic, p};
                if (owner.count(key)) continue;  // claimed twice: first member (by id) keeps it
                owner[key] = id;
                owned[id].insert(key);
            }
        }
    }
    // (2) the rest to the least loaded subscriber
    for (const auto& [topic, count] : in.topics) {
        auto subs = subscribers(topic);
        if (subs.empty()) continue;
        for (int32_t p = 0; p < count; ++p) {
            tp key{topic, p};
            if (owner.count(key)) continue;
            const std::string* best = nullptr;
            for (const auto& s : subs) {
                if (!best || owned[s].size() < owned[*best].size()) best = &s;
            }
            owner[key] = *best;
            owned[*best].insert(key);
        }
    }
    // (3) balance
    for (bool moved = true; moved;) {
        moved = false;
        // Most loaded members first; give their highest partitions to the least loaded eligible.
        std::vector<std::string> ids;
        for (const auto& [id, s] : owned) ids.push_back(id);
        std::stable_sort(ids.begin(), ids.end(), [&](const auto& a, const auto& b) {
            return owned[a].size() > owned[b].size();
        });
        for (const auto& from : ids) {
            for (auto it = owned[from].rbegin(); it != owned[from].rend(); ++it) {
                const tp key = *it;
                const std::string* best = nullptr;
                for (const auto& [id, m] : in.members) {
                    if (id == from || !m.subscribed_topics.count(key.first)) continue;
                    if (owned[id].size() + 1 >= owned[from].size()) continue;
                    if (!best || owned[id].size() < owned[*best].size()) best = &id;
                }
                if (best) {
                    owned[from].erase(key);
                    owned[*best].insert(key);
                    owner[key] = *best;
                    moved = true;
                    break;  // `it` is invalid now
                }
            }
            if (moved) break;
        }
    }
    assignment_map out;
    for (const auto& [id, m] : in.members) out[id];
    for (const auto& [id, parts] : owned) {
        for (const auto& [topic, p] : parts) out[id][topic].insert(p);
    }
    return out;
}

}  // namespace runnel::server::groups
