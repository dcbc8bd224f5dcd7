// A partition as its owner shard holds it: the log plus the fetches waiting for new data.
// Touched only on the owner shard.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/codec.h"
#include "server/log_sync.h"
#include "server/shard.h"
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

// Settings a partition applies to appends, derived from its topic's config.
struct partition_settings {
    int32_t max_message_bytes = 1048588;
    bool log_append_time = false;
    bool compact = false;  // cleanup.policy has compact: records need keys
    // message.timestamp.before/after.max.ms: how far CreateTime timestamps may stray from now.
    int64_t timestamp_before_max_ms = INT64_MAX;
    int64_t timestamp_after_max_ms = INT64_MAX;
    // Retention (retention.ms / retention.bytes, -1 = unlimited), applied when cleanup.policy
    // includes delete.
    int64_t retention_ms = -1;
    int64_t retention_bytes = -1;
    bool delete_enabled = true;
    // Log compaction (cleanup.policy has compact): delete.retention.ms, min.cleanable.dirty.ratio,
    // min.compaction.lag.ms, max.compaction.lag.ms, segment.bytes (cap of a cleaned segment).
    int64_t delete_retention_ms = 86400000;
    double min_cleanable_dirty_ratio = 0.5;
    int64_t min_compaction_lag_ms = 0;
    int64_t max_compaction_lag_ms = INT64_MAX;
    int64_t segment_bytes = int64_t{1} << 30;
};

class partition {
public:
    partition(std::string topic, protocol::uuid topic_id, int32_t index,
              std::unique_ptr<storage::partition_log> log, partition_settings settings,
              std::function<void()> on_durable = {})
        : topic_(std::move(topic)),
          topic_id_(topic_id),
          index_(index),
          log_(std::move(log)),
          sync_(*log_, std::move(on_durable)),
          settings_(settings) {}

    const std::string& topic() const { return topic_; }
    const protocol::uuid& topic_id() const { return topic_id_; }
    int32_t index() const { return index_; }
    storage::partition_log& log() { return *log_; }
    // Group commit of the log's flushes (fdatasync on the broker's I/O pool).
    log_sync& sync() { return sync_; }
    const partition_settings& settings() const { return settings_; }
    void set_settings(partition_settings s) { settings_ = s; }

    // Registers a fetch waiting for data past `fetch_offset` (below the last stable offset when
    // read_committed); wakes it at once if there is some.
    void watch(const std::shared_ptr<fetch_wakeup>& w, int64_t fetch_offset, bool read_committed);
    // Wakes every waiting fetch (after an append, including a transaction marker: it may move
    // the last stable offset).
    void data_arrived();
    // After an append (data, coordinator records or a marker): wakes waiting fetches and starts a
    // background flush when the append made one due (flush.messages, flush.ms) or rolled a
    // segment. A caller that must answer only once the data is synced then waits with
    // sync().wait_flushed(pool, a.last_offset + 1) when a.flush_due.
    void appended(const storage::append_info& a, asio::thread_pool& io_pool);

private:
    std::string topic_;
    protocol::uuid topic_id_;
    int32_t index_;
    std::unique_ptr<storage::partition_log> log_;
    log_sync sync_;  // after log_: destroyed first, as it points into it
    partition_settings settings_;
    std::vector<std::weak_ptr<fetch_wakeup>> waiters_;
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
        return std::hash<uint64_t>{}(a ^ (b * 0x9e3779b97f4a7c15ULL) ^ static_cast<uint64_t>(k.index));
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
