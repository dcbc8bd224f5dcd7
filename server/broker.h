// The broker process: shards, listeners, the topic table and every shard's partitions.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>
#include <vector>

#include "server/config/broker_config.h"
#include "server/kafka/dispatch.h"
#include "server/net/idle_connections.h"
#include "server/cluster/log_maintenance.h"
#include "server/cluster/partition.h"
#include "server/cluster/producer_ids.h"
#include "server/core/shard.h"
#include "server/cluster/topic_admin.h"
#include "server/cluster/topic_registry.h"
#include "storage/file.h"

namespace runnel::server {

namespace groups {
class coordinator_set;
}
namespace transactions {
class transaction_coordinator_set;
}

struct advertised_endpoint {
    std::string listener;  // listener name, e.g. PLAINTEXT
    std::string host;
    int32_t port = 0;
};

class broker {
public:
    explicit broker(broker_config config);
    ~broker();
    broker(const broker&) = delete;
    broker& operator=(const broker&) = delete;

    // Prepares log dirs, loads topics and partitions, binds listeners and starts serving.
    // Throws std::runtime_error when the broker cannot start.
    void start();
    // Stops accepting, flushes and closes every log, stops the shards. Idempotent.
    void stop();

    const broker_config& config() const { return config_; }
    const dispatch& api_dispatch() const { return dispatch_; }
    shard_set& shards() { return shards_; }
    shard& controller_shard() { return shards_.at(0); }
    topic_registry& topics() { return topics_; }
    topic_admin& admin() { return *admin_; }
    log_maintenance& maintenance() { return maintenance_; }
    // Client connections per shard, for connections.max.idle.ms.
    idle_connections& idle() { return idle_; }
    // The consumer group coordinators (one per shard).
    groups::coordinator_set& groups() { return *groups_; }
    // The transaction coordinators (one per shard).
    transactions::transaction_coordinator_set& transactions() { return *transactions_; }
    // Threads for blocking disk work kept off the shards (log flushes, reads of data not in the
    // page cache); num.io.threads of them.
    asio::thread_pool& io_pool() { return *io_pool_; }
    // Producer ids for InitProducerId (any thread).
    server::producer_ids& producer_ids() { return *producer_ids_; }
    // The partitions owned by shard `id`; use only from that shard.
    partition_store& partitions_on(shard_id id) { return stores_[id]; }

    int32_t node_id() const { return config_.node_id; }
    const std::string& cluster_id() const { return cluster_id_; }
    // Where clients reach this broker, per listener (ports resolved after binding).
    const std::vector<advertised_endpoint>& endpoints() const { return endpoints_; }
    const advertised_endpoint& endpoint_for(const std::string& listener) const;

private:
    void prepare_log_dirs();
    void bind_listeners();
    asio::awaitable<void> accept_loop(std::shared_ptr<asio::ip::tcp::acceptor> acceptor,
                                      std::string listener);

    broker_config config_;
    // Before shards_: connections still suspended when the shards' io_contexts are destroyed
    // leave it in their destructors.
    idle_connections idle_;
    shard_set shards_;
    std::unique_ptr<asio::thread_pool> io_pool_;
    dispatch dispatch_;
    topic_registry topics_;
    std::vector<partition_store> stores_;
    std::unique_ptr<topic_admin> admin_;
    log_maintenance maintenance_{*this};
    std::unique_ptr<groups::coordinator_set> groups_;
    std::unique_ptr<transactions::transaction_coordinator_set> transactions_;
    std::unique_ptr<server::producer_ids> producer_ids_;
    std::string cluster_id_;
    std::vector<advertised_endpoint> endpoints_;
    std::vector<std::shared_ptr<asio::ip::tcp::acceptor>> acceptors_;
    // One open directory per log dir, held from start to stop: the shutdown's syncfs on it
    // reports any write-back error of that file system since start.
    std::vector<storage::file> log_dir_handles_;
    uint32_t next_shard_ = 0;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace runnel::server
