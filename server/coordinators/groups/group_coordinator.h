// The group coordinator of one shard: the groups (classic ones and KIP-848 consumer groups) and
// committed offsets of the __consumer_offsets partitions that shard owns. Mirrors Kafka's
// GroupMetadataManager and OffsetMetadataManager.
//
// Single-threaded and synchronous: every call runs on the owning shard. Parked JoinGroup /
// SyncGroup requests complete through callbacks; time and timers come from group_timers; records
// go to the partition log through append_fn, which returns once they are appended. State changes
// are persisted before the answer leaves: offset commits and tombstones are applied by replaying
// the records written (the loader applies the same code on start-up), group metadata is written
// after the in-memory change. Transactional offset commits (TxnOffsetCommit) are held as pending
// offsets of their producer until the transaction coordinator's marker (complete_transaction).
//
// Implementation files: group_coordinator.cc (partitions, loading, timers, list/describe),
// group_join.cc (JoinGroup and the rebalance), group_members.cc (SyncGroup, Heartbeat,
// LeaveGroup, session expiry), group_offsets.cc (offsets, DeleteGroups, expiry),
// group_txn_offsets.cc (TxnOffsetCommit and transaction completion),
// consumer_group_heartbeat.cc (KIP-848 consumer groups: ConsumerGroupHeartbeat / Describe, beside
// the classic groups of the same partition; written as consumer_group_records.h says).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "protocol/errors.h"
#include "protocol/messages/consumer_group_describe.h"
#include "protocol/messages/consumer_group_heartbeat.h"
#include "protocol/messages/describe_groups.h"
#include "protocol/messages/heartbeat.h"
#include "protocol/messages/leave_group.h"
#include "protocol/messages/list_groups.h"
#include "protocol/messages/offset_commit.h"
#include "protocol/messages/offset_delete.h"
#include "protocol/messages/offset_fetch.h"
#include "protocol/messages/txn_offset_commit.h"
#include "protocol/record_batch.h"
#include "server/coordinators/groups/classic_group.h"
#include "server/coordinators/groups/consumer_group.h"
#include "server/coordinators/groups/group_records.h"
#include "server/coordinators/groups/pending_offsets.h"
#include "storage/errors.h"

namespace runnel::server {
struct broker_config;
}

namespace runnel::server::groups {

struct coordinator_config {
    int32_t min_session_timeout_ms = 6000;               // group.min.session.timeout.ms
    int32_t max_session_timeout_ms = 1800000;            // group.max.session.timeout.ms
    int32_t initial_rebalance_delay_ms = 3000;           // group.initial.rebalance.delay.ms
    int32_t max_group_size = INT32_MAX;                  // group.max.size
    int32_t offset_metadata_max_bytes = 4096;            // offset.metadata.max.bytes
    int64_t offsets_retention_ms = 10080LL * 60 * 1000;  // offsets.retention.minutes
    int64_t retention_check_interval_ms = 600000;        // offsets.retention.check.interval.ms
    // How long a new member's JoinGroup may stay parked (Kafka's fixed 5 minutes).
    int32_t new_member_join_timeout_ms = 5 * 60 * 1000;
    int32_t consumer_heartbeat_interval_ms = 5000;  // group.consumer.heartbeat.interval.ms
    int32_t consumer_session_timeout_ms = 45000;    // group.consumer.session.timeout.ms

