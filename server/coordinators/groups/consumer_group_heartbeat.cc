// KIP-848 consumer groups on the coordinator: ConsumerGroupHeartbeat (join, subscribe, reconcile,
// leave), session and rebalance timeouts, ConsumerGroupDescribe. Mirrors Kafka's
// GroupMetadataManager.consumerGroupHeartbeat, static members included. Every change is written
// to __consumer_offsets before the answer (persist_consumer_group) and restored on load.
#include "server/coordinators/groups/group_coordinator.h"
#include "server/coordinators/groups/topic_regex.h"
#include "server/core/logger.h"

namespace runnel::server::groups {

using protocol::error_code;
using protocol::to_wire;
namespace msg = protocol::msg;

namespace {

constexpr int32_t leave_epoch = -1;
constexpr int32_t static_leave_epoch = -2;

std::string session_key(const std::string& group, const std::string& member) {
    return "consumer-session-" + group + "-" + member;
}
std::string rebalance_key(const std::string& group, const std::string& member) {
    return "consumer-rebalance-" + group + "-" + member;
}

bool is_subset(const topic_partitions_map& a, const topic_partitions_map& b) {
    for (const auto& [t, ps] : a) {
        auto it = b.find(t);
        for (int32_t p : ps) {
            if (it == b.end() || !it->second.count(p)) return false;
        }
    }
    return true;
}

}  // namespace

consumer_group* group_coordinator::find_consumer_group(int32_t partition, const std::string& id) {
    auto* ps = state_of(partition);
    if (!ps) return nullptr;
    auto it = ps->consumer_groups.find(id);
    return it == ps->consumer_groups.end() ? nullptr : it->second.get();
}

void group_coordinator::schedule_consumer_session(int32_t partition, const std::string& group_id,
                                                  const std::string& member_id) {
    timers_.schedule(session_key(group_id, member_id), config_.consumer_session_timeout_ms,
                     [this, partition, group_id, member_id] {
                         fence_consumer_member(partition, group_id, member_id);
                     });
}

void group_coordinator::schedule_consumer_rebalance(int32_t partition, const std::string& group_id,
                                                    const consumer_member& m) {
    const int32_t fence_epoch = m.member_epoch;
    const std::string member_id = m.member_id;
    timers_.schedule(rebalance_key(group_id, member_id), std::max(m.rebalance_timeout_ms, 0),
                     [this, partition, group_id, member_id, fence_epoch] {
                         auto* cg = find_consumer_group(partition, group_id);
                         auto* cm = cg ? cg->find_member(member_id) : nullptr;
                         if (cm && cm->member_epoch == fence_epoch &&
                             cm->state == consumer_member_state::unrevoked_partitions) {
                             fence_consumer_member(partition, group_id, member_id);
                         }
                     });
}

error_code group_coordinator::fence_consumer_member(int32_t partition, const std::string& group_id,
                                                    const std::string& member_id, bool persist) {
    timers_.cancel(session_key(group_id, member_id));
    timers_.cancel(rebalance_key(group_id, member_id));
    auto* g = find_consumer_group(partition, group_id);
    if (!g) return error_code::none;
    g->remove_member(member_id);
    return persist ? persist_consumer_group(partition, *g) : error_code::none;
}

error_code group_coordinator::persist_consumer_group(int32_t partition, consumer_group& g,
                                                     std::vector<group_record> before) {
    consumer_group_image now = image_of(g);
    for (auto& r : records_between(g.id(), g.written(), now)) before.push_back(std::move(r));
    if (before.empty()) return error_code::none;
    if (auto ec = write(partition, before, false)) return append_error_to_response(ec);
    g.set_written(std::move(now));
    return error_code::none;
}

std::vector<group_record> group_coordinator::consumer_group_tombstones(const consumer_group& g) {
    std::vector<group_record> out;
    for (auto& r : records_between(g.id(), g.written(), {})) out.push_back(std::move(r));
    return out;
}

void group_coordinator::restore_consumer_groups(int32_t partition, partition_state& ps) {
    size_t groups = 0, members = 0;
    for (const auto& [id, image] : ps.consumer_images) {
        if (image == consumer_group_image{}) continue;  // deleted
        auto g = consumer_group::restore(id, image);
        // Offsets replayed before the group's first record made a simple group to hold them.
        if (auto c = ps.groups.find(id); c != ps.groups.end() && c->second->members().empty()) {
            ps.groups.erase(c);
        }
        // Kafka's onLoaded: every member gets a new session, and one still revoking partitions
        // its rebalance timeout.
        for (const auto& [member_id, m] : g->members()) {
            schedule_consumer_session(partition, id, member_id);
            if (m.state == consumer_member_state::unrevoked_partitions) {
                schedule_consumer_rebalance(partition, id, m);
            }
            ++members;
        }
        ps.consumer_groups[id] = std::move(g);
        ++groups;
    }
    ps.consumer_images.clear();
    if (groups) {
        server_log().info("__consumer_offsets-{}: loaded {} consumer group(s) with {} member(s)",
                          partition, groups, members);
    }
}

msg::consumer_group_heartbeat_response group_coordinator::consumer_heartbeat(
    int32_t partition, const msg::consumer_group_heartbeat_request& req,
    const consumer_heartbeat_context& ctx) {
    msg::consumer_group_heartbeat_response resp;
    auto fail = [&resp](error_code e, std::string message) {
        resp.error_code = to_wire(e);
        resp.error_message = std::move(message);
        return resp;
    };
    // Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid.
    if (req.instance_id && req.instance_id->empty()) {
        return fail(error_code::invalid_request, "InstanceId can't be empty.");
    }
    if (req.rack_id && req.rack_id->empty()) {
        return fail(error_code::invalid_request, "RackId can't be empty.");
    }
    const int32_t epoch = req.member_epoch;
    if (ctx.api_version >= 1 && req.member_id.empty()) {
        return fail(error_code::invalid_request, "MemberId can't be empty.");
    }
    if (epoch > 0 || epoch == leave_epoch) {
        if (req.member_id.empty()) {
            return fail(error_code::invalid_request, "MemberId can't be empty.");
        }
    } else if (epoch == 0) {
        if (req.rebalance_timeout_ms == -1) {
            return fail(error_code::invalid_request,
                        "RebalanceTimeoutMs must be provided in first request.");
        }
        if (!req.topic_partitions || !req.topic_partitions->empty()) {
            return fail(error_code::invalid_request,
                        "TopicPartitions must be empty when (re-)joining.");
        }
        // An empty list of names or an empty regex joins subscribed to nothing, as in Kafka.
        if (!req.subscribed_topic_names && !req.subscribed_topic_regex) {
            return fail(error_code::invalid_request,
                        "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null "
                        "when (re-)joining.");
        }
    } else if (epoch == static_leave_epoch) {
        if (req.member_id.empty()) {
            return fail(error_code::invalid_request, "MemberId can't be empty.");
        }
        if (!req.instance_id) return fail(error_code::invalid_request, "InstanceId can't be null.");
    } else {
        return fail(error_code::invalid_request, "MemberEpoch is invalid.");
    }
    if (req.subscribed_topic_regex && !req.subscribed_topic_regex->empty()) {
        std::string why;
        if (!topic_regex::compile(*req.subscribed_topic_regex, why)) {
            return fail(error_code::invalid_regular_expression,
                        "SubscribedTopicRegex `" + *req.subscribed_topic_regex +
                            "` is not a valid regular expression: " + why + ".");
        }
    }
    if (req.server_assignor && !is_known_consumer_assignor(*req.server_assignor)) {
        return fail(error_code::unsupported_assignor,
                    "ServerAssignor " + *req.server_assignor +
                        " is not supported. Supported assignors: range, uniform.");
    }

    auto* ps = state_of(partition);
    if (!ps) return fail(error_code::not_coordinator, "");
    if (ps->loading) return fail(error_code::coordinator_load_in_progress, "");
    const std::string& group_id = req.group_id;
    std::vector<group_record> replaced;  // the tombstone of a classic group giving way
    // A classic group of that id: refused while it has members; an empty one gives way.
    if (auto it = ps->groups.find(group_id); it != ps->groups.end()) {
        if (!it->second->members().empty()) {
            return fail(error_code::group_id_not_found,
                        "Group " + group_id + " is not a consumer group.");
        }
        if (epoch == 0) {
            timers_.cancel(join_key(group_id));
            timers_.cancel(sync_key(group_id));
            ps->groups.erase(it);
            replaced.push_back(group_tombstone(group_id));
        }
    }
    auto git = ps->consumer_groups.find(group_id);
    if (git == ps->consumer_groups.end()) {
        if (epoch != 0) {
            return fail(error_code::group_id_not_found,
                        "Consumer group " + group_id + " not found.");
        }
        git =
            ps->consumer_groups.emplace(group_id, std::make_unique<consumer_group>(group_id)).first;
    }
    consumer_group& g = *git->second;

    // Leaving.
    if (epoch == leave_epoch || epoch == static_leave_epoch) {
        consumer_member* leaving = g.find_member(req.member_id);
        if (!leaving) {
            return fail(error_code::unknown_member_id,
                        "Member " + req.member_id + " is not a member of group " + group_id + ".");
        }
        if (epoch == static_leave_epoch && leaving->instance_id) {
            // A static member going away for a restart keeps its partitions until it comes back
            // under its instance id or its session times out (the timer already running).
            if (leaving->member_epoch != static_leave_epoch) {
                leaving->previous_member_epoch = leaving->member_epoch;
                leaving->member_epoch = static_leave_epoch;
            }
            timers_.cancel(rebalance_key(group_id, req.member_id));
            if (auto e = persist_consumer_group(partition, g); e != error_code::none) {
                return fail(e, "");
            }
        } else if (auto e = fence_consumer_member(partition, group_id, req.member_id);
                   e != error_code::none) {
            return fail(e, "");
        }
        resp.member_id = req.member_id;
        resp.member_epoch = epoch;
        return resp;
    }

    // The member: new (epoch 0) or known with a valid epoch.
    std::string member_id = req.member_id;
    consumer_member m;
    bool is_new = false;
    consumer_member* returning = nullptr;  // a static member back under a new member id
    if (epoch == 0 && req.instance_id) {
        if (consumer_member* old = g.find_static_member(*req.instance_id);
            old && old->member_id != member_id) {
            if (old->member_epoch != static_leave_epoch) {
                return fail(error_code::unreleased_instance_id,
                            "Static member " + old->member_id + " with instance id " +
                                *req.instance_id + " is not released yet.");
            }
            if (member_id.empty()) member_id = random_member_id();
            timers_.cancel(session_key(group_id, old->member_id));
            timers_.cancel(rebalance_key(group_id, old->member_id));
            returning = &g.replace_static_member(old->member_id, member_id);
        }
    }
    if (returning) {
        m = *returning;
    } else if (epoch == 0) {
        if (member_id.empty()) member_id = random_member_id();
        if (g.find_member(member_id)) {
            // Rejoining: the old incarnation's partitions are released first.
            fence_consumer_member(partition, group_id, member_id, false);
        }
        m.member_id = member_id;
        is_new = true;
    } else {
        consumer_member* old = g.find_member(member_id);
        if (!old) {
            return fail(error_code::unknown_member_id,
                        "Member " + member_id + " is not a member of group " + group_id + ".");
        }
        // Kafka's throwIfMemberEpochIsInvalid.
        bool fenced = epoch > old->member_epoch;
        if (epoch < old->member_epoch) {
            topic_partitions_map owned;
            if (req.topic_partitions) {
                for (const auto& tp : *req.topic_partitions) {
                    for (const auto& [name, info] : g.topics()) {
                        if (info.id == tp.topic_id) {
                            owned[name].insert(tp.partitions.begin(), tp.partitions.end());
                        }
                    }
                }
            }
            fenced = epoch != old->previous_member_epoch || !req.topic_partitions ||
                     !is_subset(owned, old->assigned);
        }
        if (fenced) {
            return fail(error_code::fenced_member_epoch,
                        "The consumer group member has a smaller member epoch (" +
                            std::to_string(epoch) +
                            ") than the one known by the group coordinator (" +
                            std::to_string(old->member_epoch) +
                            "). The member must abandon all its "
                            "partitions and rejoin.");
        }
        m = *old;
    }
    // The member's new facts; a new member or a changed subscription bumps the group epoch.
    m.client_id = ctx.client_id;
    m.client_host = ctx.client_host;
    if (req.instance_id) m.instance_id = req.instance_id;
    if (req.rack_id) m.rack_id = req.rack_id;
    if (req.rebalance_timeout_ms != -1) m.rebalance_timeout_ms = req.rebalance_timeout_ms;
    bool changed = is_new;
    if (req.subscribed_topic_names) {
        std::set<std::string> subs(req.subscribed_topic_names->begin(),
                                   req.subscribed_topic_names->end());
        if (subs != m.subscribed_topics) changed = true;
        m.subscribed_topics = std::move(subs);
    }
    if (req.subscribed_topic_regex && req.subscribed_topic_regex != m.subscribed_topic_regex) {
        m.subscribed_topic_regex = req.subscribed_topic_regex;
        changed = true;
    }
    if (req.server_assignor && req.server_assignor != m.server_assignor) {
        m.server_assignor = req.server_assignor;
        changed = true;
    }
    const topic_partitions_map before = m.assigned;
    const consumer_member_state state_before = m.state;
    const std::set<std::string> names_before = g.subscribed_topic_names();
    consumer_member* mp = g.find_member(member_id);
    if (mp) {
        // Only the fields above changed; the current assignment stays as the group knows it.
        mp->client_id = m.client_id;
        mp->client_host = m.client_host;
        mp->instance_id = m.instance_id;
        mp->rack_id = m.rack_id;
        mp->rebalance_timeout_ms = m.rebalance_timeout_ms;
        mp->subscribed_topics = m.subscribed_topics;
        mp->subscribed_topic_regex = m.subscribed_topic_regex;
        mp->server_assignor = m.server_assignor;
    } else {
        mp = &g.put_member(std::move(m));
    }
    // What the group subscribes to may have moved too: the names its members subscribe to,
    // what regexes match, the topics' metadata (new topics, partition counts).
    bool subscription_changed = g.resolve_regexes(ctx.topic_names, timers_.now_ms());
    const std::set<std::string> names_after = g.subscribed_topic_names();
    if (names_after != names_before) subscription_changed = true;
    std::map<std::string, consumer_topic_info> topics;
    for (const auto& name : names_after) {
        if (ctx.topics) {
            if (auto info = ctx.topics(name)) topics[name] = *info;
        }
    }
    if (g.update_topics(std::move(topics))) subscription_changed = true;
    // Kafka 4.4 bumps the group epoch once for the member's change and once more when what the
    // group subscribes to changed: the first member subscribing to a topic gets epoch 2, the
    // next one with the same subscription 3 (seen against Kafka in test_versus_kafka.py).
    if (changed) g.bump_epoch();
    if (subscription_changed) g.bump_epoch();
    g.maybe_update_target();

    std::optional<topic_partitions_map> owned;
    if (req.topic_partitions) {
        owned.emplace();
        for (const auto& tp : *req.topic_partitions) {
            for (const auto& [name, info] : g.topics()) {
                if (info.id == tp.topic_id) {
                    (*owned)[name].insert(tp.partitions.begin(), tp.partitions.end());
                }
            }
        }
    }
    g.reconcile(*mp, owned);

    schedule_consumer_session(partition, group_id, member_id);
    if (mp->state == consumer_member_state::unrevoked_partitions) {
        if (state_before != consumer_member_state::unrevoked_partitions || is_new) {
            schedule_consumer_rebalance(partition, group_id, *mp);
        }
    } else {
        timers_.cancel(rebalance_key(group_id, member_id));
    }
    if (auto e = persist_consumer_group(partition, g, std::move(replaced)); e != error_code::none) {
        return fail(e, "");
    }

    resp.member_id = member_id;
    resp.member_epoch = mp->member_epoch;
    resp.heartbeat_interval_ms = config_.consumer_heartbeat_interval_ms;
    if (epoch == 0 || is_new || mp->assigned != before) {
        auto& a = resp.assignment.emplace();
        for (const auto& [name, parts] : mp->assigned) {
            auto t = g.topics().find(name);
            if (t == g.topics().end() || parts.empty()) continue;
            auto& e = a.topic_partitions.emplace_back();
            e.topic_id = t->second.id;
            e.partitions.assign(parts.begin(), parts.end());
        }
    }
    return resp;
}

msg::consumer_group_describe_response::described_group group_coordinator::consumer_describe(
    int32_t partition, const std::string& group_id) const {
    msg::consumer_group_describe_response::described_group d;
    d.group_id = group_id;
    const auto* ps = state_of(partition);
    const consumer_group* g = nullptr;
    if (ps) {
        if (auto it = ps->consumer_groups.find(group_id); it != ps->consumer_groups.end()) {
            g = it->second.get();
        }
    }
    if (!g) {
        d.error_code = to_wire(error_code::group_id_not_found);
        const bool classic = ps && ps->groups.count(group_id);
        d.error_message = classic ? "Group " + group_id + " is not a consumer group."
                                  : "Group " + group_id + " not found.";
        d.group_state = "Dead";
        return d;
    }
    d.group_state = g->state();
    d.group_epoch = g->group_epoch();
    d.assignment_epoch = g->assignment_epoch();
    d.assignor_name = g->assignor_name();
    auto to_assignment = [g](const topic_partitions_map& a) {
        msg::consumer_group_describe_common::assignment_entry out;
        for (const auto& [name, parts] : a) {
            if (parts.empty()) continue;
            auto& e = out.topic_partitions.emplace_back();
            e.topic_name = name;
            if (auto t = g->topics().find(name); t != g->topics().end()) e.topic_id = t->second.id;
            e.partitions.assign(parts.begin(), parts.end());
        }
        return out;
    };
    for (const auto& [id, m] : g->members()) {
        auto& dm = d.members.emplace_back();
        dm.member_id = id;
        dm.instance_id = m.instance_id;
        dm.rack_id = m.rack_id;
        dm.member_epoch = m.member_epoch;
        dm.client_id = m.client_id;
        dm.client_host = m.client_host;
        dm.subscribed_topic_names.assign(m.subscribed_topics.begin(), m.subscribed_topics.end());
        dm.subscribed_topic_regex = m.subscribed_topic_regex;
        dm.assignment = to_assignment(m.assigned);
        if (const auto* t = g->target_of(id)) dm.target_assignment = to_assignment(*t);
    }
    return d;
}

error_code group_coordinator::check_consumer_member(int32_t partition, const std::string& group_id,
                                                    const std::string& member_id,
                                                    int32_t member_epoch) const {
    const auto* ps = state_of(partition);
    if (!ps) return error_code::none;
    auto it = ps->consumer_groups.find(group_id);
    if (it == ps->consumer_groups.end()) return error_code::none;
    auto& g = *it->second;
    auto m = g.members().find(member_id);
    if (m == g.members().end()) return error_code::unknown_member_id;
    if (member_epoch != m->second.member_epoch) return error_code::stale_member_epoch;
    return error_code::none;
}

}  // namespace runnel::server::groups
