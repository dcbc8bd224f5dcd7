// group_coordinator: OffsetCommit, OffsetFetch, OffsetDelete, DeleteGroups and offset expiry
// (Kafka's OffsetMetadataManager and the group clean-up of GroupCoordinatorShard), with their
// rules for the pending offsets of open transactions.
#include <algorithm>

#include "server/coordinators/groups/commit_requests.h"
#include "server/coordinators/groups/group_coordinator.h"
#include "server/core/logger.h"

namespace runnel::server::groups {

using protocol::error_code;
using protocol::to_wire;
namespace msg = protocol::msg;

error_code group_coordinator::validate_commit(
    partition_state& ps, int32_t partition, const std::string& group_id,
    const std::string& member_id, const std::optional<std::string>& instance_id, int32_t generation,
    int16_t version, bool transactional,
    const std::vector<std::pair<std::string, int32_t>>& partitions) {
    if (consumer_group* cg = find_consumer_group(partition, group_id)) {
        // KIP-848 (Kafka's ConsumerGroup.validateOffsetCommit): an empty group takes commits
        // without a member (epoch < 0); otherwise the member id and member epoch must match.
        if (generation < 0 && cg->empty()) return error_code::none;
        const consumer_member* m = cg->find_member(member_id);
        if (!m) return error_code::unknown_member_id;
        // An older epoch is accepted for partitions the member has owned since that epoch:
        // librdkafka commits at the epoch it knows while the heartbeat answer that moves it is
        // on its way, and the commit is still the owner's.
        const bool owner_since =
            generation < m->member_epoch && !transactional && !partitions.empty() &&
            std::all_of(partitions.begin(), partitions.end(), [&](const auto& tp) {
                return m->owned_at(tp.first, tp.second, generation);
            });
        if (generation != m->member_epoch && !owner_since) {
            // A stale epoch is ILLEGAL_GENERATION for transactional commits, as in Kafka.
            return version >= 9 && !transactional ? error_code::stale_member_epoch
                                                  : error_code::illegal_generation;
        }
        return error_code::none;
    }
    classic_group* g = find_group(partition, group_id);
    if (!g) {
        if (generation >= 0) {
            // OffsetCommit v9+ says so; older versions and TxnOffsetCommit get
            // ILLEGAL_GENERATION.
            return version >= 9 && !transactional ? error_code::group_id_not_found
                                                  : error_code::illegal_generation;
        }
        // Offsets committed without group management: a "simple" group holds them.
        g = &get_or_create_group(ps, group_id);
    }
    return g->validate_offset_commit(member_id, instance_id, generation, transactional);
}

msg::offset_commit_response group_coordinator::commit_offsets(int32_t partition,
                                                              const msg::offset_commit_request& req,
                                                              int16_t version) {
    auto resp = answer_each_partition<msg::offset_commit_response>(req);
    partition_state* ps = state_of(partition);
    if (!ps || ps->loading) {
        answer_all(resp, error_code::coordinator_load_in_progress);
        return resp;
    }
    std::vector<std::pair<std::string, int32_t>> covered;
    for (const auto& t : req.topics) {
        for (const auto& p : t.partitions) covered.emplace_back(t.name, p.partition_index);
    }
    if (auto e = validate_commit(*ps, partition, req.group_id, req.member_id, req.group_instance_id,
                                 req.generation_id_or_member_epoch, version, false, covered);
        e != error_code::none) {
        answer_all(resp, e);
        return resp;
    }
    // A commit keeps a classic group member's session alive.
    classic_group* g = find_consumer_group(partition, req.group_id)
                           ? nullptr
                           : find_group(partition, req.group_id);
    if (g && (g->in(group_state::stable) || g->in(group_state::preparing_rebalance))) {
        if (group_member* m = g->member(req.member_id)) {
            reschedule_heartbeat(partition, *g, *m, m->session_timeout_ms);
        }
    }
    const int64_t now = timers_.now_ms();
    std::optional<int64_t> expire;
    if (req.retention_time_ms != -1) expire = now + req.retention_time_ms;
    auto records = commit_records(
        req, resp, config_.offset_metadata_max_bytes, [&](offset_entry& e, const auto& p) {
            e.commit_timestamp = p.commit_timestamp == -1 ? now : p.commit_timestamp;
            e.expire_timestamp = expire;
        });
    if (auto ec = write(partition, records, true))
        answer_all(resp, append_error_to_response(ec), true);
    return resp;
}

fetch_group_result group_coordinator::fetch_offsets(int32_t partition, const std::string& group_id,
                                                    const fetch_topics& topics,
                                                    bool require_stable) {
    fetch_group_result out;
    out.group_id = group_id;
    const partition_state* ps = state_of(partition);
    if (!ps || ps->loading) {
        out.error_code = to_wire(error_code::coordinator_load_in_progress);
        return out;
    }
    // KIP-447: a consumer asking for stable offsets (read_committed) must not start from an
    // offset an open transaction is about to replace; it retries on UNSTABLE_OFFSET_COMMIT.
    auto unstable = [&](const std::string& topic, int32_t p) {
        return require_stable && ps->pending.has(group_id, topic, p);
    };
    const auto unstable_error = to_wire(error_code::unstable_offset_commit);
    const offsets_by_topic* offsets = offsets_of(partition, group_id);
    if (topics) {
        for (const auto& t : *topics) {
            auto& rt = out.topics.emplace_back();
            rt.name = t.name;
            const std::map<int32_t, offset_entry>* committed = nullptr;
            if (offsets) {
                if (auto it = offsets->find(t.name); it != offsets->end()) committed = &it->second;
            }
            for (int32_t p : t.partition_indexes) {
                auto& rp = rt.partitions.emplace_back();
                rp.partition_index = p;
                rp.committed_offset = -1;
                rp.metadata = "";
                if (unstable(t.name, p)) {
                    rp.error_code = unstable_error;
                    continue;
                }
                if (!committed) continue;
                if (auto it = committed->find(p); it != committed->end()) {
                    rp.committed_offset = it->second.offset;
                    rp.committed_leader_epoch = it->second.leader_epoch;
                    rp.metadata = it->second.metadata;
                }
            }
        }
        return out;
    }
    if (!offsets) return out;
    for (const auto& [topic, parts] : *offsets) {
        auto& rt = out.topics.emplace_back();
        rt.name = topic;
        for (const auto& [p, e] : parts) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p;
            if (unstable(topic, p)) {
                rp.committed_offset = -1;
                rp.metadata = "";
                rp.error_code = unstable_error;
                continue;
            }
            rp.committed_offset = e.offset;
            rp.committed_leader_epoch = e.leader_epoch;
            rp.metadata = e.metadata;
        }
    }
    return out;
}

