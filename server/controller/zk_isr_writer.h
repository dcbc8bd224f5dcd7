// A leader's ISR change written to ZooKeeper (cluster_isr_writer): the partition state znode
// with the new ISR and everything else as it was, conditional on the version the leader last
// read, as Kafka 2.x's leaders write it. Every broker watches the states (topic_sync), so the
// change reaches them without Kafka's /isr_change_notification round through the controller.
#pragma once

#include "server/cluster/cluster_context.h"
#include "server/cluster/cluster_isr_writer.h"
#include "server/zookeeper/zk_client.h"

namespace runnel::server {

class zk_isr_writer : public cluster_isr_writer {
  public:
    zk_isr_writer(zookeeper::zk_client& zk, cluster_context& cluster)
        : zk_(zk), cluster_(cluster) {}

    asio::awaitable<bool> write_isr(std::string topic, int32_t index, partition_role role,
                                    std::vector<int32_t> isr) override;

  private:
    asio::awaitable<bool> write_here(std::string topic, int32_t index, partition_role role,
                                     std::vector<int32_t> isr);

    zookeeper::zk_client& zk_;
    cluster_context& cluster_;
};

}  // namespace runnel::server
