#include "server/coordinators/groups/consumer_group_records.h"

#include "server/coordinators/groups/consumer_group.h"

namespace runnel::server::groups {

namespace {

template <class TopicPartitions>
std::vector<TopicPartitions> by_topic_id(const consumer_group& g, const topic_partitions_map& a,
                                         const consumer_member* since = nullptr) {
    std::vector<TopicPartitions> out;
    for (const auto& [name, parts] : a) {
        auto t = g.topics().find(name);
        // A topic gone from the subscription metadata (deleted) has no id to store it under;
        // the member gives it up at its next reconciliation anyway.
        if (t == g.topics().end() || parts.empty()) continue;
        auto& e = out.emplace_back();
        e.topic_id = t->second.id;
        e.partitions.assign(parts.begin(), parts.end());
        if constexpr (requires { e.assignment_epochs; }) {
            if (since) {
                auto& epochs = e.assignment_epochs.emplace();
                for (int32_t p : parts) {
                    auto it = since->owned_since.find({name, p});
                    epochs.push_back(it == since->owned_since.end() ? since->member_epoch
                                                                    : it->second);
                }
            }
        }
    }
    return out;
}

// Upserts (changed or new keys) or tombstones (keys gone) of one keyed record type.
template <class Value>
void diff_keyed(consumer_record_type type, const std::string& group,
                const std::map<std::string, Value>& from, const std::map<std::string, Value>& to,
                bool tombstones, std::vector<consumer_group_record>& out) {
    if (tombstones) {
        for (const auto& [key, v] : from) {
            if (!to.count(key)) out.push_back({type, group, key, std::nullopt});
        }
        return;
    }
    for (const auto& [key, v] : to) {
        auto it = from.find(key);
        if (it == from.end() || !(it->second == v)) out.push_back({type, group, key, v});
    }
}

template <class Value>
void diff_single(consumer_record_type type, const std::string& group,
                 const std::optional<Value>& from, const std::optional<Value>& to,
                 std::vector<consumer_group_record>& out) {
    if (to && (!from || !(*from == *to))) out.push_back({type, group, {}, *to});
    if (!to && from) out.push_back({type, group, {}, std::nullopt});
}

template <class Value>
void put_keyed(std::map<std::string, Value>& m, const consumer_group_record& r) {
    if (r.value) {
        m[r.member_id] = std::get<Value>(*r.value);
    } else {
        m.erase(r.member_id);
    }
}

template <class Value>
void put_single(std::optional<Value>& slot, const consumer_group_record& r) {
    if (r.value) {
        slot = std::get<Value>(*r.value);
    } else {
        slot.reset();
    }
}

}  // namespace

consumer_group_image image_of(const consumer_group& g) {
    consumer_group_image image;
    image.epoch.emplace().epoch = g.group_epoch();
    auto& topics = image.topics.emplace();
    for (const auto& [name, info] : g.topics()) {
        auto& t = topics.topics.emplace_back();
        t.topic_id = info.id;
        t.topic_name = name;
        t.num_partitions = info.partitions;
    }
    image.target_epoch.emplace().assignment_epoch = g.assignment_epoch();
    for (const auto& [id, m] : g.members()) {
        auto& s = image.subscriptions[id];
        s.instance_id = m.instance_id;
        s.rack_id = m.rack_id;
        s.client_id = m.client_id;
        s.client_host = m.client_host;
        s.subscribed_topic_names.assign(m.subscribed_topics.begin(), m.subscribed_topics.end());
        s.subscribed_topic_regex = m.subscribed_topic_regex;
        s.rebalance_timeout_ms = m.rebalance_timeout_ms;
        s.server_assignor = m.server_assignor;

        if (const auto* target = g.target_of(id)) {
            image.targets[id].topic_partitions =
                by_topic_id<cgmsg::target::topic_partition>(g, *target);
        }
        using owned =
            protocol::msg::consumer_group_current_member_assignment_value_common::topic_partitions;
        auto& a = image.assignments[id];
        a.member_epoch = m.member_epoch;
        a.previous_member_epoch = m.previous_member_epoch;
        a.state = static_cast<int8_t>(m.state);
        a.assigned_partitions = by_topic_id<owned>(g, m.assigned, &m);
        a.partitions_pending_revocation = by_topic_id<owned>(g, m.pending_revocation, &m);
    }
    for (const auto& [pattern, match] : g.regex_matches()) {
        auto& r = image.regexes[pattern];
        r.topics.assign(match.topics.begin(), match.topics.end());
        r.version_ = static_cast<int64_t>(match.matched_version);
        r.timestamp = match.matched_at_ms;
    }
    return image;
}

std::vector<consumer_group_record> records_between(const std::string& group,
                                                   const consumer_group_image& from,
                                                   const consumer_group_image& to) {
    using t = consumer_record_type;
    std::vector<consumer_group_record> out;
    // Members gone: their current assignment, target and subscription, in that order.
    diff_keyed(t::member_assignment, group, from.assignments, to.assignments, true, out);
    diff_keyed(t::member_target, group, from.targets, to.targets, true, out);
    diff_keyed(t::member_subscription, group, from.subscriptions, to.subscriptions, true, out);
    diff_keyed(t::member_subscription, group, from.subscriptions, to.subscriptions, false, out);
    diff_keyed(t::regex, group, from.regexes, to.regexes, true, out);
    diff_keyed(t::regex, group, from.regexes, to.regexes, false, out);
    if (to.exists()) {
        diff_single(t::subscribed_topics, group, from.topics, to.topics, out);
        diff_single(t::group_epoch, group, from.epoch, to.epoch, out);
        diff_keyed(t::member_target, group, from.targets, to.targets, false, out);
        diff_single(t::target_epoch, group, from.target_epoch, to.target_epoch, out);
        diff_keyed(t::member_assignment, group, from.assignments, to.assignments, false, out);
    } else {
        // The group goes: its metadata tombstones last, the epoch's closing it.
        diff_single(t::subscribed_topics, group, from.topics, to.topics, out);
        diff_single(t::target_epoch, group, from.target_epoch, to.target_epoch, out);
        diff_single(t::group_epoch, group, from.epoch, to.epoch, out);
    }
    return out;
}

void apply_record(consumer_group_image& image, const consumer_group_record& r) {
    using t = consumer_record_type;
    switch (r.type) {
        case t::group_epoch:
            return put_single(image.epoch, r);
        case t::subscribed_topics:
            return put_single(image.topics, r);
        case t::member_subscription:
            return put_keyed(image.subscriptions, r);
        case t::target_epoch:
            return put_single(image.target_epoch, r);
        case t::member_target:
            return put_keyed(image.targets, r);
        case t::member_assignment:
            return put_keyed(image.assignments, r);
        case t::regex:
            return put_keyed(image.regexes, r);
    }
}

}  // namespace runnel::server::groups
