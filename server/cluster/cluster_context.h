// What the cluster layer works with and owns, one per broker: the configuration, shards and I/O
// pool it is given, and the topic table, each shard's partitions, topic administration, log
// maintenance and producer ids. Everything above (coordinators, the Kafka handlers) reaches
// partitions and topics through it; replication and the controller will live here too.
#pragma once

#include <functional>
#include <vector>

#include <atomic>
#include <memory>

#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "server/cluster/cluster_controller.h"
#include "server/cluster/cluster_members.h"
#include "server/cluster/log_maintenance.h"
#include "server/cluster/partition.h"
#include "server/cluster/producer_ids.h"
#include "server/cluster/topic_admin.h"
#include "server/cluster/topic_registry.h"
#include "server/config/broker_config.h"
#include "server/core/shard.h"
#include "server/core/sharded.h"

namespace runnel::server {

class cluster_context {
  public:
    cluster_context(const broker_config& config, shard_set& shards, asio::thread_pool& io_pool);
    ~cluster_context();
    cluster_context(const cluster_context&) = delete;
    cluster_context& operator=(const cluster_context&) = delete;

    // The configuration read at start (server.properties and --override).
    const broker_config& config() const { return config_; }
    // The configuration in force: config() with the dynamic broker configs applied, which is
    // what topics inherit and the cleaner reads. Replaced whole when they change (topic
    // administration, on the metadata shard); any shard may read it.
    std::shared_ptr<const broker_config> live_config() const { return live_config_.load(); }
    void set_live_config(std::shared_ptr<const broker_config> c) {
        live_config_.store(std::move(c));
    }
    int32_t node_id() const { return config_.node_id; }
    shard_set& shards() { return shards_; }
    // The shard that owns the topic table and runs topic administration, one change at a time.
    shard& metadata_shard() { return shards_.at(0); }
    // Threads for blocking disk work kept off the shards (log flushes, reads of data not in the
    // page cache); num.io.threads of them.
    asio::thread_pool& io_pool() { return io_pool_; }
    topic_registry& topics() { return topics_; }
    // The brokers of the cluster and its controller (this node alone without ZooKeeper).
    cluster_members& members() { return members_; }
    // The partitions shard `id` owns; use only on that shard (or before the shards start).
    partition_store& partitions_on(shard_id id) { return partitions_.on(id); }
    topic_admin& admin() { return *admin_; }
    log_maintenance& maintenance() { return *maintenance_; }
    // Producer ids for InitProducerId (any thread); load_producer_ids() first.
    server::producer_ids& producer_ids() { return *producer_ids_; }
    // Start-up, once the log dirs exist: reads the reserved producer id block.
    void load_producer_ids();
    // Called on a shard after partitions there took a new role (leader or follower of another
    // broker): replication starts the fetchers their leaders need, the transaction
    // coordinators load the __transaction_state partitions they now lead. Added at start-up,
    // before the cluster's topics are applied.
    void add_roles_listener(std::function<void(shard_id)> f) {
        roles_listeners_.push_back(std::move(f));
    }
    // The cluster's controller as the ControlledShutdown API reaches it (nullptr: a single
    // node). Set once by the controller layer before the listeners open.
    cluster_controller* controller() const { return controller_; }
    void set_controller(cluster_controller* c) { controller_ = c; }
    void roles_changed(shard_id s) {
        for (const auto& f : roles_listeners_) f(s);
    }

  private:
    const broker_config& config_;
    std::atomic<std::shared_ptr<const broker_config>> live_config_;
    shard_set& shards_;
    asio::thread_pool& io_pool_;
    topic_registry topics_;
    cluster_members members_;
    sharded<partition_store> partitions_;
    std::unique_ptr<log_maintenance> maintenance_;
    std::unique_ptr<topic_admin> admin_;
    std::unique_ptr<server::producer_ids> producer_ids_;
    std::vector<std::function<void(shard_id)>> roles_listeners_;
    cluster_controller* controller_ = nullptr;
};

}  // namespace runnel::server
