#include "server/coordinators/groups/classic_group.h"

#include <random>
#include <stdexcept>

#include "protocol/codec.h"

namespace runnel::server::groups {

using protocol::error_code;

std::string_view state_name(group_state s) {
    switch (s) {
        case group_state::empty:
            return "Empty";
        case group_state::preparing_rebalance:
            return "PreparingRebalance";
        case group_state::completing_rebalance:
            return "CompletingRebalance";
        case group_state::stable:
            return "Stable";
        case group_state::dead:
            return "Dead";
    }
    return "Unknown";
}

namespace {

// Java's UUID.randomUUID().toString(): version 4, variant 2, lower-case 8-4-4-4-12 hex.
std::string random_uuid_text() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    uint64_t hi = rng(), lo = rng();
    hi = (hi & ~0xf000ULL) | 0x4000ULL;
    lo = (lo & ~(0xc0ULL << 56)) | (0x80ULL << 56);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (int i = 0; i < 32; ++i) {
        uint64_t word = i < 16 ? hi : lo;
        int shift = 60 - 4 * (i % 16);
        if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
        out.push_back(hex[(word >> shift) & 0xf]);
    }
    return out;
}

// PreparingRebalance may follow these states (Kafka's ClassicGroupState table).
bool valid_transition(group_state from, group_state to) {
    using S = group_state;
    switch (to) {
        case S::empty:
            return from == S::preparing_rebalance;
        case S::preparing_rebalance:
            return from == S::stable || from == S::completing_rebalance || from == S::empty;
        case S::completing_rebalance:
            return from == S::preparing_rebalance;
        case S::stable:
            return from == S::completing_rebalance;
        case S::dead:
            return true;
    }
    return false;
}

}  // namespace

const std::vector<uint8_t>* group_member::metadata(std::string_view protocol) const {
    for (const auto& p : protocols) {
        if (p.name == protocol) return &p.metadata;
    }
    return nullptr;
}

std::string group_member::vote(const std::set<std::string>& candidates) const {
    for (const auto& p : protocols) {
        if (candidates.count(p.name)) return p.name;
    }
    throw std::logic_error("member " + id + " supports none of the candidate protocols");
}

classic_group::classic_group(std::string id, group_state initial, int64_t now_ms)
    : id_(std::move(id)), state_(initial), state_timestamp_(now_ms) {}

classic_group::classic_group(std::string id, group_state initial, int32_t generation,
                             std::optional<std::string> protocol_type,
                             std::optional<std::string> protocol_name,
                             std::optional<std::string> leader,
                             std::optional<int64_t> state_timestamp)
    : id_(std::move(id)),
      state_(initial),
      state_timestamp_(state_timestamp),
      protocol_type_(std::move(protocol_type)),
      protocol_name_(std::move(protocol_name)),
      generation_(generation),
      leader_(std::move(leader)) {}

group_member* classic_group::member(const std::string& id) {
    auto it = members_.find(id);
    return it == members_.end() ? nullptr : &it->second;
}

const std::string* classic_group::static_member_id(const std::string& instance_id) const {
    auto it = static_members_.find(instance_id);
    return it == static_members_.end() ? nullptr : &it->second;
}

void classic_group::count_protocols(const group_member& m, int delta) {
    for (const auto& p : m.protocols) supported_protocols_[p.name] += delta;
}

void classic_group::add(group_member m) {
    if (m.instance_id) static_members_[*m.instance_id] = m.id;
    if (members_.empty()) protocol_type_ = m.protocol_type;
    if (!leader_) leader_ = m.id;
    count_protocols(m, +1);
    if (m.is_awaiting_join()) ++num_awaiting_join_;
    pending_join_.erase(m.id);
    std::string id = m.id;
    members_.insert_or_assign(std::move(id), std::move(m));
}

void classic_group::remove(std::string id) {  // by value: callers may pass a member's own id
    auto it = members_.find(id);
    if (it != members_.end()) {
        // Nothing stays parked for a member that is gone (Kafka would leave such a request
        // to time out on the client).
        if (it->second.is_awaiting_join()) {
            join_response r;
            r.error_code = protocol::to_wire(error_code::unknown_member_id);
            complete_join(it->second, std::move(r));
        }
        if (it->second.is_awaiting_sync()) {
            sync_response r;
            r.error_code = protocol::to_wire(error_code::unknown_member_id);
            complete_sync(it->second, std::move(r));
        }
        count_protocols(it->second, -1);
        if (it->second.instance_id) static_members_.erase(*it->second.instance_id);
        members_.erase(it);
    }
    if (is_leader(id)) {
        leader_ = members_.empty() ? std::nullopt : std::optional(members_.begin()->first);
    }
    pending_join_.erase(id);
    pending_sync_.erase(id);
}

