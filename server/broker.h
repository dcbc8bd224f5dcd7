// The broker process: builds the layers (cluster, coordinators, Kafka handlers, listeners) on one
// set of shards and runs them from start to stop.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>
#include <vector>

#include "server/admin/admin_server.h"
#include "server/admin/routes/routes.h"
#include "server/cluster/cluster_context.h"
#include "server/config/broker_config.h"
#include "server/controller/zk_cluster.h"
#include "server/core/shard.h"
#include "server/kafka/kafka_services.h"
#include "server/net/idle_connections.h"
#include "server/net/listeners.h"
#include "server/pipelines/pipeline_host.h"
#include "storage/file.h"

namespace runnel::server {

namespace groups {
class coordinator_set;
}
namespace transactions {
class transaction_coordinator_set;
}

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

    // What clients see of this broker: its cluster id and advertised endpoints (ports resolved
    // after start), the API table, the cluster (in-process tests reach the broker through it).
    kafka_services& kafka() { return *kafka_; }
    // Where the admin HTTP API listens ("host:port", ports resolved after start).
    const std::vector<std::string>& admin_addresses() const { return admin_addresses_; }

  private:
    // Creates the log dirs and takes each one's .lock; throws when another process holds one.
    void lock_log_dirs();
    // The cluster id that cluster.id and the log dirs' meta.properties agree on ("" if none
    // names one); throws when they disagree or a log dir belongs to another node.
    std::string stored_cluster_id();
    // With zookeeper.connect: joins the ZooKeeper cluster and answers its id, which must be
    // the stored one if there is one. Runs before the shards do.
    std::string join_zookeeper(const std::string& stored);
    // Creates the log dirs and writes meta.properties (Kafka's, naming cluster and node) where
    // there is none.
    void prepare_log_dirs(const std::string& cluster);
    // With zookeeper.connect, once the listeners are bound: registers this broker.
    void register_in_zookeeper();
    // Binds runnel.admin.listeners on shard 0 (see the key's description for a taken port).
    void start_admin_api();

    broker_config config_;
    // Before shards_: connections still suspended when the shards' io_contexts are destroyed
    // leave it in their destructors.
    idle_connections idle_;
    shard_set shards_;
    std::unique_ptr<asio::thread_pool> io_pool_;
    cluster_context cluster_;
    std::unique_ptr<groups::coordinator_set> groups_;
    std::unique_ptr<transactions::transaction_coordinator_set> transactions_;
    std::unique_ptr<kafka_services> kafka_;
    // This broker's part in a ZooKeeper cluster; null without zookeeper.connect.
    std::unique_ptr<zk_cluster> zk_;
    std::unique_ptr<pipelines::pipeline_host> pipelines_;
    std::unique_ptr<listeners> listeners_;
    std::atomic<bool> ready_{false};  // started, not stopping: /v1/ready
    std::unique_ptr<admin::admin_services> admin_services_;
    std::unique_ptr<admin::router> admin_routes_;
    std::unique_ptr<admin::admin_server> admin_server_;
    std::vector<std::string> admin_addresses_;
    // One open directory per log dir, held from start to stop: the shutdown's syncfs on it
    // reports any write-back error of that file system since start.
    std::vector<storage::file> log_dir_handles_;
    // Each log dir's .lock, held (flock) from start until the process exits.
    std::vector<storage::file> log_dir_locks_;
    bool started_ = false;
    bool shards_started_ = false;
    bool stopped_ = false;
};

}  // namespace runnel::server
