#include "server/cluster/cluster_context.h"

#include <filesystem>

namespace runnel::server {

cluster_context::cluster_context(const broker_config& config, shard_set& shards,
                                 asio::thread_pool& io_pool)
    : config_(config),
      live_config_(std::make_shared<const broker_config>(config)),
      shards_(shards),
      io_pool_(io_pool),
      partitions_(shards.size(), [](shard_id) { return std::make_unique<partition_store>(); }),
      maintenance_(std::make_unique<log_maintenance>(*this)),
      admin_(std::make_unique<topic_admin>(*this)),
      producer_ids_(std::make_unique<server::producer_ids>(
          std::filesystem::path(config.log_dirs.front()) / "runnel-producer-ids")) {
    // A single node is its own controller; in a ZooKeeper cluster the controller layer
    // publishes the registered brokers and the elected controller once it knows them.
    auto self = std::make_shared<members_snapshot>();
    cluster_member me;
    me.id = config.node_id;
    if (!config.broker_rack.empty()) me.rack = config.broker_rack;
    self->brokers.push_back(std::move(me));
    self->controller_id = config.zookeeper_connect.empty() ? config.node_id : -1;
    members_.publish(std::move(self));
}

cluster_context::~cluster_context() = default;

void cluster_context::load_producer_ids() { producer_ids_->load(); }

}  // namespace runnel::server
