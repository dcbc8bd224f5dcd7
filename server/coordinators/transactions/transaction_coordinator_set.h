// The broker's transaction coordinators: one transaction_coordinator per shard, each serving the
// transactional ids of the __transaction_state partitions its shard owns (as groups are served,
// see groups/coordinator_set.h). Creates __transaction_state on first use, loads its partitions
// at start-up and then finishes the transactions a crash left half-way, and runs each shard's
// periodic work: aborting timed-out transactions, retrying unfinished ones and expiring idle
// transactional ids.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "protocol/errors.h"
#include "server/cluster/internal_topic.h"
#include "server/coordinators/coordinator_runtime.h"
#include "server/coordinators/transactions/transaction_coordinator.h"
#include "server/core/shard.h"
#include "server/core/sharded.h"

namespace runnel::server {
class broker_link_pool;
class cluster_context;
namespace groups {
class coordinator_set;
}
}  // namespace runnel::server

namespace runnel::server::transactions {

// Where a transactional id is coordinated.
using transaction_location = internal_topic::location;

class transaction_coordinator_set {
  public:
    // Markers for __consumer_offsets partitions settle pending offsets in `groups`.
    transaction_coordinator_set(cluster_context& cluster, groups::coordinator_set& groups);
    ~transaction_coordinator_set();
    transaction_coordinator_set(const transaction_coordinator_set&) = delete;
    transaction_coordinator_set& operator=(const transaction_coordinator_set&) = delete;

    // Broker start-up, shards running, topics loaded: every shard loads the __transaction_state
    // partitions it owns (requests for them get COORDINATOR_LOAD_IN_PROGRESS meanwhile) and
    // starts its periodic work.
    void start();
    // Broker shutdown, shards still running: stops the periodic work.
    void stop();

    // The coordinator of shard `id`; use only on that shard.
    transaction_coordinator& on(shard_id id) { return *per_shard_.on(id).coordinator; }

    shard_set& shards();

    // Any shard. If __transaction_state does not exist yet, starts creating it and answers
    // COORDINATOR_LOAD_IN_PROGRESS.
    transaction_location locate(std::string_view transactional_id) {
        return runtime_.locate(transactional_id);
    }
    // Any shard: creates __transaction_state unless it exists; none or
    // COORDINATOR_NOT_AVAILABLE.
    asio::awaitable<protocol::error_code> ensure_topic() { return runtime_.ensure_topic(); }
    // On shard `owner`: readies `partition` for requests. A partition created after start-up is
    // loaded now (it is empty); one still loading gives COORDINATOR_LOAD_IN_PROGRESS.
    protocol::error_code activate(shard_id owner, int32_t partition) {
        return runtime_.activate(owner, partition);
    }
    // On shard `owner`: whether a partition the shard owns is still loading (ListTransactions
    // then answers COORDINATOR_LOAD_IN_PROGRESS, as Kafka does).
    bool loading(shard_id owner) const { return runtime_.loading(owner); }
    // Shard `id`'s links to the other brokers (use only on that shard).
    broker_link_pool& links(shard_id id) { return *per_shard_.on(id).links; }

  private:
    struct per_shard {
        std::unique_ptr<transaction_coordinator> coordinator;
        std::unique_ptr<asio::steady_timer> timer;
        // To the leaders of transactions' partitions on other brokers (markers).
        std::unique_ptr<broker_link_pool> links;
    };

    coordinator_hooks make_hooks(shard_id id);
    coordinator_runtime::loader make_loader(shard_id id);
    asio::awaitable<std::error_code> append(shard_id id, int32_t partition,
                                            std::vector<uint8_t> key,
                                            std::optional<std::vector<uint8_t>> value);
    // Completes the transactions loading found half-way, on shard `id`.
    asio::awaitable<void> resume_unfinished(shard_id id);
    asio::awaitable<void> periodic_loop(shard_id id);

    cluster_context& cluster_;
    groups::coordinator_set& groups_;
    sharded<per_shard> per_shard_;
    internal_topic topic_;
    coordinator_runtime runtime_;  // after topic_ and per_shard_: uses both
    std::atomic<bool> stopping_{false};
};

}  // namespace runnel::server::transactions
