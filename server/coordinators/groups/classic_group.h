// A classic-protocol consumer group (JoinGroup / SyncGroup / Heartbeat / LeaveGroup): members,
// generation, protocol selection, states and static members. Pure state: no timers, no I/O; the
// coordinator (group_coordinator) drives it. Mirrors Kafka's ClassicGroup.
//
// States: Empty → PreparingRebalance → CompletingRebalance → Stable, back to PreparingRebalance on
// any membership change; Dead once deleted.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errors.h"
#include "protocol/messages/join_group.h"
#include "protocol/messages/sync_group.h"

namespace runnel::server::groups {

enum class group_state : uint8_t { empty, preparing_rebalance, completing_rebalance, stable, dead };

// Kafka's names: "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead".
std::string_view state_name(group_state s);

inline constexpr std::string_view consumer_protocol_type = "consumer";

struct member_protocol {
    std::string name;
    std::vector<uint8_t> metadata;
    bool operator==(const member_protocol&) const = default;
};

using join_response = protocol::msg::join_group_response;
using sync_response = protocol::msg::sync_group_response;
// Completes a parked JoinGroup / SyncGroup. Set while the member waits, empty otherwise.
using join_callback = std::function<void(join_response)>;
using sync_callback = std::function<void(sync_response)>;

struct group_member {
    std::string id;
    std::optional<std::string> instance_id;  // group.instance.id of a static member (KIP-345)
    std::string client_id;
    std::string client_host;
    int32_t rebalance_timeout_ms = 0;
    int32_t session_timeout_ms = 0;
    std::string protocol_type;
    std::vector<member_protocol> protocols;  // in the member's order of preference
    std::vector<uint8_t> assignment;
    join_callback awaiting_join;
    sync_callback awaiting_sync;
    bool is_new = false;  // joined but has not yet received its first JoinGroup response

    bool is_awaiting_join() const { return static_cast<bool>(awaiting_join); }
    bool is_awaiting_sync() const { return static_cast<bool>(awaiting_sync); }
    bool is_static() const { return instance_id.has_value(); }
    // The metadata the member sent for `protocol`, or nullptr.
    const std::vector<uint8_t>* metadata(std::string_view protocol) const;
    // A parked JoinGroup or SyncGroup counts as a heartbeat, except for a new member.
    bool has_satisfied_heartbeat() const {
        return !is_new && (is_awaiting_join() || is_awaiting_sync());
    }
    bool matches(const std::vector<member_protocol>& p) const { return p == protocols; }
    // The first of this member's protocols found in `candidates`.
    std::string vote(const std::set<std::string>& candidates) const;
};

class classic_group {
  public:
    classic_group(std::string id, group_state initial, int64_t now_ms);
    // A group as loaded from its GroupMetadata record.
    classic_group(std::string id, group_state initial, int32_t generation,
                  std::optional<std::string> protocol_type,
                  std::optional<std::string> protocol_name, std::optional<std::string> leader,
                  std::optional<int64_t> state_timestamp);

    const std::string& id() const { return id_; }
    group_state state() const { return state_; }
    group_state previous_state() const { return previous_state_; }
    bool in(group_state s) const { return state_ == s; }
    int32_t generation() const { return generation_; }
    const std::optional<std::string>& protocol_type() const { return protocol_type_; }
    const std::optional<std::string>& protocol_name() const { return protocol_name_; }
    const std::optional<std::string>& leader() const { return leader_; }
    std::optional<int64_t> state_timestamp() const { return state_timestamp_; }
    // A group created only to hold offsets committed without group management.
    bool is_simple() const { return !protocol_type_ && members_.empty() && pending_join_.empty(); }
    bool uses_consumer_protocol() const { return protocol_type_ == consumer_protocol_type; }

    // Members, ordered by member id.
    const std::map<std::string, group_member>& members() const { return members_; }
    bool has_member(const std::string& id) const { return members_.count(id) != 0; }
    group_member* member(const std::string& id);
    size_t size() const { return members_.size(); }
    bool is_leader(const std::string& id) const { return leader_ && *leader_ == id; }

    // Adds a member (its awaiting_join, if set, counts it as awaiting a JoinGroup response).
    void add(group_member m);
    // Removes a member (no-op when unknown); elects another leader when it led.
    void remove(std::string id);
    // KIP-345: a static member rejoined without its member id. Fences the old id (any parked
    // JoinGroup / SyncGroup of it gets FENCED_INSTANCE_ID) and moves it to `new_id`.
    group_member& replace_static_member(const std::string& instance_id, const std::string& old_id,
                                        const std::string& new_id);
    // If the leader did not rejoin, another member that did becomes leader. False when no
    // member rejoined.
    bool maybe_elect_new_joined_leader();
    void set_leader(std::optional<std::string> leader) { leader_ = std::move(leader); }

