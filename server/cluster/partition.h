// A partition as its owner shard holds it: the log plus the fetches waiting for new data.
// Touched only on the owner shard.
#pragma once

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/codec.h"
#include "protocol/end_txn_marker.h"
#include "protocol/errors.h"
#include "server/cluster/log_sync.h"
#include "server/cluster/log_validator.h"
#include "server/cluster/replica_state.h"
#include "server/config/topic_config.h"
#include "server/core/shard.h"
#include "storage/partition_log.h"

namespace runnel::server {

// Lives on the shard of the fetch that waits. Owner shards post to that shard to wake it.
struct fetch_wakeup {
    explicit fetch_wakeup(shard& home) : home(home), timer(home.context()) {}
    shard& home;
    asio::steady_timer timer;
    bool fired = false;  // home shard only

    // Callable from any shard.
    static void wake(const std::shared_ptr<fetch_wakeup>& w);
};

// What the storage layer needs of a topic's config: segment roll, index and flush policy.
storage::log_config log_config_of(const topic_config& c);

// What a writer waits for before it answers (Kafka's acks). `leader` and `all` both wait for the
// fdatasync the log's flush policy asks for (flush.messages, flush.ms); in a replicated
// partition `all` waits for the in-sync replicas too (the high watermark).
enum class required_acks { none, leader, all };

// How far a fetch may read: consumers up to the high watermark (read_committed: the last stable
// offset), follower replicas up to the log end.
enum class fetch_bound { high_watermark, last_stable, log_end };

// The outcome of partition::append / append_marker.
struct append_result {
    protocol::error_code error = protocol::error_code::none;
    std::optional<std::string> message;  // why, for the client (Produce v8+ error_message)
    std::error_code cause;               // the storage error behind `error`, if any
    int64_t base_offset = -1;
    int64_t last_offset = -1;
    int64_t log_append_time = -1;
    int64_t log_start_offset = -1;
    // A refusal of one record: its index in the batch (Produce v8+ RecordErrors).
    std::optional<int32_t> record_index;
    // An idempotent producer's retry: answered with the original offsets, nothing written.
    bool duplicate = false;
    // End offset that must be flushed before acks other than `none` are answered; -1: none.
    int64_t flush_end_offset = -1;

    bool ok() const { return error == protocol::error_code::none; }
};

// What was produced to a partition since it was opened (admin /metrics: Kafka's
// BrokerTopicMetrics per topic). Counted on the owner shard only, so plain integers. (Bytes
// out are counted by the shard that answers the fetch: request_metrics::fetched.)
struct partition_traffic {
    uint64_t bytes_in = 0;     // record batches appended from clients
    uint64_t messages_in = 0;  // records in them
};

class partition {
  public:
    partition(std::string topic, protocol::uuid topic_id, int32_t index,
              std::unique_ptr<storage::partition_log> log, topic_config config,
              asio::thread_pool& io_pool, std::function<void()> on_durable = {})
        : topic_(std::move(topic)),
          topic_id_(topic_id),
          index_(index),
          log_(std::move(log)),
          io_pool_(io_pool),
          sync_(*log_, std::move(on_durable)),
          config_(std::move(config)) {
        waits_->min_isr = effective_min_isr();
    }
    ~partition() {
        waits_->closed = true;
        waits_->wake_all();
    }
    partition(const partition&) = delete;
    partition& operator=(const partition&) = delete;

    const std::string& topic() const { return topic_; }
    const protocol::uuid& topic_id() const { return topic_id_; }
    int32_t index() const { return index_; }
    // The log, for reading. Writes go through append(), append_marker() and the maintenance
    // calls below, so that every writer gets the same validation, bookkeeping and acks.
    const storage::partition_log& log() const { return *log_; }
    // Its topic's configuration, as the partition applies it.
    const topic_config& config() const { return config_; }
    // The replicas and the in-sync ones: a single node is its partitions' only replica, always in
    // sync; in a cluster, the partition state's.
    int32_t replica_count() const {
        return role_ ? static_cast<int32_t>(role_->replicas.size()) : 1;
    }
    int32_t in_sync_replicas() const { return role_ ? static_cast<int32_t>(role_->isr.size()) : 1; }
    // What an acks=all write needs: min.insync.replicas capped at the replica count, as Kafka 4
    // does (KIP-966's effective min ISR), so a topic with fewer replicas than min.insync.replicas
    // still takes acks=all writes.
    int32_t effective_min_isr() const {
        return std::min(config_.min_insync_replicas(), replica_count());
    }
    // A topic config change: the append settings and the log's own take effect at once.
    void reconfigure(topic_config c) {
        log_->set_config(log_config_of(c));
        config_ = std::move(c);
        waits_->min_isr = effective_min_isr();
    }

