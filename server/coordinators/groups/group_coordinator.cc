// group_coordinator: partitions, loading (replay), persistence, timers, ListGroups and
// DescribeGroups. The other APIs are in group_join.cc, group_members.cc and group_offsets.cc.
#include "server/coordinators/groups/group_coordinator.h"

#include "server/cluster/error_mapping.h"
#include "server/config/broker_config.h"
#include "server/core/logger.h"

namespace runnel::server::groups {

using protocol::error_code;
namespace msg = protocol::msg;

coordinator_config coordinator_config::from(const broker_config& c) {
    coordinator_config out;
    out.min_session_timeout_ms = c.group_min_session_timeout_ms;
    out.max_session_timeout_ms = c.group_max_session_timeout_ms;
    out.initial_rebalance_delay_ms = c.group_initial_rebalance_delay_ms;
    out.max_group_size = c.group_max_size;
    out.consumer_heartbeat_interval_ms = c.group_consumer_heartbeat_interval_ms;
    out.consumer_session_timeout_ms = c.group_consumer_session_timeout_ms;
    out.offset_metadata_max_bytes = c.offset_metadata_max_bytes;
    out.offsets_retention_ms = int64_t{c.offsets_retention_minutes} * 60 * 1000;
    out.retention_check_interval_ms = c.offsets_retention_check_interval_ms;
    return out;
}

error_code append_error_to_response(const std::error_code& ec) {
    error_code e = map_to_kafka_error(ec);
    switch (e) {
        case error_code::unknown_topic_or_partition:
        case error_code::not_enough_replicas:
        case error_code::request_timed_out:
            return error_code::coordinator_not_available;
        case error_code::not_leader_or_follower:
        case error_code::kafka_storage_error:
            return error_code::not_coordinator;
        case error_code::message_too_large:
        case error_code::record_list_too_large:
        case error_code::invalid_fetch_size:
            return error_code::unknown_server_error;
        default:
            return e;
    }
}

group_coordinator::group_coordinator(coordinator_config config, group_timers& timers,
                                     append_fn append)
    : config_(config), timers_(timers), append_(std::move(append)) {}

group_coordinator::~group_coordinator() = default;

std::string group_coordinator::heartbeat_key(const std::string& group, const std::string& member) {
    return "session-timeout\x1f" + group + "\x1f" + member;
}

std::string group_coordinator::join_key(const std::string& group) { return "join\x1f" + group; }

std::string group_coordinator::sync_key(const std::string& group) { return "sync\x1f" + group; }

group_coordinator::partition_status group_coordinator::status(int32_t partition) const {
    auto it = partitions_.find(partition);
    if (it == partitions_.end()) return partition_status::unknown;
    return it->second.loading ? partition_status::loading : partition_status::active;
}

group_coordinator::partition_state* group_coordinator::state_of(int32_t partition) {
    auto it = partitions_.find(partition);
    return it == partitions_.end() ? nullptr : &it->second;
}

const group_coordinator::partition_state* group_coordinator::state_of(int32_t partition) const {
    auto it = partitions_.find(partition);
    return it == partitions_.end() ? nullptr : &it->second;
}

bool group_coordinator::any_loading() const {
    for (const auto& [p, ps] : partitions_) {
        if (ps.loading) return true;
    }
    return false;
}

void group_coordinator::begin_load(int32_t partition) {
    auto& ps = partitions_[partition];
    ps = partition_state{};
    ps.loading = true;
}

classic_group& group_coordinator::get_or_create_group(partition_state& ps, const std::string& id) {
    auto& slot = ps.groups[id];
    if (!slot) slot = std::make_unique<classic_group>(id, group_state::empty, timers_.now_ms());
    return *slot;
}

void group_coordinator::put_committed(partition_state& ps, const std::string& group,
                                      const std::string& topic, int32_t p, const offset_entry& e) {
    // Offsets committed without group management create a "simple" group to hold them (not for
    // a KIP-848 consumer group, which holds its own).
    if (!is_consumer_group(ps, group)) get_or_create_group(ps, group);
    ps.offsets[group][topic][p] = e;
}

void group_coordinator::apply(partition_state& ps, const group_record& r, int64_t record_offset,
                              int64_t txn_producer_id) {
    if (const auto* oc = std::get_if<offset_commit_record>(&r)) {
        const auto& k = oc->key;
        if (oc->value) {
            offset_entry e = to_offset_entry(*oc->value);
            e.record_offset = record_offset;
            if (txn_producer_id < 0) {
                put_committed(ps, k.group, k.topic, k.partition, e);
                return;
            }
            // Kafka creates the simple group for a transactional commit too.
            if (!is_consumer_group(ps, k.group)) get_or_create_group(ps, k.group);
            ps.pending.put(txn_producer_id, k.group, k.topic, k.partition, e);
            return;
        }
        ps.pending.erase(k.group, k.topic, k.partition);
        auto g = ps.offsets.find(k.group);
        if (g == ps.offsets.end()) return;
        auto t = g->second.find(k.topic);
        if (t == g->second.end()) return;
        t->second.erase(k.partition);
        if (t->second.empty()) g->second.erase(t);
        if (g->second.empty()) ps.offsets.erase(g);
        return;
    }
    if (const auto* cg = std::get_if<consumer_group_record>(&r)) {
        // Loading: applied to the group's image; the group is restored when loading ends.
        // Live, the records were made from the group's change (persist_consumer_group).
        if (ps.loading) apply_record(ps.consumer_images[cg->group_id], *cg);
        return;
    }
    const auto& gm = std::get<group_metadata_record>(r);
    const std::string& id = gm.key.group;
    if (!gm.value) {
        ps.groups.erase(id);
        return;
    }
    const auto& v = *gm.value;
    std::optional<std::string> type;
    if (!v.protocol_type.empty()) type = v.protocol_type;
    std::optional<int64_t> ts;
    if (v.current_state_timestamp != -1) ts = v.current_state_timestamp;
    auto g = std::make_unique<classic_group>(
        id, v.members.empty() ? group_state::empty : group_state::stable, v.generation, type,
        v.protocol, v.leader, ts);
    for (const auto& mm : v.members) {
        group_member m;
        m.id = mm.member_id;
        m.instance_id = mm.group_instance_id;
        m.client_id = mm.client_id;
        m.client_host = mm.client_host;
        m.rebalance_timeout_ms =
            mm.rebalance_timeout == -1 ? mm.session_timeout : mm.rebalance_timeout;
        m.session_timeout_ms = mm.session_timeout;
        m.protocol_type = v.protocol_type;
        m.protocols.push_back({v.protocol.value_or(""), mm.subscription});
        m.assignment = mm.assignment;
        g->add(std::move(m));
    }
    // add() elects the first member as leader when none is set; the record names the leader.
    g->set_leader(v.leader);
    g->refresh_subscribed_topics();
    ps.groups[id] = std::move(g);
}

void group_coordinator::replay(int32_t partition, const group_record& r, int64_t record_offset,
                               int64_t txn_producer_id) {
    if (auto* ps = state_of(partition)) apply(*ps, r, record_offset, txn_producer_id);
}

void group_coordinator::replay_marker(int32_t partition, int64_t producer_id, bool commit) {
    if (auto* ps = state_of(partition)) end_transaction(partition, *ps, producer_id, commit);
}

bool group_coordinator::is_consumer_group(const partition_state& ps, const std::string& id) {
    return ps.consumer_groups.count(id) || ps.consumer_images.count(id);
}

void group_coordinator::finish_load(int32_t partition) {
    auto* ps = state_of(partition);
    if (!ps) return;
    ps->loading = false;
    restore_consumer_groups(partition, *ps);
    size_t members = 0;
    for (auto& [id, g] : ps->groups) {
        std::vector<std::string> ids;
        for (const auto& [mid, m] : g->members()) ids.push_back(mid);
        for (const auto& mid : ids) {
            group_member* m = g->member(mid);
            reschedule_heartbeat(partition, *g, *m, m->session_timeout_ms);
            ++members;
        }
        if (g->size() > static_cast<size_t>(config_.max_group_size)) {
            // group.max.size was lowered: rebalance so that members can commit offsets.
            prepare_rebalance(partition, *g, "freshly-loaded group is over capacity");
        }
    }
    if (!ps->groups.empty()) {
        server_log().info("__consumer_offsets-{}: loaded {} group(s) with {} member(s)", partition,
                          ps->groups.size(), members);
    }
    schedule_expiry();
}

void group_coordinator::shutdown() {
    timers_.cancel_all();
    expiry_scheduled_ = false;
    for (auto& [p, ps] : partitions_) {
        for (auto& [id, g] : ps.groups) {
            g->complete_all_join(error_code::not_coordinator);
            g->complete_all_sync(error_code::not_coordinator);
        }
    }
}

std::error_code group_coordinator::write(int32_t partition,
                                         const std::vector<group_record>& records, bool replay,
                                         const std::optional<txn_producer>& txn) {
    if (records.empty()) return {};
    ++writes_;
    std::vector<protocol::record_input> inputs;
    inputs.reserve(records.size());
    const int64_t now = timers_.now_ms();
    for (const auto& r : records) inputs.push_back(encode_record(r, now));
    auto appended = append_(partition, std::move(inputs), txn);
    if (!appended) {
        // A fenced producer's TxnOffsetCommit is the client's problem, not the log's.
        const auto& ec = appended.error();
        if (txn && ec == storage::make_error_code(storage::errc::invalid_producer_epoch)) {
            server_log().info("__consumer_offsets-{}: producer {} epoch {} is fenced", partition,
                              txn->producer_id, txn->producer_epoch);
        } else {
            server_log().error("cannot append to __consumer_offsets-{}: {}", partition,
                               ec.message());
        }
        return ec;
    }
    if (replay) {
        if (auto* ps = state_of(partition)) {
            const int64_t producer = txn ? txn->producer_id : -1;
            for (size_t i = 0; i < records.size(); ++i)
                apply(*ps, records[i], *appended + static_cast<int64_t>(i), producer);
        }
    }
    return {};
}

void group_coordinator::schedule_expiry() {
    if (expiry_scheduled_) return;
    expiry_scheduled_ = true;
    timers_.schedule("expire-group-metadata", config_.retention_check_interval_ms, [this] {
        expiry_scheduled_ = false;
        expire_offsets();
        schedule_expiry();
    });
}

classic_group* group_coordinator::find_group(int32_t partition, const std::string& id) {
    auto* ps = state_of(partition);
    if (!ps) return nullptr;
    auto it = ps->groups.find(id);
    return it == ps->groups.end() ? nullptr : it->second.get();
}

const offsets_by_topic* group_coordinator::offsets_of(int32_t partition,
                                                      const std::string& group) const {
    const auto* ps = state_of(partition);
    if (!ps) return nullptr;
    auto it = ps->offsets.find(group);
    return it == ps->offsets.end() ? nullptr : &it->second;
}

const offset_entry* group_coordinator::pending_offset(int32_t partition, int64_t producer_id,
                                                      const std::string& group,
                                                      const std::string& topic, int32_t p) const {
    const auto* ps = state_of(partition);
    return ps ? ps->pending.find(producer_id, group, topic, p) : nullptr;
}

std::vector<std::string> group_coordinator::group_ids(int32_t partition) const {
    std::vector<std::string> out;
    if (const auto* ps = state_of(partition)) {
        for (const auto& [id, g] : ps->groups) out.push_back(id);
    }
    return out;
}

std::vector<msg::list_groups_response::listed_group> group_coordinator::list_groups(
    const std::set<std::string>& states, const std::set<std::string>& types) const {
    std::vector<msg::list_groups_response::listed_group> out;
    auto state_passes = [&states](std::string state) {
        if (states.empty()) return true;
        for (auto& c : state) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return states.count(state) > 0;
    };
    // KIP-848 consumer groups.
    if (types.empty() || types.count("consumer")) {
        for (const auto& [p, ps] : partitions_) {
            if (ps.loading) continue;
            for (const auto& [id, g] : ps.consumer_groups) {
                if (!state_passes(g->state())) continue;
                auto& e = out.emplace_back();
                e.group_id = id;
                e.protocol_type = "consumer";
                e.group_state = g->state();
                e.group_type = "consumer";
            }
        }
    }
    if (!types.empty() && !types.count("classic")) return out;
    for (const auto& [p, ps] : partitions_) {
        if (ps.loading) continue;
        for (const auto& [id, g] : ps.groups) {
            std::string state(state_name(g->state()));
            if (!states.empty()) {
                std::string lower = state;
                for (auto& c : lower)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                if (!states.count(lower)) continue;
            }
            auto& e = out.emplace_back();
            e.group_id = id;
            e.protocol_type = g->protocol_type().value_or("");
            e.group_state = state;
            e.group_type = "classic";
        }
    }
    return out;
}

msg::describe_groups_response::described_group group_coordinator::describe_group(
    int32_t partition, const std::string& group_id) const {
    msg::describe_groups_response::described_group d;
    d.group_id = group_id;
    const auto* ps = state_of(partition);
    const classic_group* found = nullptr;
    if (ps) {
        if (auto it = ps->groups.find(group_id); it != ps->groups.end()) found = it->second.get();
    }
    if (!found) {
        d.group_state = std::string(state_name(group_state::dead));
        return d;
    }
    const classic_group& g = *found;
    d.group_state = std::string(state_name(g.state()));
    d.protocol_type = g.protocol_type().value_or("");
    const bool stable = g.in(group_state::stable) && g.protocol_name();
    if (stable) d.protocol_data = *g.protocol_name();
    for (const auto& [id, m] : g.members()) {
        auto& dm = d.members.emplace_back();
        dm.member_id = id;
        dm.group_instance_id = m.instance_id;
        dm.client_id = m.client_id;
        dm.client_host = m.client_host;
        dm.member_assignment = m.assignment;
        if (stable) {
            if (const auto* md = m.metadata(*g.protocol_name())) dm.member_metadata = *md;
        }
    }
    return d;
}

}  // namespace runnel::server::groups
