// The follower side of replication on this broker: a replica_fetcher per shard and leader,
// started when partitions of a shard begin following a leader (topic administration says so
// after it applied their roles) and ending by itself when none does any more.
#pragma once

#include <map>
#include <memory>

#include "server/cluster/cluster_context.h"
#include "server/core/sharded.h"
#include "server/replication/replica_fetcher.h"

namespace runnel::server {

class replica_fetchers {
  public:
    explicit replica_fetchers(cluster_context& cluster);
    // Before the cluster's topics are applied: from then on a role change on a shard starts
    // the fetchers its followers need.
    void start();
    // On shard `s` (broker shutdown, after leaving the cluster): stops its fetchers.
    void stop_on(shard_id s);

  private:
    using fetchers_by_leader = std::map<int32_t, std::shared_ptr<replica_fetcher>>;
    // On shard `s`: a fetcher for every leader its followers follow.
    void reconcile(shard_id s);

    cluster_context& cluster_;
    sharded<fetchers_by_leader> fetchers_;
    sharded<bool> stopped_;
};

}  // namespace runnel::server