    // KIP-394 pending members: given a member id, not yet joined with it.
    bool is_pending(const std::string& id) const { return pending_join_.count(id) != 0; }
    void add_pending(const std::string& id) { pending_join_.insert(id); }
    size_t num_pending_join() const { return pending_join_.size(); }

    void add_pending_sync(const std::string& id) { pending_sync_.insert(id); }
    void remove_pending_sync(const std::string& id) { pending_sync_.erase(id); }
    bool has_received_sync_from_all() const { return pending_sync_.empty(); }
    const std::set<std::string>& pending_sync() const { return pending_sync_; }
    void clear_pending_sync() { pending_sync_.clear(); }

    bool has_static_member(const std::string& instance_id) const {
        return static_members_.count(instance_id) != 0;
    }
    // The member id of a static member, or nullptr.
    const std::string* static_member_id(const std::string& instance_id) const;
    size_t num_static_members() const { return static_members_.size(); }

    std::vector<std::string> not_yet_rejoined_members() const;
    bool has_all_members_joined() const {
        return members_.size() == num_awaiting_join_ && pending_join_.empty();
    }
    size_t num_awaiting_join() const { return num_awaiting_join_; }
    // The largest rebalance timeout of the members (0 without members).
    int32_t rebalance_timeout_ms() const;

    // client_id (or the instance id of a static member) + "-" + a random UUID, as Kafka does.
    static std::string generate_member_id(const std::string& client_id,
                                          const std::optional<std::string>& instance_id);

    // UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID, or none.
    protocol::error_code validate_member(const std::string& member_id,
                                         const std::optional<std::string>& instance_id) const;
    // Kafka's ClassicGroup.validateOffsetCommit. A transactional commit (TxnOffsetCommit) is
    // not held to the group's state: v0-2 requests carry no member id or generation, and a
    // member may commit while the group completes a rebalance.
    protocol::error_code validate_offset_commit(const std::string& member_id,
                                                const std::optional<std::string>& instance_id,
                                                int32_t generation,
                                                bool transactional = false) const;

    bool can_rebalance() const;
    void transition_to(group_state s, int64_t now_ms);

    // The protocol every member supports that most members prefer.
    std::string select_protocol() const;
    bool supports_protocols(const std::string& protocol_type,
                            const std::vector<member_protocol>& protocols) const;
    void update_member(group_member& m, std::vector<member_protocol> protocols,
                       int32_t rebalance_timeout_ms, int32_t session_timeout_ms,
                       join_callback callback);

    // Completes a parked JoinGroup / SyncGroup; false when the member had none.
    bool complete_join(group_member& m, join_response r);
    void complete_all_join(protocol::error_code e);
    bool complete_sync(group_member& m, sync_response r);
    void complete_all_sync(protocol::error_code e);

    // Generation + 1; CompletingRebalance with the voted protocol, or Empty without members.
    void init_next_generation(int64_t now_ms);
    // Every member's id, instance id and metadata for the chosen protocol (the leader's view).
    std::vector<join_response::join_group_response_member> leader_member_list() const;
    std::map<std::string, std::vector<uint8_t>> assignments() const;

    bool new_member_added() const { return new_member_added_; }
    void set_new_member_added(bool v) { new_member_added_ = v; }

    // Topics the members subscribe to (consumer protocol only); nullopt when unknown.
    const std::optional<std::set<std::string>>& subscribed_topics() const { return subscribed_; }
    void refresh_subscribed_topics() { subscribed_ = compute_subscribed_topics(); }
    bool is_subscribed_to_topic(const std::string& topic) const;

  private:
    std::optional<std::set<std::string>> compute_subscribed_topics() const;
    void count_protocols(const group_member& m, int delta);

    std::string id_;
    group_state state_;
    group_state previous_state_ = group_state::dead;
    std::optional<int64_t> state_timestamp_;
    std::optional<std::string> protocol_type_;
    std::optional<std::string> protocol_name_;
    int32_t generation_ = 0;
    std::optional<std::string> leader_;
    std::map<std::string, group_member> members_;
    std::map<std::string, std::string> static_members_;  // instance id → member id
    std::set<std::string> pending_join_;
    size_t num_awaiting_join_ = 0;
    std::map<std::string, int> supported_protocols_;  // protocol → how many members support it
    std::set<std::string> pending_sync_;
    std::optional<std::set<std::string>> subscribed_;
    bool new_member_added_ = false;
};

// The topics of a ConsumerProtocol subscription (int16 version, then the v0 prefix: a topics
// array of strings); nullopt when the bytes do not parse.
std::optional<std::vector<std::string>> parse_subscription_topics(
    const std::vector<uint8_t>& metadata);

}  // namespace runnel::server::groups
