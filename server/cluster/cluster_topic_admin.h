// Where a ZooKeeper cluster's topics are created and deleted: in ZooKeeper, by the controller
// layer (server/controller/zk_topic_admin), which sits above this one; topic_admin hands the
// requests of clients to it through this interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "server/cluster/topic_admin.h"

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
};

}  // namespace runnel::server