group_member& classic_group::replace_static_member(const std::string& instance_id,
                                                   const std::string& old_id,
                                                   const std::string& new_id) {
    auto it = members_.find(old_id);
    if (it == members_.end()) throw std::logic_error("cannot replace unknown member " + old_id);
    group_member old = std::move(it->second);
    members_.erase(it);
    // Fence whatever the old member id is still waiting for.
    if (old.awaiting_join) {
        join_response r;
        r.member_id = old_id;
        r.protocol_name = std::nullopt;
        r.error_code = protocol::to_wire(error_code::fenced_instance_id);
        auto cb = std::move(old.awaiting_join);
        old.awaiting_join = nullptr;
        --num_awaiting_join_;
        cb(std::move(r));
    }
    if (old.awaiting_sync) {
        sync_response r;
        r.error_code = protocol::to_wire(error_code::fenced_instance_id);
        auto cb = std::move(old.awaiting_sync);
        old.awaiting_sync = nullptr;
        cb(std::move(r));
    }
    group_member fresh;
    fresh.id = new_id;
    fresh.instance_id = old.instance_id;
    fresh.client_id = old.client_id;
    fresh.client_host = old.client_host;
    fresh.rebalance_timeout_ms = old.rebalance_timeout_ms;
    fresh.session_timeout_ms = old.session_timeout_ms;
    fresh.protocol_type = old.protocol_type;
    fresh.protocols = old.protocols;
    fresh.assignment = old.assignment;
    if (is_leader(old_id)) leader_ = new_id;
    static_members_[instance_id] = new_id;
    return members_.insert_or_assign(new_id, std::move(fresh)).first->second;
}

bool classic_group::maybe_elect_new_joined_leader() {
    if (!leader_) return false;
    auto* current = member(*leader_);
    if (current && current->is_awaiting_join()) return true;
    for (auto& [id, m] : members_) {
        if (m.is_awaiting_join()) {
            leader_ = id;
            return true;
        }
    }
    return false;
}

std::vector<std::string> classic_group::not_yet_rejoined_members() const {
    std::vector<std::string> out;
    for (const auto& [id, m] : members_) {
        if (!m.is_awaiting_join()) out.push_back(id);
    }
    return out;
}

int32_t classic_group::rebalance_timeout_ms() const {
    int32_t most = 0;
    for (const auto& [id, m] : members_) most = std::max(most, m.rebalance_timeout_ms);
    return most;
}

std::string classic_group::generate_member_id(const std::string& client_id,
                                              const std::optional<std::string>& instance_id) {
    return (instance_id ? *instance_id : client_id) + "-" + random_uuid_text();
}

error_code classic_group::validate_member(const std::string& member_id,
                                          const std::optional<std::string>& instance_id) const {
    if (instance_id) {
        const std::string* existing = static_member_id(*instance_id);
        if (!existing) return error_code::unknown_member_id;
        if (*existing != member_id) return error_code::fenced_instance_id;
    }
    return has_member(member_id) ? error_code::none : error_code::unknown_member_id;
}

error_code classic_group::validate_offset_commit(const std::string& member_id,
                                                 const std::optional<std::string>& instance_id,
                                                 int32_t generation, bool transactional) const {
    if (in(group_state::dead)) return error_code::coordinator_not_available;
    // Generation -1 on an empty group: a consumer without group management (assign() + commit)
    // or the admin client.
    if (generation < 0 && in(group_state::empty)) return error_code::none;
    if (generation >= 0 || !member_id.empty() || instance_id) {
        if (auto e = validate_member(member_id, instance_id); e != error_code::none) return e;
        if (generation != generation_) return error_code::illegal_generation;
    } else if (!transactional && !in(group_state::empty)) {
        // No member id and no generation: only accepted while the group has no members.
        return error_code::unknown_member_id;
    }
    // The member got the new generation from JoinGroup but has not synced yet.
    if (!transactional && in(group_state::completing_rebalance))
        return error_code::rebalance_in_progress;
    return error_code::none;
}

bool classic_group::can_rebalance() const {
    return valid_transition(state_, group_state::preparing_rebalance);
}

void classic_group::transition_to(group_state s, int64_t now_ms) {
    if (!valid_transition(state_, s)) {
        throw std::logic_error("group " + id_ + ": invalid transition from " +
                               std::string(state_name(state_)) + " to " +
                               std::string(state_name(s)));
    }
    previous_state_ = state_;
    state_ = s;
    state_timestamp_ = now_ms;
}

std::string classic_group::select_protocol() const {
    if (members_.empty()) throw std::logic_error("cannot select a protocol for an empty group");
    std::set<std::string> candidates;
    for (const auto& [name, count] : supported_protocols_) {
        if (count == static_cast<int>(members_.size())) candidates.insert(name);
    }
    std::map<std::string, int> votes;
    for (const auto& [id, m] : members_) votes[m.vote(candidates)]++;
    // Most votes wins; a tie goes to the protocol first in name order.
    std::string best;
    int most = -1;
    for (const auto& [name, n] : votes) {
        if (n > most) {
            best = name;
            most = n;
        }
    }
    return best;
}

