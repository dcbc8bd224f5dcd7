// What the group and the transaction coordinators share (Kafka merged its two into
// CoordinatorRuntime): the internal topic holding their state, which of its partitions each shard
// has loaded, loading them at start-up asynchronously and in chunks (the shard keeps serving
// meanwhile) and one created later at once, the answers Kafka gives while a partition loads, and
// one way to write a record batch to a partition and wait for it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "protocol/errors.h"
#include "protocol/record_batch.h"
#include "server/cluster/cluster_context.h"
#include "server/cluster/internal_topic.h"
#include "server/core/sharded.h"

namespace runnel::server {

class coordinator_runtime {
  public:
    // How one shard's coordinator rebuilds a partition's state from the partition's log.
    struct loader {
        std::function<void(int32_t partition)> begin;  // before its first batch
        // Each batch of the log, from its start, in order.
        std::function<void(int32_t partition, const protocol::batch_header& header,
                           std::span<const uint8_t> batch)>
            apply;
        // After the last batch, or after a read error (then logged already).
        std::function<void(int32_t partition)> finish;
        // The partition is led elsewhere now: its state goes (optional).
        std::function<void(int32_t partition)> unload;
    };

    // `topic` is the coordinators' internal topic (owned by the caller, outliving this);
    // make_loader(shard) gives each shard's loader.
    coordinator_runtime(cluster_context& cluster, internal_topic& topic,
                        std::function<loader(shard_id)> make_loader);

    // Broker start-up, shards running, topics loaded: every shard loads the partitions of the
    // topic it owns, in the background; requests for them get COORDINATOR_LOAD_IN_PROGRESS
    // until then. `then(shard)`, if given, runs on each shard once its partitions are loaded.
    // Returns once loading has begun everywhere.
    void start(std::function<asio::awaitable<void>(shard_id)> then = {});

    // Any shard: the key's partition and owner shard; starts creating the topic if it does not
    // exist yet (COORDINATOR_LOAD_IN_PROGRESS).
    internal_topic::location locate(std::string_view key) { return topic_.locate(key); }
    // Any shard: creates the topic unless it exists; none or COORDINATOR_NOT_AVAILABLE.
    asio::awaitable<protocol::error_code> ensure_topic() { return topic_.ensure(); }
    // On shard `owner`: readies `partition` for requests. A partition created after start-up is
    // loaded now (it is empty); one still loading gives COORDINATOR_LOAD_IN_PROGRESS.
    protocol::error_code activate(shard_id owner, int32_t partition);
    // On shard `owner`: whether one of its partitions is still loading.
    bool loading(shard_id owner) const;
    // On shard `owner`, in a ZooKeeper cluster, where leadership of the topic's partitions moves
    // (Kafka's coordinators load on election and unload on resignation): partitions no longer
    // led here are unloaded, and those led here in a leader epoch other than the one they were
    // loaded in are loaded (again). Returns whether anything was loaded.
    bool follow_leadership(shard_id owner);

    // On shard `owner`: appends `batch` (the coordinator origin) to `partition`; then
    // acknowledged() waits for what `acks` requires.
    append_result append(shard_id owner, int32_t partition, std::span<uint8_t> batch);
    asio::awaitable<std::error_code> acknowledged(shard_id owner, int32_t partition,
                                                  const append_result& r, required_acks acks);

    shard_set& shards() { return cluster_.shards(); }
    const std::string& topic_name() const;

  private:
    enum class status { loading, active };
    struct loaded {
        status state = status::loading;
        int32_t leader_epoch = -1;  // the partition's when it was loaded
    };
    using statuses = std::map<int32_t, loaded>;

    partition* partition_on(shard_id owner, int32_t index);
    asio::awaitable<void> load_shard(shard_id id, std::vector<int32_t> partitions,
                                     std::function<asio::awaitable<void>(shard_id)> then);
    // Replays one partition now (a partition created after start-up, which is empty).
    std::error_code load_now(shard_id id, int32_t index);
    // The partition's leader epoch when this broker leads it on shard `owner`, else nullopt.
    std::optional<int32_t> led_here(shard_id owner, int32_t index) const;

    cluster_context& cluster_;
    internal_topic& topic_;
    sharded<loader> loaders_;
    sharded<statuses> statuses_;
};

}  // namespace runnel::server
