// This broker's part in a cluster coordinated by ZooKeeper (zookeeper.connect set), in Kafka's
// znode layout: the session, the cluster id, this broker's registration, the watch on the other
// brokers and the controller election. What it learns goes to cluster_context::members().
#pragma once

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server/cluster/cluster_context.h"
#include "server/controller/active_controller.h"
#include "server/controller/broker_watch.h"
#include "server/controller/controller_election.h"
#include "server/controller/producer_id_blocks.h"
#include "server/controller/topic_sync.h"
#include "server/controller/zk_isr_writer.h"
#include "server/controller/zk_topic_admin.h"
#include "server/replication/isr_tracker.h"
#include "server/replication/replica_fetchers.h"
#include "server/zookeeper/kafka_znodes.h"
#include "server/zookeeper/zk_client.h"

namespace runnel::server {

class zk_cluster : public cluster_controller {
  public:
    explicit zk_cluster(cluster_context& cluster);
    ~zk_cluster();
    zk_cluster(const zk_cluster&) = delete;
    zk_cluster& operator=(const zk_cluster&) = delete;

    // On the metadata shard, before the log dirs are prepared: connects (within
    // zookeeper.connection.timeout.ms), creates Kafka's persistent znodes and answers the
    // cluster's id: the one stored in /cluster/id, or `candidate` (cluster.id, meta.properties,
    // or a new one) stored there when there is none.
    boost::asio::awaitable<std::string> join(std::string candidate);
    // On the metadata shard, once the listeners are bound: registers this broker with its
    // advertised endpoints, then watches the brokers and the controller and stands for
    // election. Throws std::runtime_error when the broker id is taken by a live broker.
    boost::asio::awaitable<void> start(zookeeper::broker_registration self);
    // On the metadata shard: ends the session, which removes this broker's registration (and
    // the controller node if it held it) at once.
    void stop();
    // Then on every shard `s`: its replica fetchers and ISR checks stop.
    void stop_replication_on(shard_id s);
    // On the metadata shard, before the broker stops (with its fetchers stopped): Kafka's
    // controlled shutdown. Asks the controller (this broker or another, ControlledShutdown
    // through the inter-broker listener) to move the leadership of this broker's partitions,
    // trying again controlled.shutdown.max.retries times, then waits briefly for the new
    // leaders to reach this broker. Returns whether everything moved.
    boost::asio::awaitable<bool> hand_over_leadership();
    // cluster_controller: what this broker's controller term does for a broker shutting down.
    // After join(): a new broker id from /brokers/seqid, above `reserved_max`
    // (reserved.broker.max.id), as Kafka generates them.
    boost::asio::awaitable<int32_t> generate_broker_id(int32_t reserved_max);
    boost::asio::awaitable<controlled_shutdown_result> controlled_shutdown(int32_t broker) override;
    boost::asio::awaitable<elect_leaders_result> elect_leaders(
        bool unclean,
        std::optional<std::vector<std::pair<std::string, int32_t>>> partitions) override;
    boost::asio::awaitable<alter_reassignments_result> alter_reassignments(
        std::vector<reassignment_request> partitions,
        bool allow_replication_factor_change) override;
    boost::asio::awaitable<list_reassignments_result> list_reassignments(
        std::optional<std::vector<std::pair<std::string, int32_t>>> partitions) override;

  private:
    void publish();
    // Starts or ends this broker's term as the controller to match the election.
    void follow_election();
    std::set<int32_t> live_ids() const;
    void on_session(zookeeper::session_event e);
    boost::asio::awaitable<void> renew();
    boost::asio::awaitable<void> register_self();
    // The session of this broker's previous run, from its log dir (0 if unknown).
    int64_t previous_session() const;
    void remember_session();
    // One ControlledShutdown request to the controller (or this broker's own term).
    boost::asio::awaitable<controlled_shutdown_result> ask_controller();
    // Runs call(term) (an awaitable of R) on the metadata shard while this broker holds the
    // controllership; R with NOT_CONTROLLER otherwise. `call` must be a named lambda (g++ 12).
    template <class R, class F>
    boost::asio::awaitable<R> with_term(F& call);

    cluster_context& cluster_;
    std::unique_ptr<zookeeper::zk_client> zk_;
    zookeeper::broker_registration self_;
    std::unique_ptr<broker_watch> brokers_;
    std::unique_ptr<controller_election> election_;
    std::shared_ptr<active_controller> active_;  // while this broker is the controller
    std::shared_ptr<topic_sync> topics_;
    std::unique_ptr<zk_topic_admin> topic_admin_;  // what topic_admin hands clients' requests
    // Replication: followers' fetchers, and leaders' ISR upkeep written through isr_writer_.
    std::unique_ptr<replica_fetchers> fetchers_;
    std::unique_ptr<zk_isr_writer> isr_writer_;
    std::unique_ptr<isr_tracker> isr_tracker_;
    std::unique_ptr<producer_id_blocks> producer_ids_;  // InitProducerId's ids, cluster-wide
    std::vector<zookeeper::broker_registration> live_;
    // <first log dir>/runnel-zookeeper-session: the session of the last registration.
    std::filesystem::path session_file_;
    int64_t previous_session_ = 0;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace runnel::server
