// Topic administration: create, delete, add partitions, and loading topics at start-up.
// Every change runs on the metadata shard (shard 0), one at a time; partition logs are opened
// and closed on their owner shards.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/errors.h"
#include "server/cluster/topic_registry.h"
#include "server/config/config_changes.h"
#include "server/config/topic_config.h"
#include "storage/partition_log.h"

namespace runnel::server {

class cluster_context;

struct new_topic {
    std::string name;
    int32_t partitions = -1;          // -1: num.partitions
    int16_t replication_factor = -1;  // -1: default.replication.factor
    std::map<std::string, std::string> configs;
    // Explicit replica assignment per partition (CreateTopics "Assignments"); empty if none.
    std::vector<std::vector<int32_t>> assignments;
    // Created on this broker alone even in a ZooKeeper cluster: the internal topics and the
    // pipelines' topics, whose coordinators and tasks are not spread over a cluster yet.
    bool local = false;
};

class cluster_topic_admin;

// One partition of a topic being created, changed or removed, on its way to its owner shard.
struct partition_step {
    size_t slot = 0;  // the partition number
    shard_id owner = 0;
    std::error_code error;
};

// The partitions [from, to) of `t` this broker hosts, as steps to their owners.
std::vector<partition_step> steps_for(const topic_metadata& t, int32_t from, int32_t to);

struct admin_result {
    protocol::error_code error = protocol::error_code::none;
    std::optional<std::string> message;
    std::shared_ptr<const topic_metadata> topic;  // the topic as created / changed
    int16_t replication_factor = 1;

    static admin_result fail(protocol::error_code e, std::string msg) {
        admin_result r;
        r.error = e;
        r.message = std::move(msg);
        return r;
    }
};

class topic_admin {
  public:
    explicit topic_admin(cluster_context& b);

    // Start-up: reads the stored topic table and the partition directories of every log dir and
    // opens each partition's log on its owner shard (shards must be running). Throws on failure.
    void load();
    // Shutdown: writes out and closes every log on its owner shard (shards must be running),
    // syncing nothing: the caller syncs the log dirs' file systems. Returns whether every log
    // closed without an error.
    bool close_all();

    // Callable from any shard; the work runs on the metadata shard.
    asio::awaitable<admin_result> create_topic(new_topic spec, bool validate_only);
    asio::awaitable<admin_result> delete_topic(std::string name);
    asio::awaitable<admin_result> create_partitions(std::string name, int32_t count,
                                                    std::vector<std::vector<int32_t>> assignments,
                                                    bool validate_only);

    // Changes the configs of topic `name` (config_changes.h): stored, then in force on every
    // partition at once. With validate_only only checks.
    asio::awaitable<admin_result> alter_configs(std::string name,
                                                std::vector<config_change> changes,
                                                bool replace_all, bool validate_only);

    // Changes the dynamic configs of the cluster default (`cluster_default`) or of this broker
    // (config_changes.h): stored, then in force at once (topics inherit them, partitions are
    // reconfigured). Topic administration owns them because topics are what inherits them.
    asio::awaitable<admin_result> alter_broker_configs(bool cluster_default,
                                                       std::vector<config_change> changes,
                                                       bool replace_all, bool validate_only);

    // In a ZooKeeper cluster (server/controller/topic_sync): `t` is a topic as ZooKeeper has it
    // now (replicas, leader, ISR and leader epoch per partition; placements unset). Opens the
    // logs of the partitions this broker is a replica of (reusing those it already holds),
    // closes and deletes those it no longer is (moved away by a reassignment), puts config
    // changes in force, hands out the roles, and publishes `t`. Any shard.
    asio::awaitable<void> apply_cluster_topic(std::shared_ptr<topic_metadata> t);
    // The topic is gone from ZooKeeper: unpublished, its logs here closed and deleted.
    asio::awaitable<void> remove_cluster_topic(std::string name);

    // In a ZooKeeper cluster: where topics created by clients go (set once at start-up).
    void set_cluster_topics(cluster_topic_admin* c) { cluster_topics_ = c; }

    // Most partitions this broker hosts (runnel.max.partitions, resolved).
    int64_t partition_limit() const { return partition_limit_; }

    // The effective configuration of a topic (overrides resolved against the broker's).
    topic_config config_of(const topic_metadata& t) const;

