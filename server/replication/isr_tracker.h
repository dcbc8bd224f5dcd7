// The leader side of replication's ISR upkeep (Kafka's isr-expiration task and maybeExpandIsr):
// on every shard, twice a second, each partition this broker leads is asked which ISR it wants
// (partition::wanted_isr: laggards out after replica.lag.time.max.ms, caught-up followers in),
// and a change is written through cluster_isr_writer. The new state comes back to every broker,
// this one included, through ZooKeeper (topic_sync), which then applies it to the partition.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "server/cluster/cluster_context.h"
#include "server/cluster/cluster_isr_writer.h"
#include "server/core/sharded.h"

namespace runnel::server {

class isr_tracker {
  public:
    isr_tracker(cluster_context& cluster, cluster_isr_writer& writer);
    // Starts the checks on every shard (from the metadata shard).
    void start();
    // On shard `s`: ends its checks.
    void stop_on(shard_id s);

  private:
    asio::awaitable<void> run(shard_id s);
    void check(shard_id s);

    cluster_context& cluster_;
    cluster_isr_writer& writer_;
    sharded<asio::steady_timer> timers_;
    sharded<bool> stopped_;
};

}  // namespace runnel::server