    static coordinator_config from(const broker_config& c);
};

// The clock and timers of the shard; a manual clock in tests.
class group_timers {
  public:
    virtual ~group_timers() = default;
    virtual int64_t now_ms() = 0;
    // Runs fn after delay_ms unless cancelled or rescheduled under the same key first.
    virtual void schedule(const std::string& key, int64_t delay_ms, std::function<void()> fn) = 0;
    virtual void cancel(const std::string& key) = 0;
    virtual void cancel_all() = 0;
};

// The producer of a transactional write (TxnOffsetCommit): the batch carries its id and epoch.
struct txn_producer {
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
};

// Appends records to a __consumer_offsets partition as one batch, transactional when `txn` is
// set; returns, once they are in the log, the offset of the first record (the others follow).
using append_fn = std::function<storage::result<int64_t>(
    int32_t partition, std::vector<protocol::record_input> records,
    const std::optional<txn_producer>& txn)>;

struct join_params {
    std::string group_id;
    std::string member_id;
    std::optional<std::string> instance_id;
    std::string protocol_type;
    std::vector<member_protocol> protocols;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::string client_id;
    std::string client_host;
    int16_t api_version = 0;
    std::string reason;
};

// Resolves a topic name to its id and partition count (null: no such topic).
using consumer_topic_resolver =
    std::function<std::optional<consumer_topic_info>(const std::string& topic)>;

// The caller-side facts of a ConsumerGroupHeartbeat.
struct consumer_heartbeat_context {
    int16_t api_version = 0;
    std::string client_id;
    std::string client_host;
    consumer_topic_resolver topics;
    topic_name_source topic_names;  // for regex subscriptions
};

using fetch_group_result = protocol::msg::offset_fetch_response::offset_fetch_response_group;
using fetch_topics = std::optional<std::vector<
    protocol::msg::offset_fetch_request::offset_fetch_request_group::offset_fetch_request_topics>>;

class group_coordinator {
  public:
    group_coordinator(coordinator_config config, group_timers& timers, append_fn append);
    ~group_coordinator();
    group_coordinator(const group_coordinator&) = delete;
    group_coordinator& operator=(const group_coordinator&) = delete;

    const coordinator_config& config() const { return config_; }

    // The __consumer_offsets partitions served here.
    enum class partition_status { unknown, loading, active };
    partition_status status(int32_t partition) const;
    void begin_load(int32_t partition);
    // Applies one record of the partition's log, in log order (loading only). `record_offset` is
    // its offset in the log; `txn_producer_id` the producer of a transactional batch (its offset
    // commits become pending), else -1.
    void replay(int32_t partition, const group_record& r, int64_t record_offset,
                int64_t txn_producer_id = -1);
    // Applies a transaction marker of the partition's log (loading only).
    void replay_marker(int32_t partition, int64_t producer_id, bool commit);
    // Loading done: starts the loaded members' session timers.
    void finish_load(int32_t partition);
    // Shutdown: cancels every timer and answers parked JoinGroup / SyncGroup requests.
    void shutdown();

    // The group APIs; `partition` is the group's __consumer_offsets partition, active here.
    void join(int32_t partition, join_params p, join_callback done);
    void sync(int32_t partition, const protocol::msg::sync_group_request& req, sync_callback done);
    protocol::error_code heartbeat(int32_t partition, const protocol::msg::heartbeat_request& req);
    // `req.members` holds the leaving members (v0-2 requests converted by the caller).
    protocol::msg::leave_group_response leave(int32_t partition,
                                              const protocol::msg::leave_group_request& req);
    // Topics/partitions the caller found unknown are already left out of `req`.
    protocol::msg::offset_commit_response commit_offsets(
        int32_t partition, const protocol::msg::offset_commit_request& req, int16_t version);
    // `topics` null: every committed partition of the group. With `require_stable` (OffsetFetch
    // v7+, KIP-447) a partition an open transaction commits to answers UNSTABLE_OFFSET_COMMIT.
    fetch_group_result fetch_offsets(int32_t partition, const std::string& group_id,
                                     const fetch_topics& topics, bool require_stable = false);
    // TxnOffsetCommit (group_txn_offsets.cc): writes the offsets in one transactional batch of
    // the request's producer and holds them as that producer's pending offsets. Topics/partitions
    // the caller found unknown are already left out of `req`.
    protocol::msg::txn_offset_commit_response txn_commit_offsets(
        int32_t partition, const protocol::msg::txn_offset_commit_request& req);
    // The transaction coordinator wrote the producer's commit or abort marker to `partition`
    // (call it right after the append, with no await in between, so no later TxnOffsetCommit of
    // the producer's next transaction mixes in): a commit makes the producer's pending offsets
    // committed, an abort drops them. No-op for a producer with nothing pending, a partition not
    // served here, or one still loading (the loader reads the marker from the log).
    void complete_transaction(int32_t partition, int64_t producer_id, bool commit);
    protocol::msg::offset_delete_response delete_offsets(
        int32_t partition, const protocol::msg::offset_delete_request& req);
    protocol::error_code delete_group(int32_t partition, const std::string& group_id);
    // Groups of every active partition passing the (lower-case) state and type filters.
    std::vector<protocol::msg::list_groups_response::listed_group> list_groups(
        const std::set<std::string>& states, const std::set<std::string>& types) const;
    protocol::msg::describe_groups_response::described_group describe_group(
        int32_t partition, const std::string& group_id) const;
    // KIP-848 consumer groups (consumer_group_heartbeat.cc). The group id was checked non-empty.
    protocol::msg::consumer_group_heartbeat_response consumer_heartbeat(
        int32_t partition, const protocol::msg::consumer_group_heartbeat_request& req,
        const consumer_heartbeat_context& ctx);
    protocol::msg::consumer_group_describe_response::described_group consumer_describe(
        int32_t partition, const std::string& group_id) const;
    // Whether an offset commit/fetch by (member id, member epoch) may go on for a consumer
    // group; NONE when `group_id` is not a consumer group.
    protocol::error_code check_consumer_member(int32_t partition, const std::string& group_id,
                                               const std::string& member_id,
                                               int32_t member_epoch) const;
    // Whether a partition served here is still loading.
    bool any_loading() const;
    // One offset expiry pass (also run every offsets.retention.check.interval.ms).
    void expire_offsets();

