// group_coordinator: JoinGroup and the rebalance (Kafka's classicGroupJoin* and the join phase).
#include "server/coordinators/groups/group_coordinator.h"
#include "server/core/logger.h"

namespace runnel::server::groups {

using protocol::error_code;
using protocol::to_wire;

namespace {

join_response join_error(const std::string& member_id, error_code e) {
    join_response r;
    r.member_id = member_id;
    r.error_code = to_wire(e);
    r.protocol_name = std::nullopt;
    return r;
}

// The current generation as a member sees it (the leader also gets the member list).
join_response current_generation(const classic_group& g, const std::string& member_id,
                                 bool with_members) {
    join_response r;
    if (with_members) r.members = g.leader_member_list();
    r.member_id = member_id;
    r.generation_id = g.generation();
    r.protocol_name = g.protocol_name();
    r.protocol_type = g.protocol_type();
    r.leader = g.leader().value_or("");
    return r;
}

}  // namespace

void group_coordinator::join(int32_t partition, join_params p, join_callback done) {
    if (p.group_id.empty()) return done(join_error(p.member_id, error_code::invalid_group_id));
    if (p.session_timeout_ms < config_.min_session_timeout_ms ||
        p.session_timeout_ms > config_.max_session_timeout_ms) {
        return done(join_error(p.member_id, error_code::invalid_session_timeout));
    }
    partition_state* ps = state_of(partition);
    if (!ps || ps->loading) {
        return done(join_error(p.member_id, error_code::coordinator_load_in_progress));
    }
    // A KIP-848 consumer group of that id: refused while it has members, else it gives way.
    if (auto cg = ps->consumer_groups.find(p.group_id); cg != ps->consumer_groups.end()) {
        if (!cg->second->empty()) {
            return done(join_error(p.member_id, error_code::inconsistent_group_protocol));
        }
        if (auto ec = write(partition, consumer_group_tombstones(*cg->second), false)) {
            return done(join_error(p.member_id, append_error_to_response(ec)));
        }
        ps->consumer_groups.erase(cg);
    }
    const bool unknown_member = p.member_id.empty();
    const bool new_group = ps->groups.count(p.group_id) == 0;
    // A member id for a group that does not exist is unknown.
    if (new_group && !unknown_member) {
        return done(join_error(p.member_id, error_code::unknown_member_id));
    }
    classic_group& g = get_or_create_group(*ps, p.group_id);
    const uint64_t writes_before = writes_;
    if (!accept_joining_member(g, p.member_id)) {
        g.remove(p.member_id);
        done(join_error("", error_code::group_max_size_reached));
    } else if (unknown_member) {
        join_new_member(partition, g, p, done);
    } else {
        join_existing_member(partition, g, p, done);
    }
    if (new_group && writes_ == writes_before) {
        // A new group's first record, so that it exists in the log.
        write(partition, {empty_group_metadata(g)}, false);
    }
}

bool group_coordinator::accept_joining_member(const classic_group& g,
                                              const std::string& member_id) const {
    const auto max = static_cast<size_t>(config_.max_group_size);
    auto it = g.members().find(member_id);
    const bool known = it != g.members().end();
    switch (g.state()) {
        case group_state::empty:
        case group_state::dead:
            return true;
        case group_state::preparing_rebalance:
            // Members already awaiting are in; the last ones to rejoin are the ones left out.
            return (known && it->second.is_awaiting_join()) || g.num_awaiting_join() < max;
        case group_state::completing_rebalance:
        case group_state::stable:
            return known || g.size() < max;
    }
    return false;
}

void group_coordinator::join_new_member(int32_t partition, classic_group& g, join_params& p,
                                        join_callback& done) {
    if (g.in(group_state::dead)) return done(join_error("", error_code::coordinator_not_available));
    if (!g.supports_protocols(p.protocol_type, p.protocols)) {
        return done(join_error("", error_code::inconsistent_group_protocol));
    }
    const std::string new_id = classic_group::generate_member_id(p.client_id, p.instance_id);
    if (p.instance_id) {
        if (const std::string* existing = g.static_member_id(*p.instance_id)) {
            server_log().info("group {}: static member {} rejoins in {} as {}, replacing {}",
                              g.id(), *p.instance_id, state_name(g.state()), new_id, *existing);
            const std::string old_id = *existing;
            return update_static_member(partition, g, p, old_id, new_id, std::move(done));
        }
        return add_member_then_rebalance(partition, g, p, new_id, std::move(done));
    }
    if (p.api_version >= 4) {
        // KIP-394: hand out the member id and let the member rejoin with it; until then it is
        // pending and expires after its session timeout.
        g.add_pending(new_id);
        const std::string gid = g.id();
        timers_.schedule(
            heartbeat_key(gid, new_id), p.session_timeout_ms,
            [this, partition, gid, new_id] { expire_heartbeat(partition, gid, new_id); });
        return done(join_error(new_id, error_code::member_id_required));
    }
    add_member_then_rebalance(partition, g, p, new_id, std::move(done));
}

void group_coordinator::join_existing_member(int32_t partition, classic_group& g, join_params& p,
                                             join_callback& done) {
    const std::string& id = p.member_id;
    if (g.in(group_state::dead)) return done(join_error(id, error_code::coordinator_not_available));
    if (!g.supports_protocols(p.protocol_type, p.protocols)) {
        return done(join_error(id, error_code::inconsistent_group_protocol));
    }
    if (g.is_pending(id)) {
        // A pending member (KIP-394) rejoining with its id; pending members are never static.
        if (p.instance_id) return done(join_error(id, error_code::unknown_server_error));
        return add_member_then_rebalance(partition, g, p, id, std::move(done));
    }
    if (auto e = g.validate_member(id, p.instance_id); e != error_code::none) {
        return done(join_error(id, e));
    }
    group_member& m = *g.member(id);
    auto update_and_rebalance = [&](const std::string& reason) {
        g.update_member(m, std::move(p.protocols), p.rebalance_timeout_ms, p.session_timeout_ms,
                        std::move(done));
        maybe_prepare_rebalance_or_complete_join(partition, g, reason);
    };
    switch (g.state()) {
        case group_state::preparing_rebalance:
            return update_and_rebalance("member " + id + " joins during PreparingRebalance");
        case group_state::completing_rebalance:
            // The same metadata again: the member missed its JoinGroup response.
            if (m.matches(p.protocols)) return done(current_generation(g, id, g.is_leader(id)));
            return update_and_rebalance("member " + id + " updates its metadata");
        case group_state::stable:
            // A leader's JoinGroup forces a rebalance (e.g. topic metadata changed).
            if (g.is_leader(id)) return update_and_rebalance("leader " + id + " rejoins");
            if (!m.matches(p.protocols)) {
                return update_and_rebalance("member " + id + " updates its metadata");
            }
            return done(current_generation(g, id, false));
        default:
            // Empty: let the member reset its generation and rejoin.
            return done(join_error(id, error_code::unknown_member_id));
    }
}

void group_coordinator::add_member_then_rebalance(int32_t partition, classic_group& g,
                                                  join_params& p, const std::string& member_id,
                                                  join_callback done) {
    group_member m;
    m.id = member_id;
    m.instance_id = p.instance_id;
    m.client_id = p.client_id;
    m.client_host = p.client_host;
    m.rebalance_timeout_ms = p.rebalance_timeout_ms;
    m.session_timeout_ms = p.session_timeout_ms;
    m.protocol_type = p.protocol_type;
    m.protocols = std::move(p.protocols);
    m.is_new = true;
    m.awaiting_join = std::move(done);
    // A member joining during the initial delay extends it (InitialDelayedJoin).
    if (g.in(group_state::preparing_rebalance) && g.previous_state() == group_state::empty) {
        g.set_new_member_added(true);
    }
    const std::string id = member_id;
    g.add(std::move(m));
    // A new member cannot heartbeat while its JoinGroup is parked: bound how long it may wait.
    reschedule_heartbeat(partition, g, *g.member(id), config_.new_member_join_timeout_ms);
    maybe_prepare_rebalance_or_complete_join(partition, g, "adding new member " + id);
}

void group_coordinator::update_static_member(int32_t partition, classic_group& g, join_params& p,
                                             const std::string& old_id, const std::string& new_id,
                                             join_callback done) {
    const std::optional<std::string> current_leader = g.leader();
    const std::string instance = *p.instance_id;
    group_member* m = &g.replace_static_member(instance, old_id, new_id);
    reschedule_heartbeat(partition, g, *m, m->session_timeout_ms);
    const int32_t old_rebalance = m->rebalance_timeout_ms;
    const int32_t old_session = m->session_timeout_ms;
    std::vector<member_protocol> old_protocols = m->protocols;
    g.update_member(*m, std::move(p.protocols), p.rebalance_timeout_ms, p.session_timeout_ms,
                    std::move(done));

    if (g.in(group_state::stable)) {
        if (g.protocol_name().value_or("") != g.select_protocol()) {
            return maybe_prepare_rebalance_or_complete_join(
                partition, g, "static member " + new_id + " changes the group's protocol");
        }
        // Same protocol: no rebalance, the member takes over the old member's assignment.
        if (auto ec = write(partition, {group_metadata(g, g.assignments())}, false)) {
            // Could not persist the new member id: go back to the old one.
            join_callback cb = std::move(m->awaiting_join);
            g.update_member(*m, std::move(old_protocols), old_rebalance, old_session, nullptr);
            group_member& back = g.replace_static_member(instance, new_id, old_id);
            reschedule_heartbeat(partition, g, back, back.session_timeout_ms);
            join_response r = current_generation(g, "", false);
            r.leader = current_leader.value_or("");
            r.error_code = to_wire(append_error_to_response(ec));
            return cb(std::move(r));
        }
        if (p.api_version >= 9) {
            // KIP-814: a static leader that rejoins gets the members but skips the assignment.
            const bool leader = g.is_leader(new_id);
            join_response r = current_generation(g, new_id, leader);
            r.skip_assignment = leader;
            g.complete_join(*m, std::move(r));
        } else {
            join_response r = current_generation(g, new_id, false);
            r.leader = current_leader.value_or("");
            g.complete_join(*m, std::move(r));
        }
        return;
    }
    if (g.in(group_state::completing_rebalance)) {
        // The leader may already assign to the old member id: rebalance again.
        return prepare_rebalance(partition, g, "static member " + new_id + " replaced " + old_id);
    }
    maybe_complete_join_phase(partition, g);
}

void group_coordinator::maybe_prepare_rebalance_or_complete_join(int32_t partition,
                                                                 classic_group& g,
                                                                 const std::string& reason) {
    if (g.can_rebalance()) {
        prepare_rebalance(partition, g, reason);
    } else {
        maybe_complete_join_phase(partition, g);
    }
}

void group_coordinator::prepare_rebalance(int32_t partition, classic_group& g,
                                          const std::string& reason) {
    // Members waiting for their assignment must rejoin.
    if (g.in(group_state::completing_rebalance)) {
        reset_and_propagate_assignment_error(partition, g, error_code::rebalance_in_progress);
    }
    remove_sync_expiration(g);
    const bool initial = g.in(group_state::empty);
    const std::string gid = g.id();
    if (initial) {
        // A new group waits group.initial.rebalance.delay.ms for more members, extended while
        // members keep arriving, up to the rebalance timeout (Kafka's InitialDelayedJoin).
        const int32_t delay = config_.initial_rebalance_delay_ms;
        const int32_t remaining = std::max(g.rebalance_timeout_ms() - delay, 0);
        timers_.schedule(join_key(gid), delay, [this, partition, gid, delay, remaining] {
            try_complete_initial_rebalance(partition, gid, delay, remaining);
        });
    }
    g.transition_to(group_state::preparing_rebalance, timers_.now_ms());
    server_log().info("group {}: preparing to rebalance, generation {} ({})", gid, g.generation(),
                      reason);
    if (initial) return;
    if (g.has_all_members_joined()) return complete_join(partition, g);
    timers_.schedule(join_key(gid), g.rebalance_timeout_ms(),
                     [this, partition, gid] { complete_join(partition, gid); });
}

void group_coordinator::maybe_complete_join_phase(int32_t partition, classic_group& g) {
    if (!g.in(group_state::preparing_rebalance)) return;
    if (g.previous_state() == group_state::empty) return;  // the initial delay decides
    if (!g.has_all_members_joined()) return;
    complete_join(partition, g);
}

void group_coordinator::try_complete_initial_rebalance(int32_t partition,
                                                       const std::string& group_id,
                                                       int32_t delay_ms, int32_t remaining_ms) {
    classic_group* g = find_group(partition, group_id);
    if (!g) return;
    if (g->new_member_added() && remaining_ms != 0) {
        g->set_new_member_added(false);
        const int32_t next_delay = std::min(config_.initial_rebalance_delay_ms, remaining_ms);
        const int32_t next_remaining = std::max(remaining_ms - delay_ms, 0);
        timers_.schedule(join_key(group_id), next_delay,
                         [this, partition, group_id, next_delay, next_remaining] {
                             try_complete_initial_rebalance(partition, group_id, next_delay,
                                                            next_remaining);
                         });
        return;
    }
    complete_join(partition, *g);
}

void group_coordinator::complete_join(int32_t partition, const std::string& group_id) {
    if (classic_group* g = find_group(partition, group_id)) complete_join(partition, *g);
}

void group_coordinator::complete_join(int32_t partition, classic_group& g) {
    const std::string gid = g.id();
    timers_.cancel(join_key(gid));
    // Dynamic members that did not rejoin in time are out; static members keep their place.
    std::vector<std::string> dropped;
    for (const auto& id : g.not_yet_rejoined_members()) {
        if (g.member(id)->is_static()) continue;
        g.remove(id);
        timers_.cancel(heartbeat_key(gid, id));
        dropped.push_back(id);
    }
    if (!dropped.empty()) {
        server_log().info("group {}: removed {} member(s) that did not rejoin", gid,
                          dropped.size());
    }
    if (g.in(group_state::dead)) return;
    if (!g.maybe_elect_new_joined_leader() && g.size() > 0) {
        // Nobody rejoined: wait another rebalance timeout for session expiry to clear them.
        server_log().warn("group {}: cannot complete the rebalance, no member rejoined", gid);
        timers_.schedule(join_key(gid), g.rebalance_timeout_ms(),
                         [this, partition, gid] { complete_join(partition, gid); });
        return;
    }
    g.init_next_generation(timers_.now_ms());
    if (g.in(group_state::empty)) {
        server_log().info("group {}: generation {} is empty", gid, g.generation());
        write(partition, {group_metadata(g, {})}, false);
        return;
    }
    server_log().info("group {}: generation {} with {} member(s), protocol {}", gid, g.generation(),
                      g.size(), g.protocol_name().value_or(""));
    std::vector<std::string> ids;
    for (const auto& [id, m] : g.members()) ids.push_back(id);
    for (const auto& id : ids) {
        group_member& m = *g.member(id);
        g.complete_join(m, current_generation(g, id, g.is_leader(id)));
        reschedule_heartbeat(partition, g, m, m.session_timeout_ms);
        m.is_new = false;
        g.add_pending_sync(id);
    }
    schedule_pending_sync(partition, g);
}

void group_coordinator::reset_and_propagate_assignment_error(int32_t partition, classic_group& g,
                                                             error_code e) {
    std::vector<std::string> ids;
    for (const auto& [id, m] : g.members()) ids.push_back(id);
    for (const auto& id : ids) g.member(id)->assignment.clear();
    propagate_assignment(partition, g, e);
}

void group_coordinator::set_and_propagate_assignment(
    int32_t partition, classic_group& g, const std::map<std::string, std::vector<uint8_t>>& a) {
    std::vector<std::string> ids;
    for (const auto& [id, m] : g.members()) ids.push_back(id);
    for (const auto& id : ids) {
        auto it = a.find(id);
        g.member(id)->assignment = it == a.end() ? std::vector<uint8_t>{} : it->second;
    }
    propagate_assignment(partition, g, error_code::none);
}

void group_coordinator::propagate_assignment(int32_t partition, classic_group& g, error_code e) {
    std::vector<std::string> ids;
    for (const auto& [id, m] : g.members()) ids.push_back(id);
    for (const auto& id : ids) {
        group_member& m = *g.member(id);
        sync_response r;
        r.error_code = to_wire(e);
        if (e == error_code::none) {
            r.protocol_name = g.protocol_name();
            r.protocol_type = g.protocol_type();
        }
        r.assignment = m.assignment;
        // The session restarts once the member has its answer.
        if (g.complete_sync(m, std::move(r))) {
            reschedule_heartbeat(partition, g, m, m.session_timeout_ms);
        }
    }
}

}  // namespace runnel::server::groups