    // Replication (partition_replication.cc), on the owner shard. A partition without a role is
    // a single node's: it leads, alone, and its high watermark is its log end.
    const std::optional<partition_role>& role() const { return role_; }
    bool leads() const { return !role_ || role_->leads(); }
    // The partition state from ZooKeeper. Becoming leader starts its epoch in the log
    // (leader-epoch-checkpoint) and forgets what followers had fetched; becoming follower wakes
    // the writers waiting for acks=all (they fail with NOT_LEADER_OR_FOLLOWER).
    void set_role(partition_role r, int64_t now_ms);
    // Everything below it is on every in-sync replica: what consumers may read.
    int64_t high_watermark() const {
        return role_ ? waits_->high_watermark : log_->log_end_offset();
    }
    // The last stable offset consumers see: never past the high watermark.
    int64_t last_stable_offset() const {
        return std::min(log_->last_stable_offset(), high_watermark());
    }
    // The leader's side of a replica Fetch from `broker`, which asks for `fetch_offset` (its log
    // end): its progress is noted and the high watermark may move. NOT_LEADER_OR_FOLLOWER
    // unless this broker leads and `broker` is a replica.
    protocol::error_code follower_fetched(int32_t broker, int64_t fetch_offset, int64_t now_ms);
    const std::vector<follower_progress>& followers() const { return followers_; }
    // The ISR the leader wants now (Kafka's maybeShrinkIsr and maybeExpandIsr): in-sync
    // followers not caught up for `lag_ms` leave; followers that reached the high watermark and
    // the start of this leader epoch join. nullopt: no change, or one is being written (until
    // the next set_role, isr_change_failed or, should the new state never come back, 10 s).
    std::optional<std::vector<int32_t>> wanted_isr(int64_t now_ms, int64_t lag_ms) const;
    void isr_change_started(int64_t now_ms) { isr_change_since_ms_ = now_ms; }
    void isr_change_failed() { isr_change_since_ms_ = -1; }
    // A follower's side: appends batches fetched from the leader as they are (offsets, epochs).
    append_result append_replicated(std::span<const uint8_t> batches);
    // A follower's side: the leader's high watermark, capped at this log's end.
    void leader_high_watermark(int64_t hw);
    // Before its first role: the high watermark the log dir's replication-offset-checkpoint
    // kept for it, where the partition starts (capped at its log end) instead of at its log
    // start, as Kafka's replicas do after a restart.
    void restore_high_watermark(int64_t hw) { restored_high_watermark_ = hw; }
    // A follower whose log diverged from the leader's cuts it back (storage's truncate_to).
    storage::result<int64_t> truncate_to(int64_t offset);

    // The one write path into the log (partition_append.cc). Batches from a client are checked
    // first (log_validator.h, under `rules`); the broker's own (coordinator origin) are trusted.
    // Stamps LogAppendTime when the topic uses it, appends, wakes waiting fetches and starts the
    // flush the policy makes due; it does not wait. Then acknowledged() waits for what the
    // writer's acks require, so that a request writing many partitions waits for all of their
    // flushes at once.
    append_result append(std::span<uint8_t> batches, storage::append_origin origin,
                         const produce_rules& rules = {});
    // A transaction marker written by the transaction coordinator (storage's append_marker).
    append_result append_marker(int64_t producer_id, int16_t producer_epoch,
                                protocol::txn_result result, int32_t coordinator_epoch);
    // Completes once `r` may be answered under `acks`, or with the flush's storage error, or (a
    // replicated partition under acks=all) a replication_errc when the in-sync replicas do not
    // have it within `timeout` or leadership moves.
    asio::awaitable<std::error_code> acknowledged(
        const append_result& r, required_acks acks,
        std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));