    // Inspection (tests, loader).
    classic_group* find_group(int32_t partition, const std::string& id);
    consumer_group* find_consumer_group(int32_t partition, const std::string& id);
    const offsets_by_topic* offsets_of(int32_t partition, const std::string& group) const;
    const offset_entry* pending_offset(int32_t partition, int64_t producer_id,
                                       const std::string& group, const std::string& topic,
                                       int32_t p) const;
    std::vector<std::string> group_ids(int32_t partition) const;

  private:
    struct partition_state {
        bool loading = true;
        std::map<std::string, std::unique_ptr<classic_group>> groups;
        std::map<std::string, std::unique_ptr<consumer_group>> consumer_groups;  // KIP-848
        // While loading: the KIP-848 groups' records so far; restored by finish_load.
        std::map<std::string, consumer_group_image> consumer_images;
        std::map<std::string, offsets_by_topic> offsets;  // by group id
        // Offsets of open transactions (TxnOffsetCommit), until their markers.
        pending_offsets pending;
    };

    partition_state* state_of(int32_t partition);
    // Whether `id` is a KIP-848 consumer group (or, while loading, has its records).
    static bool is_consumer_group(const partition_state& ps, const std::string& id);
    const partition_state* state_of(int32_t partition) const;
    classic_group& get_or_create_group(partition_state& ps, const std::string& id);
    // Applies a record at `record_offset` of the log; a transactional one (producer id >= 0)
    // becomes pending.
    void apply(partition_state& ps, const group_record& r, int64_t record_offset,
               int64_t txn_producer_id);
    // Stores a committed offset (creating the simple group that holds offsets without a group).
    void put_committed(partition_state& ps, const std::string& group, const std::string& topic,
                       int32_t p, const offset_entry& e);
    // The producer's transaction ended in `ps` (group_txn_offsets.cc).
    void end_transaction(int32_t partition, partition_state& ps, int64_t producer_id, bool commit);
    // Appends the records (as one transactional batch for `txn`); with `replay` also applies
    // them. Returns the append error.
    std::error_code write(int32_t partition, const std::vector<group_record>& records, bool replay,
                          const std::optional<txn_producer>& txn = std::nullopt);
    // Kafka's validateOffsetCommit / validateTransactionalOffsetCommit: whether the member may
    // commit offsets to the group. A group unknown here is created as a simple group when the
    // generation is < 0. `partitions`: what a (non-transactional) commit covers; a KIP-848
    // member may commit them at an older member epoch if it has owned them since.
    protocol::error_code validate_commit(
        partition_state& ps, int32_t partition, const std::string& group_id,
        const std::string& member_id, const std::optional<std::string>& instance_id,
        int32_t generation, int16_t version, bool transactional,
        const std::vector<std::pair<std::string, int32_t>>& partitions = {});
    void schedule_expiry();