  private:
    // Start-up: the stored dynamic broker configs become the live configuration. Throws
    // config_error if they no longer make a valid one with server.properties.
    void load_dynamic_configs();
    asio::awaitable<admin_result> alter_broker_configs_on_controller(
        bool cluster_default, std::vector<config_change> changes, bool replace_all,
        bool validate_only);
    // Every partition applies its topic's configuration as resolved against `broker`.
    asio::awaitable<void> reconfigure_all_partitions(const broker_config& broker);
    asio::awaitable<admin_result> create_on_controller(new_topic spec, bool validate_only);
    // A cluster's topic: checked here, created in ZooKeeper (cluster_topics_).
    asio::awaitable<admin_result> create_in_cluster(new_topic spec, bool validate_only);
    asio::awaitable<admin_result> delete_on_controller(std::string name);
    asio::awaitable<admin_result> alter_configs_on_controller(std::string name,
                                                              std::vector<config_change> changes,
                                                              bool replace_all, bool validate_only);
    asio::awaitable<admin_result> add_partitions_on_controller(
        std::string name, int32_t count, std::vector<std::vector<int32_t>> assignments,
        bool validate_only);

    // Creates directories and opens logs for partitions [from, to) of `t` on their owners.
    asio::awaitable<std::error_code> open_new_partitions(std::shared_ptr<const topic_metadata> t,
                                                         int32_t from, int32_t to);
    // Opens the logs of `steps`' partitions on their owners, each step's error set; with
    // `reuse_existing` a directory holding this topic id's log is opened (recovered) as it is.
    asio::awaitable<std::vector<partition_step>> open_partitions(
        std::shared_ptr<const topic_metadata> t, std::vector<partition_step> steps,
        bool reuse_existing);
    // Every hosted partition of `t` takes `t`'s configuration (overrides resolved against the
    // broker's); logged.
    asio::awaitable<void> reconfigure_partitions(std::shared_ptr<const topic_metadata> t);
    // Hands each hosted partition of cluster topic `t` its partition_role (on its owner shard).
    asio::awaitable<void> apply_roles(std::shared_ptr<const topic_metadata> t);
    // Closes the partitions of `steps` (and with `remove` deletes their logs).
    asio::awaitable<void> close_steps(std::shared_ptr<const topic_metadata> t,
                                      std::vector<partition_step> steps, bool remove);
    asio::awaitable<void> apply_cluster_topic_on_controller(std::shared_ptr<topic_metadata> t);
    asio::awaitable<void> remove_cluster_topic_on_controller(std::string name);
    // Closes (and with `remove` deletes) partitions [from, end) of `t` on their owners.
    asio::awaitable<void> close_partitions(std::shared_ptr<const topic_metadata> t, int32_t from,
                                           bool remove);
    // POLICY_VIOLATION when `adding` more partitions would pass runnel.max.partitions.
    std::optional<admin_result> check_partition_limit(const std::string& topic, int64_t adding);
    // INVALID_PARTITIONS unless `count` is more than `current`; INVALID_REPLICA_ASSIGNMENT when
    // `assignments` (if any) do not name each new partition's replicas.
    std::optional<admin_result> check_growth(
        int32_t current, int32_t count, const std::vector<std::vector<int32_t>>& assignments) const;
    std::optional<admin_result> check_assignments(const std::vector<std::vector<int32_t>>& a,
                                                  int16_t replication_factor) const;
    partition_placement place_next_partition(std::map<std::string, size_t>& dir_counts);
    std::map<std::string, size_t> count_partitions_per_dir() const;
    // Writes the topic table: the current one, or `topics` about to be published.
    std::error_code persist() const;
    std::error_code persist(const topics_snapshot& topics) const;

    // Fills in spec's partition count and replication factor (from its assignments or the
    // broker's defaults) and checks them; the refusal, if any.
    std::optional<admin_result> resolve_counts(new_topic& spec) const;

    cluster_context& cluster_;
    cluster_topic_admin* cluster_topics_ = nullptr;
    const int64_t partition_limit_;  // runnel.max.partitions, resolved
    uint64_t limit_refusals_ = 0;    // since the last warning about the limit
    std::chrono::steady_clock::time_point next_limit_warning_{};
    shard_id next_owner_ = 0;
    // A one-slot channel used as an async mutex serialising admin operations on shard 0.
    std::unique_ptr<asio::experimental::channel<void(boost::system::error_code)>> lock_;
};

// Why one CreateTopics or CreatePartitions request adding `requested` partitions is refused as a
// whole (runnel.max.partitions.per.request), or nullopt. Kafka's controller refuses more than
// 10,000 per request with POLICY_VIOLATION, since larger batches ran it out of memory.
std::optional<std::string> partitions_per_request_problem(const broker_config& c,
                                                          int64_t requested);

// Storage and append settings of a topic's partitions from its effective configuration.

}  // namespace runnel::server
