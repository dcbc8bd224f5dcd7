// Producer id blocks for this broker from /latest_producer_id_block, as Kafka's ZooKeeper mode
// hands them out: the next 1000 ids after the block last written, taken with a write
// conditional on the znode's version (another broker writing first means reading again), so
// that no two brokers ever give a producer the same id. The cluster layer's producer_ids asks
// for a block at start and whenever its current one is half used.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "server/cluster/cluster_context.h"
#include "server/zookeeper/zk_client.h"

namespace runnel::server {

class producer_id_blocks {
  public:
    producer_id_blocks(zookeeper::zk_client& zk, cluster_context& cluster)
        : zk_(zk), cluster_(cluster) {}
    // On the metadata shard: producer_ids takes its blocks from here from now on.
    void start();

  private:
    // Takes the next block and hands it to producer_ids; tries again until it has one.
    boost::asio::awaitable<void> take_block();

    zookeeper::zk_client& zk_;
    cluster_context& cluster_;
};

}  // namespace runnel::server