    // Keys of the timers (Kafka's classic-group timer keys).
    static std::string heartbeat_key(const std::string& group, const std::string& member);
    static std::string join_key(const std::string& group);
    static std::string sync_key(const std::string& group);

    // group_join.cc
    void join_new_member(int32_t partition, classic_group& g, join_params& p, join_callback& done);
    void join_existing_member(int32_t partition, classic_group& g, join_params& p,
                              join_callback& done);
    void add_member_then_rebalance(int32_t partition, classic_group& g, join_params& p,
                                   const std::string& member_id, join_callback done);
    void update_static_member(int32_t partition, classic_group& g, join_params& p,
                              const std::string& old_id, const std::string& new_id,
                              join_callback done);
    bool accept_joining_member(const classic_group& g, const std::string& member_id) const;
    void maybe_prepare_rebalance_or_complete_join(int32_t partition, classic_group& g,
                                                  const std::string& reason);
    void prepare_rebalance(int32_t partition, classic_group& g, const std::string& reason);
    void maybe_complete_join_phase(int32_t partition, classic_group& g);
    void complete_join(int32_t partition, const std::string& group_id);
    void complete_join(int32_t partition, classic_group& g);
    void try_complete_initial_rebalance(int32_t partition, const std::string& group_id,
                                        int32_t delay_ms, int32_t remaining_ms);
    void reset_and_propagate_assignment_error(int32_t partition, classic_group& g,
                                              protocol::error_code e);
    void set_and_propagate_assignment(int32_t partition, classic_group& g,
                                      const std::map<std::string, std::vector<uint8_t>>& a);
    void propagate_assignment(int32_t partition, classic_group& g, protocol::error_code e);

    // consumer_group_heartbeat.cc
    void schedule_consumer_session(int32_t partition, const std::string& group_id,
                                   const std::string& member_id);
    void schedule_consumer_rebalance(int32_t partition, const std::string& group_id,
                                     const consumer_member& m);
    // Removes the member (its session is over, it left, or it rejoins as new); with `persist`
    // writes the group's records. The append's error, if any.
    protocol::error_code fence_consumer_member(int32_t partition, const std::string& group_id,
                                               const std::string& member_id, bool persist = true);
    // Writes the records that bring the group's image in __consumer_offsets up to date, after
    // `before` (records of another kind written in the same batch, e.g. a classic group's
    // tombstone). On success the group's written image moves; on failure it stays, and the
    // next call writes the difference again.
    protocol::error_code persist_consumer_group(int32_t partition, consumer_group& g,
                                                std::vector<group_record> before = {});
    // Tombstones of every record of the group (deleted, or replaced by a classic group).
    static std::vector<group_record> consumer_group_tombstones(const consumer_group& g);
    // Loading done: the KIP-848 groups from their images, with their members' timers.
    void restore_consumer_groups(int32_t partition, partition_state& ps);

    // group_members.cc
    void reschedule_heartbeat(int32_t partition, classic_group& g, group_member& m,
                              int64_t timeout_ms);
    void expire_heartbeat(int32_t partition, const std::string& group_id,
                          const std::string& member_id);
    void remove_member_and_update(int32_t partition, classic_group& g, group_member& m,
                                  const std::string& reason);
    void remove_pending_member_and_update(int32_t partition, classic_group& g,
                                          const std::string& member_id);
    void schedule_pending_sync(int32_t partition, classic_group& g);
    void remove_sync_expiration(classic_group& g);
    void expire_pending_sync(int32_t partition, const std::string& group_id, int32_t generation);
    void remove_pending_sync_member(classic_group& g, const std::string& member_id);
    void remove_current_member(classic_group& g, const std::string& member_id);

    coordinator_config config_;
    group_timers& timers_;
    append_fn append_;
    std::map<int32_t, partition_state> partitions_;
    bool expiry_scheduled_ = false;
    uint64_t writes_ = 0;  // calls of write() with records, to tell whether an API wrote any
};

// Kafka's mapping of a failed __consumer_offsets append to the error the client sees.
protocol::error_code append_error_to_response(const std::error_code& ec);

}  // namespace runnel::server::groups