msg::offset_delete_response group_coordinator::delete_offsets(
    int32_t partition, const msg::offset_delete_request& req) {
    msg::offset_delete_response resp;
    partition_state* ps = state_of(partition);
    if (!ps || ps->loading) {
        resp.error_code = to_wire(error_code::coordinator_load_in_progress);
        return resp;
    }
    classic_group* g = find_group(partition, req.group_id);
    if (!g || g->in(group_state::dead)) {
        resp.error_code = to_wire(error_code::group_id_not_found);
        return resp;
    }
    // A non-empty group may only drop offsets of topics it does not consume (consumer protocol).
    if (!g->in(group_state::empty) && !g->uses_consumer_protocol()) {
        resp.error_code = to_wire(error_code::non_empty_group);
        return resp;
    }
    const offsets_by_topic* offsets = offsets_of(partition, req.group_id);
    std::vector<group_record> records;
    for (const auto& t : req.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        const bool subscribed = g->is_subscribed_to_topic(t.name);
        for (const auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition_index;
            if (subscribed) {
                rp.error_code = to_wire(error_code::group_subscribed_to_topic);
                continue;
            }
            // A tombstone also drops the offset an open transaction holds, as in Kafka.
            bool committed = false;
            if (offsets) {
                auto it = offsets->find(t.name);
                committed = it != offsets->end() && it->second.count(p.partition_index);
            }
            if (committed || ps->pending.has(req.group_id, t.name, p.partition_index)) {
                records.push_back(offset_tombstone(req.group_id, t.name, p.partition_index));
            }
        }
    }
    if (auto ec = write(partition, records, true)) {
        resp.error_code = to_wire(append_error_to_response(ec));
        resp.topics.clear();
    }
    return resp;
}

