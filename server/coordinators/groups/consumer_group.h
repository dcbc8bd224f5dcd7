// A KIP-848 consumer group (Kafka's ConsumerGroup + CurrentAssignmentBuilder): the members with
// their subscriptions, the group epoch, the target assignment computed by a server-side assignor
// at the assignment epoch, and each member's current assignment as it reconciles toward its
// target. A partition newly targeted to a member is given to it only once no other member owns it
// (assigned or pending revocation). The coordinator writes the group to __consumer_offsets
// (consumer_group_records.h) and restores it from there on load.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "protocol/codec.h"
#include "server/coordinators/groups/assignor.h"
#include "server/coordinators/groups/consumer_group_records.h"

namespace runnel::server::groups {

inline constexpr const char* default_consumer_assignor = "uniform";
bool is_known_consumer_assignor(const std::string& name);
// A new member id for a v0 joining member (Kafka: a random UUID's text).
std::string random_member_id();

struct consumer_topic_info {
    protocol::uuid id{};
    int32_t partitions = 0;
    bool operator==(const consumer_topic_info&) const = default;
};

enum class consumer_member_state { stable, unrevoked_partitions, unreleased_partitions };

struct consumer_member {
    std::string member_id;
    std::optional<std::string> instance_id;
    std::optional<std::string> rack_id;
    int32_t member_epoch = 0;
    int32_t previous_member_epoch = -1;
    consumer_member_state state = consumer_member_state::stable;
    std::string client_id;
    std::string client_host;
    std::set<std::string> subscribed_topics;  // by name
    // KIP-848 regex subscription (v1+); null or empty: none. regex_topics: what it matches now.
    std::optional<std::string> subscribed_topic_regex;
    std::set<std::string> regex_topics;
    std::optional<std::string> server_assignor;
    int32_t rebalance_timeout_ms = -1;
    topic_partitions_map assigned;            // owned by the member now
    topic_partitions_map pending_revocation;  // still owned, must be given up
    // The member epoch at which the member was given each partition it owns (assigned or
    // pending revocation): a commit sent at an older epoch is still the owner's for a partition
    // owned since then (a heartbeat answer moving the epoch may cross the commit on the wire).
    std::map<std::pair<std::string, int32_t>, int32_t> owned_since;

    // Whether a commit made at `epoch` may cover this partition: the member owns it and has
    // since an epoch no later than `epoch`.
    bool owned_at(const std::string& topic, int32_t partition, int32_t epoch) const;

    bool has_regex() const { return subscribed_topic_regex && !subscribed_topic_regex->empty(); }
    // Every topic the member subscribes to, by name and by regex.
    std::set<std::string> all_subscribed() const;
};

// The topic names a regex subscription is matched against (internal topics left out), and
// their topics_snapshot::names_version: a regex is evaluated again only when it moves.
struct topic_name_source {
    uint64_t version = 0;
    std::function<std::vector<std::string>()> names;
};

// A regex subscription resolved against the topic names: what it matched, and when that last
// changed (the names version and the time: Kafka's regex record keeps both).
struct regex_match {
    std::optional<uint64_t> version;  // names version it was evaluated at; none: not yet
    std::set<std::string> topics;
    uint64_t matched_version = 0;
    int64_t matched_at_ms = 0;
};

class consumer_group {
  public:
    explicit consumer_group(std::string id) : id_(std::move(id)) {}
    // The group as its records in __consumer_offsets describe it (loading). Assignments stored
    // by topic id are read back by name through the image's subscribed topics; the regexes are
    // evaluated again at the next heartbeat.
    static std::unique_ptr<consumer_group> restore(std::string id,
                                                   const consumer_group_image& image);

    const std::string& id() const { return id_; }
    int32_t group_epoch() const { return group_epoch_; }
    int32_t assignment_epoch() const { return assignment_epoch_; }
    const std::map<std::string, consumer_member>& members() const { return members_; }
    consumer_member* find_member(const std::string& id);
    const topic_partitions_map* target_of(const std::string& member_id) const;
    const std::map<std::string, consumer_topic_info>& topics() const { return topics_; }
    const std::map<std::string, regex_match>& regex_matches() const { return regexes_; }
    bool empty() const { return members_.empty(); }
    // What the group's records in __consumer_offsets say (the image last written or loaded).
    const consumer_group_image& written() const { return written_; }
    void set_written(consumer_group_image image) { written_ = std::move(image); }

    // "Empty", "Assigning", "Reconciling" or "Stable" (Kafka's ConsumerGroupState).
    std::string state() const;
    // The assignor used: the one most members ask for (ties: by name), else "uniform".
    std::string assignor_name() const;

    void bump_epoch() { ++group_epoch_; }
    // Adds or replaces a member (no epoch bump).
    consumer_member& put_member(consumer_member m);
    // Removes the member and its partitions, bumps the group epoch.
    void remove_member(const std::string& id);
    // The member holding static instance id `instance_id`, if any.
    consumer_member* find_static_member(const std::string& instance_id);
    // A static member back under a new member id (KIP-848): it takes over the member that left
    // with epoch -2 — its partitions, target, epoch before leaving — with no rebalance.
    consumer_member& replace_static_member(const std::string& old_id, const std::string& new_id);
    // Replaces the subscribed topics' metadata; whether it changed (the caller bumps the epoch).
    bool update_topics(std::map<std::string, consumer_topic_info> topics);
    // Union of the members' subscriptions (names and regex matches).
    std::set<std::string> subscribed_topic_names() const;
    // Evaluates the members' regexes against `source` (each distinct pattern once per names
    // version); whether a member's matched topics changed (the caller bumps the epoch). `now_ms`
    // dates a changed match.
    bool resolve_regexes(const topic_name_source& source, int64_t now_ms = 0);
    // Recomputes the target assignment when the group epoch moved past the assignment epoch.
    void maybe_update_target();
    // Moves the member toward its target (CurrentAssignmentBuilder). `owned` is what the member
    // reported owning (null: not reported in this heartbeat).
    void reconcile(consumer_member& m, const std::optional<topic_partitions_map>& owned);
    // Which member owns (assigned or pending revocation) a partition, if any.
    const std::string* owner_of(const std::string& topic, int32_t partition) const;

  private:
    void set_current(consumer_member& m, topic_partitions_map assigned,
                     topic_partitions_map pending);
    // Records the member epoch of partitions the member got, forgets those it no longer owns.
    static void note_owned_since(consumer_member& m);

    std::string id_;
    int32_t group_epoch_ = 0;
    int32_t assignment_epoch_ = 0;
    std::map<std::string, consumer_member> members_;
    std::map<std::string, topic_partitions_map> target_;
    std::map<std::string, consumer_topic_info> topics_;
    std::map<std::pair<std::string, int32_t>, std::string> owners_;
    std::map<std::string, regex_match> regexes_;  // by pattern
    consumer_group_image written_;
};

}  // namespace runnel::server::groups
