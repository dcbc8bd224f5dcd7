// Where a ZooKeeper cluster's topics are created, grown, reconfigured and deleted: in ZooKeeper, by
// the controller layer (server/controller/zk_topic_admin), which sits above this one; topic_admin
// hands the requests of clients to it through this interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "server/cluster/topic_admin.h"
#include "server/config/config_changes.h"

namespace runnel::server {

class cluster_topic_admin {
  public:
    virtual ~cluster_topic_admin() = default;
    // `spec` has its partition count and replication factor resolved (or its assignments
    // set) and its configs validated. Answers once the broker serves the topic, or with the
    // error Kafka gives.
    virtual asio::awaitable<admin_result> create(new_topic spec, bool validate_only) = 0;
    // Marks the topic for deletion (the controller deletes it) and answers once it is gone
    // from this broker.
    virtual asio::awaitable<admin_result> remove(std::string name) = 0;
    // CreatePartitions: grows `t` to `count` partitions (more than it has), the new ones on
    // `assignments` (one replica list each) or placed as Kafka places them. Answers once this
    // broker serves them.
    virtual asio::awaitable<admin_result> add_partitions(
        std::shared_ptr<const topic_metadata> t, int32_t count,
        std::vector<std::vector<int32_t>> assignments, bool validate_only) = 0;
    // AlterConfigs / IncrementalAlterConfigs of topic `name`: `changes` applied to the overrides
    // ZooKeeper holds. Answers once this broker has them in force.
    virtual asio::awaitable<admin_result> alter_configs(std::string name,
                                                        std::vector<config_change> changes,
                                                        bool replace_all, bool validate_only) = 0;
};

}  // namespace runnel::server
