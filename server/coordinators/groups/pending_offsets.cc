#include "server/coordinators/groups/pending_offsets.h"

namespace runnel::server::groups {

void pending_offsets::put(int64_t producer_id, const std::string& group, const std::string& topic,
                          int32_t partition, const offset_entry& e) {
    by_producer_[producer_id][group][topic][partition] = e;
    producers_by_group_[group].insert(producer_id);
}

pending_offsets::by_group pending_offsets::take(int64_t producer_id) {
    auto it = by_producer_.find(producer_id);
    if (it == by_producer_.end()) return {};
    by_group out = std::move(it->second);
    by_producer_.erase(it);
    for (const auto& [group, offsets] : out) {
        auto g = producers_by_group_.find(group);
        if (g == producers_by_group_.end()) continue;
        g->second.erase(producer_id);
        if (g->second.empty()) producers_by_group_.erase(g);
    }
    return out;
}

void pending_offsets::erase(const std::string& group, const std::string& topic, int32_t partition) {
    auto producers = producers_by_group_.find(group);
    if (producers == producers_by_group_.end()) return;
    for (int64_t pid : producers->second) {
        auto txn = by_producer_.find(pid);
        if (txn == by_producer_.end()) continue;
        auto g = txn->second.find(group);
        if (g == txn->second.end()) continue;
        auto t = g->second.find(topic);
        if (t == g->second.end()) continue;
        t->second.erase(partition);
        // The group's (maybe empty) entry stays: the producer remains one of the group's open
        // transactions until its marker, as in Kafka.
        if (t->second.empty()) g->second.erase(t);
    }
}

bool pending_offsets::has(const std::string& group, const std::string& topic,
                          int32_t partition) const {
    auto producers = producers_by_group_.find(group);
    if (producers == producers_by_group_.end()) return false;
    for (int64_t pid : producers->second) {
        if (find(pid, group, topic, partition)) return true;
    }
    return false;
}

std::set<std::pair<std::string, int32_t>> pending_offsets::partitions_of(
    const std::string& group) const {
    std::set<std::pair<std::string, int32_t>> out;
    auto producers = producers_by_group_.find(group);
    if (producers == producers_by_group_.end()) return out;
    for (int64_t pid : producers->second) {
        auto txn = by_producer_.find(pid);
        if (txn == by_producer_.end()) continue;
        auto g = txn->second.find(group);
        if (g == txn->second.end()) continue;
        for (const auto& [topic, parts] : g->second) {
            for (const auto& [p, e] : parts) out.emplace(topic, p);
        }
    }
    return out;
}

const offset_entry* pending_offsets::find(int64_t producer_id, const std::string& group,
                                          const std::string& topic, int32_t partition) const {
    auto txn = by_producer_.find(producer_id);
    if (txn == by_producer_.end()) return nullptr;
    auto g = txn->second.find(group);
    if (g == txn->second.end()) return nullptr;
    auto t = g->second.find(topic);
    if (t == g->second.end()) return nullptr;
    auto p = t->second.find(partition);
    return p == t->second.end() ? nullptr : &p->second;
}

}  // namespace runnel::server::groups
