// group_coordinator: SyncGroup, Heartbeat, LeaveGroup, and the member timers (session expiry,
// pending sync expiry).
#include "server/coordinators/groups/group_coordinator.h"
#include "server/core/logger.h"

namespace runnel::server::groups {

using protocol::error_code;
using protocol::to_wire;
namespace msg = protocol::msg;

namespace {

sync_response sync_error(error_code e) {
    sync_response r;
    r.error_code = to_wire(e);
    return r;
}

// A protocol type/name the request names that differs from the group's.
bool inconsistent(const std::optional<std::string>& requested,
                  const std::optional<std::string>& group) {
    return requested && group && *requested != *group;
}

}  // namespace

void group_coordinator::sync(int32_t partition, const msg::sync_group_request& req,
                             sync_callback done) {
    if (req.group_id.empty()) return done(sync_error(error_code::invalid_group_id));
    partition_state* ps = state_of(partition);
    if (!ps || ps->loading) return done(sync_error(error_code::coordinator_load_in_progress));
    classic_group* g = find_group(partition, req.group_id);
    if (!g || g->in(group_state::empty)) return done(sync_error(error_code::unknown_member_id));
    if (g->in(group_state::dead)) return done(sync_error(error_code::coordinator_not_available));
    if (auto e = g->validate_member(req.member_id, req.group_instance_id); e != error_code::none) {
        return done(sync_error(e));
    }
    if (req.generation_id != g->generation())
        return done(sync_error(error_code::illegal_generation));
    if (inconsistent(req.protocol_type, g->protocol_type()) ||
        inconsistent(req.protocol_name, g->protocol_name())) {
        return done(sync_error(error_code::inconsistent_group_protocol));
    }
    group_member& m = *g->member(req.member_id);
    switch (g->state()) {
        case group_state::preparing_rebalance:
            return done(sync_error(error_code::rebalance_in_progress));
        case group_state::completing_rebalance: {
            // Followers wait here until the leader's assignment is stored.
            m.awaiting_sync = std::move(done);
            remove_pending_sync_member(*g, req.member_id);
            if (!g->is_leader(req.member_id)) return;
            std::map<std::string, std::vector<uint8_t>> assignment;
            for (const auto& a : req.assignments) assignment[a.member_id] = a.assignment;
            for (const auto& [id, member] : g->members()) assignment.try_emplace(id);
            server_log().info("group {}: assignment from leader {} for generation {} ({} members)",
                              g->id(), req.member_id, g->generation(), g->size());
            if (auto ec = write(partition, {group_metadata(*g, assignment)}, false)) {
                const error_code e = append_error_to_response(ec);
                reset_and_propagate_assignment_error(partition, *g, e);
                return maybe_prepare_rebalance_or_complete_join(
                    partition, *g, "cannot store the group assignment");
            }
            set_and_propagate_assignment(partition, *g, assignment);
            g->transition_to(group_state::stable, timers_.now_ms());
            return;
        }
        case group_state::stable: {
            remove_pending_sync_member(*g, req.member_id);
            sync_response r;
            r.protocol_type = g->protocol_type();
            r.protocol_name = g->protocol_name();
            r.assignment = m.assignment;
            return done(std::move(r));
        }
        default:
            return done(sync_error(error_code::unknown_member_id));
    }
}

error_code group_coordinator::heartbeat(int32_t partition, const msg::heartbeat_request& req) {
    if (req.group_id.empty()) return error_code::invalid_group_id;
    partition_state* ps = state_of(partition);
    // Kafka answers a heartbeat for a loading group with NONE.
    if (!ps || ps->loading) return error_code::none;
    classic_group* g = find_group(partition, req.group_id);
    if (!g) return error_code::unknown_member_id;
    if (g->in(group_state::dead)) return error_code::coordinator_not_available;
    if (auto e = g->validate_member(req.member_id, req.group_instance_id); e != error_code::none) {
        return e;
    }
    if (req.generation_id != g->generation()) return error_code::illegal_generation;
    group_member& m = *g->member(req.member_id);
    switch (g->state()) {
        case group_state::preparing_rebalance:
            reschedule_heartbeat(partition, *g, m, m.session_timeout_ms);
            return error_code::rebalance_in_progress;
        case group_state::completing_rebalance:
        case group_state::stable:
            // Heartbeats may start right after the JoinGroup response.
            reschedule_heartbeat(partition, *g, m, m.session_timeout_ms);
            return error_code::none;
        default:
            return error_code::unknown_member_id;
    }
}

msg::leave_group_response group_coordinator::leave(int32_t partition,
                                                   const msg::leave_group_request& req) {
    msg::leave_group_response resp;
    if (req.group_id.empty()) {
        resp.error_code = to_wire(error_code::invalid_group_id);
        return resp;
    }
    partition_state* ps = state_of(partition);
    if (!ps || ps->loading) {
        resp.error_code = to_wire(error_code::coordinator_load_in_progress);
        return resp;
    }
    classic_group* g = find_group(partition, req.group_id);
    if (!g) {
        for (const auto& m : req.members) {
            resp.members.push_back(
                {m.member_id, m.group_instance_id, to_wire(error_code::unknown_member_id), {}});
        }
        return resp;
    }
    if (g->in(group_state::dead)) {
        resp.error_code = to_wire(error_code::coordinator_not_available);
        return resp;
    }
    std::vector<std::string> left;
    for (const auto& m : req.members) {
        error_code e = error_code::none;
        if (m.member_id.empty()) {
            // An admin removing a static member by instance id alone.
            const std::string* id =
                m.group_instance_id ? g->static_member_id(*m.group_instance_id) : nullptr;
            if (id) {
                const std::string copy = *id;
                remove_current_member(*g, copy);
            } else {
                e = error_code::unknown_member_id;
            }
        } else if (g->is_pending(m.member_id)) {
            g->remove(m.member_id);
            timers_.cancel(heartbeat_key(g->id(), m.member_id));
        } else {
            e = g->validate_member(m.member_id, m.group_instance_id);
            if (e == error_code::none) remove_current_member(*g, m.member_id);
        }
        if (e == error_code::none) left.push_back(m.member_id);
        resp.members.push_back({m.member_id, m.group_instance_id, to_wire(e), {}});
    }
    if (!left.empty()) {
        server_log().info("group {}: {} member(s) left", g->id(), left.size());
        switch (g->state()) {
            case group_state::stable:
            case group_state::completing_rebalance:
                maybe_prepare_rebalance_or_complete_join(partition, *g, "members left the group");
                break;
            case group_state::preparing_rebalance:
                maybe_complete_join_phase(partition, *g);
                break;
            default:
                break;
        }
    }
    return resp;
}

void group_coordinator::remove_current_member(classic_group& g, const std::string& member_id) {
    timers_.cancel(heartbeat_key(g.id(), member_id));
    if (group_member* m = g.member(member_id)) {
        join_response r;
        r.error_code = to_wire(error_code::unknown_member_id);
        g.complete_join(*m, std::move(r));
    }
    g.remove(member_id);
}

void group_coordinator::reschedule_heartbeat(int32_t partition, classic_group& g, group_member& m,
                                             int64_t timeout_ms) {
    const std::string gid = g.id();
    const std::string mid = m.id;
    timers_.schedule(heartbeat_key(gid, mid), timeout_ms,
                     [this, partition, gid, mid] { expire_heartbeat(partition, gid, mid); });
}

void group_coordinator::expire_heartbeat(int32_t partition, const std::string& group_id,
                                         const std::string& member_id) {
    classic_group* g = find_group(partition, group_id);
    if (!g || g->in(group_state::dead)) return;
    if (g->is_pending(member_id)) {
        server_log().info("group {}: pending member {} expired", group_id, member_id);
        return remove_pending_member_and_update(partition, *g, member_id);
    }
    group_member* m = g->member(member_id);
    // A parked JoinGroup or SyncGroup keeps the session alive.
    if (!m || m->has_satisfied_heartbeat()) return;
    server_log().info("group {}: member {} failed (session timeout), removing it", group_id,
                      member_id);
    remove_member_and_update(partition, *g, *m, "member " + member_id + " expired");
}

void group_coordinator::remove_member_and_update(int32_t partition, classic_group& g,
                                                 group_member& m, const std::string& reason) {
    // A new member may expire with its JoinGroup still parked: tell it to rejoin.
    join_response r;
    r.error_code = to_wire(error_code::unknown_member_id);
    g.complete_join(m, std::move(r));
    g.remove(m.id);
    if (g.in(group_state::stable) || g.in(group_state::completing_rebalance)) {
        maybe_prepare_rebalance_or_complete_join(partition, g, reason);
    } else if (g.in(group_state::preparing_rebalance) && g.has_all_members_joined()) {
        complete_join(partition, g);
    }
}

void group_coordinator::remove_pending_member_and_update(int32_t partition, classic_group& g,
                                                         const std::string& member_id) {
    g.remove(member_id);
    if (g.in(group_state::preparing_rebalance) && g.has_all_members_joined()) {
        complete_join(partition, g);
    }
}

void group_coordinator::schedule_pending_sync(int32_t partition, classic_group& g) {
    const std::string gid = g.id();
    const int32_t generation = g.generation();
    timers_.schedule(sync_key(gid), g.rebalance_timeout_ms(), [this, partition, gid, generation] {
        expire_pending_sync(partition, gid, generation);
    });
}

void group_coordinator::remove_sync_expiration(classic_group& g) {
    g.clear_pending_sync();
    timers_.cancel(sync_key(g.id()));
}

void group_coordinator::remove_pending_sync_member(classic_group& g, const std::string& member_id) {
    g.remove_pending_sync(member_id);
    const bool waiting = g.in(group_state::completing_rebalance) || g.in(group_state::stable);
    if (!waiting || g.has_received_sync_from_all()) timers_.cancel(sync_key(g.id()));
}

void group_coordinator::expire_pending_sync(int32_t partition, const std::string& group_id,
                                            int32_t generation) {
    classic_group* g = find_group(partition, group_id);
    if (!g || g->generation() != generation) return;
    if (!g->in(group_state::completing_rebalance) && !g->in(group_state::stable)) return;
    if (g->has_received_sync_from_all()) return;
    // Members that got their JoinGroup response but never sent SyncGroup are out.
    const std::set<std::string> missing = g->pending_sync();
    for (const auto& id : missing) {
        g->remove(id);
        timers_.cancel(heartbeat_key(group_id, id));
    }
    server_log().info("group {}: removed {} member(s) that did not send SyncGroup", group_id,
                      missing.size());
    prepare_rebalance(partition, *g, "pending SyncGroup expired");
}

}  // namespace runnel::server::groups
