#include "server/coordinators/groups/consumer_group.h"

#include "server/coordinators/groups/topic_regex.h"

#include <random>

namespace runnel::server::groups {

bool is_known_consumer_assignor(const std::string& name) {
    return name == "uniform" || name == "range";
}

std::string random_member_id() {
    // Kafka's Uuid.randomUuid().toString(): 16 random bytes in URL-safe base64 without padding.
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint64_t a = rng(), b = rng();
    std::string out;
    for (int i = 0; i < 22; ++i) {
        uint64_t& w = i < 11 ? a : b;
        out += abc[w & 63];
        w >>= 6;
    }
    if (out[0] == '-') out[0] = 'A';
    return out;
}

consumer_member* consumer_group::find_member(const std::string& id) {
    auto it = members_.find(id);
    return it == members_.end() ? nullptr : &it->second;
}

const topic_partitions_map* consumer_group::target_of(const std::string& member_id) const {
    auto it = target_.find(member_id);
    return it == target_.end() ? nullptr : &it->second;
}

std::string consumer_group::state() const {
    if (members_.empty()) return "Empty";
    if (group_epoch_ > assignment_epoch_) return "Assigning";
    for (const auto& [id, m] : members_) {
        if (m.member_epoch != assignment_epoch_ || m.state != consumer_member_state::stable) {
            return "Reconciling";
        }
    }
    return "Stable";
}

std::string consumer_group::assignor_name() const {
    std::map<std::string, int> votes;
    for (const auto& [id, m] : members_) {
        if (m.server_assignor) ++votes[*m.server_assignor];
    }
    std::string best = default_consumer_assignor;
    int best_votes = 0;
    for (const auto& [name, n] : votes) {
        if (n > best_votes) best = name, best_votes = n;
    }
    return best;
}

consumer_member& consumer_group::put_member(consumer_member m) {
    std::string id = m.member_id;
    return members_[id] = std::move(m);
}

void consumer_group::remove_member(const std::string& id) {
    auto it = members_.find(id);
    if (it == members_.end()) return;
    set_current(it->second, {}, {});
    members_.erase(it);
    target_.erase(id);
    ++group_epoch_;
}

consumer_member* consumer_group::find_static_member(const std::string& instance_id) {
    for (auto& [id, m] : members_) {
        if (m.instance_id == instance_id) return &m;
    }
    return nullptr;
}

consumer_member& consumer_group::replace_static_member(const std::string& old_id,
                                                       const std::string& new_id) {
    auto node = members_.extract(old_id);
    consumer_member m = std::move(node.mapped());
    m.member_id = new_id;
    m.member_epoch = m.previous_member_epoch;  // the epoch it had before leaving
    for (auto& [tp, owner] : owners_) {
        if (owner == old_id) owner = new_id;
    }
    if (auto t = target_.extract(old_id)) {
        t.key() = new_id;
        target_.insert(std::move(t));
    }
    return members_.emplace(new_id, std::move(m)).first->second;
}

bool consumer_group::update_topics(std::map<std::string, consumer_topic_info> topics) {
    if (topics == topics_) return false;
    topics_ = std::move(topics);
    return true;
}

std::set<std::string> consumer_member::all_subscribed() const {
    if (regex_topics.empty()) return subscribed_topics;
    std::set<std::string> out = subscribed_topics;
    out.insert(regex_topics.begin(), regex_topics.end());
    return out;
}

std::set<std::string> consumer_group::subscribed_topic_names() const {
    std::set<std::string> out;
    for (const auto& [id, m] : members_) {
        out.insert(m.subscribed_topics.begin(), m.subscribed_topics.end());
        out.insert(m.regex_topics.begin(), m.regex_topics.end());
    }
    return out;
}

bool consumer_group::resolve_regexes(const topic_name_source& source, int64_t now_ms) {
    std::set<std::string> in_use;
    bool changed = false;
    std::optional<std::vector<std::string>> names;  // listed once, when a pattern needs it
    for (auto& [id, m] : members_) {
        if (!m.has_regex()) {
            if (!m.regex_topics.empty()) {
                m.regex_topics.clear();
                changed = true;
            }
            continue;
        }
        const std::string& pattern = *m.subscribed_topic_regex;
        in_use.insert(pattern);
        auto& r = regexes_[pattern];
        if (r.version != source.version) {
            std::string error;
            // Checked when the member sent it, so this compiles.
            auto re = topic_regex::compile(pattern, error);
            if (!names) names = source.names ? source.names() : std::vector<std::string>{};
            std::set<std::string> matched;
            for (const auto& name : *names) {
                if (re && re->matches(name)) matched.insert(name);
            }
            if (matched != r.topics) {
                r.topics = std::move(matched);
                r.matched_version = source.version;
                r.matched_at_ms = now_ms;
            }
            r.version = source.version;
        }
        if (m.regex_topics != r.topics) {
            m.regex_topics = r.topics;
            changed = true;
        }
    }
    std::erase_if(regexes_, [&](const auto& e) { return !in_use.count(e.first); });
    return changed;
}

void consumer_group::maybe_update_target() {
    if (group_epoch_ <= assignment_epoch_ && target_.size() == members_.size()) return;
    assignor_input in;
    for (const auto& [id, m] : members_) {
        assignor_member am;
        am.subscribed_topics = m.all_subscribed();
        if (auto t = target_.find(id); t != target_.end()) am.current = t->second;
        in.members.emplace(id, std::move(am));
    }
    for (const auto& [name, t] : topics_) in.topics[name] = t.partitions;
    const std::string a = assignor_name();
    target_ = a == "range" ? range_assign(in) : uniform_assign(in);
    assignment_epoch_ = group_epoch_;
}

const std::string* consumer_group::owner_of(const std::string& topic, int32_t partition) const {
    auto it = owners_.find({topic, partition});
    return it == owners_.end() ? nullptr : &it->second;
}

void consumer_group::set_current(consumer_member& m, topic_partitions_map assigned,
                                 topic_partitions_map pending) {
    for (const auto* old : {&m.assigned, &m.pending_revocation}) {
        for (const auto& [t, ps] : *old) {
            for (int32_t p : ps) {
                auto it = owners_.find({t, p});
                if (it != owners_.end() && it->second == m.member_id) owners_.erase(it);
            }
        }
    }
    for (auto* cur : {&assigned, &pending}) {
        for (auto it = cur->begin(); it != cur->end();) {
            if (it->second.empty()) {
                it = cur->erase(it);
                continue;
            }
            for (int32_t p : it->second) owners_[{it->first, p}] = m.member_id;
            ++it;
        }
    }
    m.assigned = std::move(assigned);
    m.pending_revocation = std::move(pending);
}

void consumer_group::reconcile(consumer_member& m,
                               const std::optional<topic_partitions_map>& owned) {
    using st = consumer_member_state;
    switch (m.state) {
        case st::stable:
        case st::unreleased_partitions:
            if (m.member_epoch == assignment_epoch_ && m.state == st::stable) return;
            break;
        case st::unrevoked_partitions: {
            // The member must report owning none of the partitions pending revocation.
            if (!owned) return;
            for (const auto& [t, ps] : m.pending_revocation) {
                auto o = owned->find(t);
                if (o == owned->end()) continue;
                for (int32_t p : ps) {
                    if (o->second.count(p)) return;
                }
            }
            break;
        }
    }
    // computeNextAssignment
    static const topic_partitions_map none;
    const topic_partitions_map* target = target_of(m.member_id);
    if (!target) target = &none;
    std::set<std::string> topic_names;
    for (const auto& [t, ps] : *target) topic_names.insert(t);
    for (const auto& [t, ps] : m.assigned) topic_names.insert(t);
    topic_partitions_map keep, revoke;
    bool unreleased = false;
    for (const auto& t : topic_names) {
        static const std::set<int32_t> empty_set;
        auto ti = target->find(t);
        auto ci = m.assigned.find(t);
        const auto& tgt = ti == target->end() ? empty_set : ti->second;
        const auto& cur = ci == m.assigned.end() ? empty_set : ci->second;
        for (int32_t p : cur) (tgt.count(p) ? keep : revoke)[t].insert(p);
        for (int32_t p : tgt) {
            if (cur.count(p)) continue;
            const std::string* o = owner_of(t, p);
            if (!o || *o == m.member_id) {
                keep[t].insert(p);
            } else {
                unreleased = true;
            }
        }
    }
    bool any_revoke = false;
    for (const auto& [t, ps] : revoke) any_revoke |= !ps.empty();
    if (any_revoke) {
        // Keep the epoch; give up the revoked partitions first. New partitions wait: the member
        // only gets partitions still in its current assignment.
        topic_partitions_map still;
        for (const auto& [t, ps] : keep) {
            auto ci = m.assigned.find(t);
            if (ci == m.assigned.end()) continue;
            for (int32_t p : ps) {
                if (ci->second.count(p)) still[t].insert(p);
            }
        }
        set_current(m, std::move(still), std::move(revoke));
        m.previous_member_epoch = m.member_epoch;
        m.state = st::unrevoked_partitions;
        note_owned_since(m);
        return;
    }
    set_current(m, std::move(keep), {});
    if (m.member_epoch != assignment_epoch_) {
        m.previous_member_epoch = m.member_epoch;
        m.member_epoch = assignment_epoch_;
    }
    m.state = unreleased ? st::unreleased_partitions : st::stable;
    note_owned_since(m);
}

void consumer_group::note_owned_since(consumer_member& m) {
    auto owns = [&m](const std::string& t, int32_t p) {
        for (const auto* a : {&m.assigned, &m.pending_revocation}) {
            auto it = a->find(t);
            if (it != a->end() && it->second.count(p)) return true;
        }
        return false;
    };
    std::erase_if(m.owned_since,
                  [&](const auto& e) { return !owns(e.first.first, e.first.second); });
    for (const auto& [t, ps] : m.assigned) {
        for (int32_t p : ps) m.owned_since.try_emplace({t, p}, m.member_epoch);
    }
}

bool consumer_member::owned_at(const std::string& topic, int32_t partition, int32_t epoch) const {
    auto it = owned_since.find({topic, partition});
    return it != owned_since.end() && it->second <= epoch;
}

}  // namespace runnel::server::groups

