// Creating, growing, reconfiguring and deleting a ZooKeeper cluster's topics for clients
// (CreateTopics, CreatePartitions, AlterConfigs, DeleteTopics, auto-creation, the admin API), the
// way Kafka's ZooKeeper mode does: a topic is written to
// /config/topics and /brokers/topics (replicas placed by assign_replicas), then the controller
// sets its partitions up and the brokers serve them; a deletion is a marker under
// /admin/delete_topics, which the controller carries out. Answers once this broker sees the
// outcome (or the request's patience runs out).
#pragma once

#include <functional>
#include <memory>

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
    asio::awaitable<admin_result> add_partitions(std::shared_ptr<const topic_metadata> t,
                                                 int32_t count,
                                                 std::vector<std::vector<int32_t>> assignments,
                                                 bool validate_only) override;
    asio::awaitable<admin_result> alter_configs(std::string name,
                                                std::vector<config_change> changes,
                                                bool replace_all, bool validate_only) override;

  private:
    // On the metadata shard (ZooKeeper's completions come there). A conditional write that
    // finds the znode changed meanwhile reads it again, `retries` times.
    asio::awaitable<admin_result> create_here(new_topic spec, bool validate_only);
    asio::awaitable<admin_result> remove_here(std::string name);
    asio::awaitable<admin_result> add_partitions_here(std::shared_ptr<const topic_metadata> t,
                                                      int32_t count,
                                                      std::vector<std::vector<int32_t>> assignments,
                                                      bool validate_only, int retries = 5);
    asio::awaitable<admin_result> alter_configs_here(std::string name,
                                                     std::vector<config_change> changes,
                                                     bool replace_all, bool validate_only,
                                                     int retries = 5);
    // Waits (up to the requests' patience) until this broker's topics show `done` for topic
    // `name` (null when it has none); answers what they show last.
    asio::awaitable<std::shared_ptr<const topic_metadata>> await_topic(
        const std::string& name, const std::function<bool(const topic_metadata*)>& done);

    zookeeper::zk_client& zk_;
    cluster_context& cluster_;
};

}  // namespace runnel::server
