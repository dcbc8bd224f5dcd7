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
          std::filesystem::path(config.log_dirs.front()) / "runnel-producer-ids")) {}

cluster_context::~cluster_context() = default;

void cluster_context::load_producer_ids() { producer_ids_->load(); }

}  // namespace runnel::server