namespace runnel::server::groups {

namespace {

template <class TopicPartitions>
topic_partitions_map by_topic_name(const std::map<protocol::uuid, std::string>& names,
                                   const std::vector<TopicPartitions>& stored) {
    topic_partitions_map out;
    for (const auto& tp : stored) {
        auto n = names.find(tp.topic_id);
        if (n == names.end() || tp.partitions.empty()) continue;
        out[n->second].insert(tp.partitions.begin(), tp.partitions.end());
    }
    return out;
}

}  // namespace

std::unique_ptr<consumer_group> consumer_group::restore(std::string id,
                                                        const consumer_group_image& image) {
    auto g = std::make_unique<consumer_group>(std::move(id));
    g->group_epoch_ = image.epoch ? image.epoch->epoch : 0;
    g->assignment_epoch_ = image.target_epoch ? image.target_epoch->assignment_epoch : 0;
    std::map<protocol::uuid, std::string> names;
    if (image.topics) {
        for (const auto& t : image.topics->topics) {
            g->topics_[t.topic_name] = {t.topic_id, t.num_partitions};
            names[t.topic_id] = t.topic_name;
        }
    }
    for (const auto& [pattern, r] : image.regexes) {
        auto& match = g->regexes_[pattern];
        match.topics.insert(r.topics.begin(), r.topics.end());
        match.matched_version = static_cast<uint64_t>(r.version_);
        match.matched_at_ms = r.timestamp;
    }
    // A member is whoever has any of the three member records (Kafka's getOrMaybeCreateMember).
    std::set<std::string> ids;
    for (const auto& [m, v] : image.subscriptions) ids.insert(m);
    for (const auto& [m, v] : image.assignments) ids.insert(m);
    for (const auto& member_id : ids) {
        consumer_member m;
        m.member_id = member_id;
        if (auto s = image.subscriptions.find(member_id); s != image.subscriptions.end()) {
            const auto& v = s->second;
            m.instance_id = v.instance_id;
            m.rack_id = v.rack_id;
            m.client_id = v.client_id;
            m.client_host = v.client_host;
            m.subscribed_topics.insert(v.subscribed_topic_names.begin(),
                                       v.subscribed_topic_names.end());
            m.subscribed_topic_regex = v.subscribed_topic_regex;
            m.rebalance_timeout_ms = v.rebalance_timeout_ms;
            m.server_assignor = v.server_assignor;
            if (m.has_regex()) {
                if (auto r = g->regexes_.find(*m.subscribed_topic_regex); r != g->regexes_.end()) {
                    m.regex_topics = r->second.topics;
                }
            }
        }
        auto& placed = g->put_member(std::move(m));
        if (auto a = image.assignments.find(member_id); a != image.assignments.end()) {
            const auto& v = a->second;
            placed.member_epoch = v.member_epoch;
            placed.previous_member_epoch = v.previous_member_epoch;
            placed.state = v.state == 1   ? consumer_member_state::unrevoked_partitions
                           : v.state == 2 ? consumer_member_state::unreleased_partitions
                                          : consumer_member_state::stable;
            g->set_current(placed, by_topic_name(names, v.assigned_partitions),
                           by_topic_name(names, v.partitions_pending_revocation));
            for (const auto* list : {&v.assigned_partitions, &v.partitions_pending_revocation}) {
                for (const auto& tp : *list) {
                    auto n = names.find(tp.topic_id);
                    if (n == names.end()) continue;
                    for (size_t i = 0; i < tp.partitions.size(); ++i) {
                        const bool known = tp.assignment_epochs && i < tp.assignment_epochs->size();
                        placed.owned_since[{n->second, tp.partitions[i]}] =
                            known ? (*tp.assignment_epochs)[i] : placed.member_epoch;
                    }
                }
            }
        }
        // Without the subscribed topics (a log written by Kafka 4.1+, which keeps only their
        // hash) the stored target cannot be read by name: left out, so that the next heartbeat
        // computes the target again.
        if (auto t = image.targets.find(member_id); t != image.targets.end() && image.topics) {
            g->target_[member_id] = by_topic_name(names, t->second.topic_partitions);
        }
    }
    g->written_ = image;
    return g;
}

}  // namespace runnel::server::groups