bool classic_group::supports_protocols(const std::string& protocol_type,
                                       const std::vector<member_protocol>& protocols) const {
    if (in(group_state::empty)) return !protocol_type.empty() && !protocols.empty();
    if (!protocol_type_ || *protocol_type_ != protocol_type) return false;
    for (const auto& p : protocols) {
        auto it = supported_protocols_.find(p.name);
        if (it != supported_protocols_.end() && it->second == static_cast<int>(members_.size())) {
            return true;
        }
    }
    return false;
}

void classic_group::update_member(group_member& m, std::vector<member_protocol> protocols,
                                  int32_t rebalance_timeout_ms, int32_t session_timeout_ms,
                                  join_callback callback) {
    count_protocols(m, -1);
    m.protocols = std::move(protocols);
    count_protocols(m, +1);
    m.rebalance_timeout_ms = rebalance_timeout_ms;
    m.session_timeout_ms = session_timeout_ms;
    if (callback && !m.is_awaiting_join()) {
        ++num_awaiting_join_;
    } else if (!callback && m.is_awaiting_join()) {
        --num_awaiting_join_;
    }
    m.awaiting_join = std::move(callback);
}

bool classic_group::complete_join(group_member& m, join_response r) {
    if (!m.is_awaiting_join()) return false;
    auto cb = std::move(m.awaiting_join);
    m.awaiting_join = nullptr;
    --num_awaiting_join_;
    cb(std::move(r));
    return true;
}

void classic_group::complete_all_join(error_code e) {
    for (auto& [id, m] : members_) {
        join_response r;
        r.member_id = id;
        r.error_code = protocol::to_wire(e);
        complete_join(m, std::move(r));
    }
}

bool classic_group::complete_sync(group_member& m, sync_response r) {
    if (!m.is_awaiting_sync()) return false;
    auto cb = std::move(m.awaiting_sync);
    m.awaiting_sync = nullptr;
    cb(std::move(r));
    return true;
}

void classic_group::complete_all_sync(error_code e) {
    for (auto& [id, m] : members_) {
        sync_response r;
        r.error_code = protocol::to_wire(e);
        complete_sync(m, std::move(r));
    }
}

void classic_group::init_next_generation(int64_t now_ms) {
    ++generation_;
    if (!members_.empty()) {
        protocol_name_ = select_protocol();
        subscribed_ = compute_subscribed_topics();
        transition_to(group_state::completing_rebalance, now_ms);
    } else {
        protocol_name_.reset();
        subscribed_ = compute_subscribed_topics();
        transition_to(group_state::empty, now_ms);
    }
    pending_sync_.clear();
}

std::vector<join_response::join_group_response_member> classic_group::leader_member_list() const {
    std::vector<join_response::join_group_response_member> out;
    for (const auto& [id, m] : members_) {
        auto& e = out.emplace_back();
        e.member_id = id;
        e.group_instance_id = m.instance_id;
        if (protocol_name_) {
            if (const auto* md = m.metadata(*protocol_name_)) e.metadata = *md;
        }
    }
    return out;
}

std::map<std::string, std::vector<uint8_t>> classic_group::assignments() const {
    std::map<std::string, std::vector<uint8_t>> out;
    for (const auto& [id, m] : members_) out[id] = m.assignment;
    return out;
}

bool classic_group::is_subscribed_to_topic(const std::string& topic) const {
    if (subscribed_) return subscribed_->count(topic) != 0;
    return uses_consumer_protocol();
}

std::optional<std::set<std::string>> classic_group::compute_subscribed_topics() const {
    if (!uses_consumer_protocol()) return std::nullopt;
    if (members_.empty()) return std::set<std::string>{};
    if (!protocol_name_) return std::nullopt;
    std::set<std::string> all;
    for (const auto& [id, m] : members_) {
        const auto* md = m.metadata(*protocol_name_);
        auto topics = md ? parse_subscription_topics(*md) : std::nullopt;
        if (!topics) return std::nullopt;  // cannot tell which topics the group uses
        all.insert(topics->begin(), topics->end());
    }
    return all;
}

std::optional<std::vector<std::string>> parse_subscription_topics(
    const std::vector<uint8_t>& metadata) {
    protocol::reader r(metadata.data(), metadata.size());
    int16_t version = r.read_int16();
    if (!r.ok() || version < 0) return std::nullopt;
    int32_t n = r.read_array_length(false);
    if (!r.ok() || n < 0) return std::nullopt;
    std::vector<std::string> topics;
    topics.reserve(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) {
        topics.push_back(r.read_string(false));
        if (!r.ok()) return std::nullopt;
    }
    return topics;
}

}  // namespace runnel::server::groups
