// Creating and deleting a ZooKeeper cluster's topics for clients (CreateTopics, DeleteTopics,
// auto-creation, the admin API), the way Kafka's ZooKeeper mode does: a topic is written to
// /config/topics and /brokers/topics (replicas placed by assign_replicas), then the controller
// sets its partitions up and the brokers serve them; a deletion is a marker under
// /admin/delete_topics, which the controller carries out. Answers once this broker sees the
// outcome (or the request's patience runs out).
#pragma once

#include "server/cluster/cluster_context.h"
#include "server/cluster/cluster_topic_admin.h"
#include "server/zookeeper/zk_client.h"

namespace runnel::server {

class zk_topic_admin : public cluster_topic_admin {
  public:
    zk_topic_admin(zookeeper::zk_client& zk, cluster_context& cluster)
        : zk_(zk), cluster_(cluster) {}

    asio::awaitable<admin_result> create(new_topic spec, bool validate_only) override;
    asio::awaitable<admin_result> remove(std::string name) override;

  private:
    asio::awaitable<admin_result> create_here(new_topic spec, bool validate_only);
    asio::awaitable<admin_result> remove_here(std::string name);

    zookeeper::zk_client& zk_;
    cluster_context& cluster_;
};

}  // namespace runnel::server
