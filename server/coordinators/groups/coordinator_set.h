// The broker's group coordinators: one group_coordinator per shard, each serving the groups of
// the __consumer_offsets partitions its shard owns. Creates __consumer_offsets on first use and
// loads its partitions at start-up.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string_view>
#include <vector>

#include "protocol/errors.h"
#include "server/cluster/internal_topic.h"
#include "server/coordinators/coordinator_runtime.h"
#include "server/coordinators/groups/asio_timers.h"
#include "server/coordinators/groups/group_coordinator.h"
#include "server/core/shard.h"
#include "server/core/sharded.h"

namespace runnel::server {
class cluster_context;
}

namespace runnel::server::groups {

// Where a group is coordinated.
using group_location = internal_topic::location;

class coordinator_set {
  public:
    explicit coordinator_set(cluster_context& cluster);
    ~coordinator_set();
    coordinator_set(const coordinator_set&) = delete;
    coordinator_set& operator=(const coordinator_set&) = delete;

    // Broker start-up, shards running, topics loaded: every shard starts loading the
    // __consumer_offsets partitions it owns (requests for them get COORDINATOR_LOAD_IN_PROGRESS
    // until done). Returns once loading has begun everywhere.
    void start();
    // Broker shutdown, shards still running: stops timers and answers parked requests.
    void stop();

    // The coordinator of shard `id`; use only on that shard.
    group_coordinator& on(shard_id id) { return *per_shard_.on(id).coordinator; }
    shard_set& shards();

    // Any shard. If __consumer_offsets does not exist yet, starts creating it and answers
    // COORDINATOR_LOAD_IN_PROGRESS.
    group_location locate(std::string_view group_id) { return runtime_.locate(group_id); }
    // Any shard: creates __consumer_offsets unless it exists and waits for it; none or
    // COORDINATOR_NOT_AVAILABLE.
    asio::awaitable<protocol::error_code> ensure_topic() { return runtime_.ensure_topic(); }
    // On shard `owner`: readies `partition` for requests. A partition created after start-up is
    // loaded now (it is empty); one still loading gives COORDINATOR_LOAD_IN_PROGRESS.
    protocol::error_code activate(shard_id owner, int32_t partition) {
        return runtime_.activate(owner, partition);
    }

  private:
    struct per_shard {
        std::unique_ptr<asio_group_timers> timers;
        std::unique_ptr<group_coordinator> coordinator;  // after timers: uses them
    };

    append_fn make_append(shard_id id);
    coordinator_runtime::loader make_loader(shard_id id);

    cluster_context& cluster_;
    sharded<per_shard> per_shard_;
    internal_topic topic_;
    coordinator_runtime runtime_;  // after topic_ and per_shard_: uses both
};

}  // namespace runnel::server::groups