    // Log maintenance and administration, on the owner shard.
    storage::result<storage::retention_result> delete_old_segments(int64_t now_ms,
                                                                   int64_t retention_ms,
                                                                   int64_t retention_bytes);
    storage::result<int64_t> delete_records_before(int64_t offset);
    storage::result<storage::cleaning_result> clean(const storage::cleaning_options& o,
                                                    int64_t now_ms);
    size_t expire_producers(int64_t now_ms, int64_t expiration_ms);
    std::error_code close(
        storage::partition_log::close_sync sync = storage::partition_log::close_sync::each_file);

    // Registers a fetch waiting for data past `fetch_offset` (below `bound`); wakes it at once if
    // there is some.
    void watch(const std::shared_ptr<fetch_wakeup>& w, int64_t fetch_offset, fetch_bound bound);
    // The end of what a fetch bounded by `bound` may read.
    int64_t readable_end(fetch_bound bound) const;
    // Wakes every waiting fetch (after an append, including a transaction marker: it may move
    // the last stable offset; after the high watermark moved).
    void data_arrived();

    // On the owner shard only (see partition_traffic).
    partition_traffic& traffic() { return traffic_; }

  private:
    std::string topic_;
    protocol::uuid topic_id_;
    int32_t index_;
    partition_traffic traffic_;
    // After an append: wakes waiting fetches and starts a background flush when the append made
    // one due (flush.messages, flush.ms) or rolled a segment; fills in `r`.
    append_result appended(storage::result<storage::append_info> appended);
    // The leader's high watermark: the smallest log end over the ISR (this log's included).
    void maybe_advance_high_watermark();
    // The leader's record of follower `broker`; nullptr when it is not one of its followers.
    follower_progress* follower(int32_t broker);
    const follower_progress* follower(int32_t broker) const;

    std::unique_ptr<storage::partition_log> log_;
    asio::thread_pool& io_pool_;  // where flushes run
    log_sync sync_;               // after log_: destroyed first, as it points into it
    topic_config config_;
    std::vector<std::weak_ptr<fetch_wakeup>> waiters_;
    std::optional<partition_role> role_;
    std::vector<follower_progress> followers_;  // on the leader: every replica but this one
    int64_t isr_change_since_ms_ = -1;          // when the ISR change being written began
    std::shared_ptr<high_watermark_waits> waits_ = std::make_shared<high_watermark_waits>();
    std::optional<int64_t> restored_high_watermark_;
};

struct partition_key {
    protocol::uuid topic_id;
    int32_t index;
    bool operator==(const partition_key&) const = default;
};

struct partition_key_hash {
    size_t operator()(const partition_key& k) const {
        uint64_t a, b;
        std::memcpy(&a, k.topic_id.data(), 8);
        std::memcpy(&b, k.topic_id.data() + 8, 8);
        return std::hash<uint64_t>{}(a ^ (b * 0x9e3779b97f4a7c15ULL) ^
                                     static_cast<uint64_t>(k.index));
    }
};

// The partitions one shard owns.
class partition_store {
  public:
    partition* find(const protocol::uuid& topic_id, int32_t index) {
        auto it = partitions_.find({topic_id, index});
        return it == partitions_.end() ? nullptr : it->second.get();
    }
    void add(std::unique_ptr<partition> p) {
        partition_key k{p->topic_id(), p->index()};
        partitions_[k] = std::move(p);
    }
    std::unique_ptr<partition> remove(const protocol::uuid& topic_id, int32_t index) {
        auto it = partitions_.find({topic_id, index});
        if (it == partitions_.end()) return nullptr;
        auto p = std::move(it->second);
        partitions_.erase(it);
        return p;
    }
    template <class F>
    void for_each(F&& f) {
        for (auto& [k, p] : partitions_) f(*p);
    }
    size_t size() const { return partitions_.size(); }

  private:
    std::unordered_map<partition_key, std::unique_ptr<partition>, partition_key_hash> partitions_;
};

}  // namespace runnel::server