error_code group_coordinator::delete_group(int32_t partition, const std::string& group_id) {
    partition_state* ps = state_of(partition);
    if (!ps || ps->loading) return error_code::coordinator_load_in_progress;
    std::vector<group_record> records;
    auto cg = ps->consumer_groups.find(group_id);
    if (cg != ps->consumer_groups.end()) {
        // A KIP-848 consumer group: deletable once it has no members; its own records go too.
        if (!cg->second->empty()) return error_code::non_empty_group;
        records = consumer_group_tombstones(*cg->second);
    } else {
        classic_group* g = find_group(partition, group_id);
        if (!g || g->in(group_state::dead)) return error_code::group_id_not_found;
        if (!g->in(group_state::empty)) return error_code::non_empty_group;
    }
    // Kafka deletes a group with open transactions too: the tombstones also cover the offsets
    // the transactions hold (once each), so their markers find nothing to commit.
    std::set<std::pair<std::string, int32_t>> doomed = ps->pending.partitions_of(group_id);
    if (const offsets_by_topic* offsets = offsets_of(partition, group_id)) {
        for (const auto& [topic, parts] : *offsets) {
            for (const auto& [p, e] : parts) doomed.emplace(topic, p);
        }
    }
    const size_t offsets_deleted = doomed.size();
    for (const auto& [topic, p] : doomed) records.push_back(offset_tombstone(group_id, topic, p));
    if (cg == ps->consumer_groups.end()) records.push_back(group_tombstone(group_id));
    if (auto ec = write(partition, records, true)) return append_error_to_response(ec);
    if (cg != ps->consumer_groups.end()) ps->consumer_groups.erase(cg);
    server_log().info("deleted group {} and {} offset(s)", group_id, offsets_deleted);
    return error_code::none;
}

void group_coordinator::expire_offsets() {
    const int64_t now = timers_.now_ms();
    const int64_t retention = config_.offsets_retention_ms;
    for (auto& [partition, ps] : partitions_) {
        if (ps.loading) continue;
        std::vector<group_record> records;
        size_t expired = 0;
        for (auto& [id, gp] : ps.groups) {
            const classic_group& g = *gp;
            bool all_expired = true;
            auto it = ps.offsets.find(id);
            if (it != ps.offsets.end()) {
                // When an offset's retention starts (Kafka's offsetExpirationCondition).
                enum class base { none, state_change, commit } from = base::none;
                if (!g.protocol_type()) {
                    from = base::commit;  // a simple group: since the commit
                } else if (g.in(group_state::empty)) {
                    from = base::state_change;  // since the group became empty
                } else if (g.uses_consumer_protocol() && g.subscribed_topics() &&
                           g.in(group_state::stable)) {
                    from = base::commit;  // topics the group no longer consumes
                }
                if (from == base::none) continue;  // nothing expires in this group
                for (const auto& [topic, parts] : it->second) {
                    if (g.is_subscribed_to_topic(topic)) {
                        all_expired = false;
                        continue;
                    }
                    for (const auto& [p, e] : parts) {
                        // Kafka keeps an offset an open transaction is about to replace.
                        if (ps.pending.has(id, topic, p)) {
                            all_expired = false;
                            continue;
                        }
                        bool gone;
                        if (e.expire_timestamp) {
                            gone = now >= *e.expire_timestamp;  // OffsetCommit v2-4 retention
                        } else {
                            int64_t start = e.commit_timestamp;
                            if (from == base::state_change && g.state_timestamp()) {
                                start = *g.state_timestamp();
                            }
                            gone = now - start >= retention;
                        }
                        if (gone) {
                            records.push_back(offset_tombstone(id, topic, p));
                            ++expired;
                        } else {
                            all_expired = false;
                        }
                    }
                }
            }
            // An empty group whose offsets are all gone is deleted, unless a transaction that
            // committed offsets for it is still open (Kafka's rule; it checks that only for groups
            // with committed offsets, we for every group, so the offsets such a transaction
            // commits later keep their group).
            if (all_expired && g.in(group_state::empty) && !ps.pending.has_open_transaction(id))
                records.push_back(group_tombstone(id));
        }
        if (records.empty()) continue;
        server_log().info("__consumer_offsets-{}: expired {} offset(s), {} tombstone(s)", partition,
                          expired, records.size());
        write(partition, records, true);
    }
}

}  // namespace runnel::server::groups
