// The controller's work while this broker holds the controllership (one term: one controller
// epoch). It reconciles: the topics registered in /brokers/topics, and the live brokers, against
// each partition's state znode, and writes what is missing. Every write checks the version of
// /controller_epoch its election left, so that once another broker is elected, this one's writes
// fail and it resigns (Kafka's epoch fencing).
//
// Topics get a topic id when they have none (Kafka 2.8's tools write them without), new
// partitions their first state (initial_partition_state: leader and ISR from the live
// replicas), topics marked for deletion are deleted, and whenever the live brokers change every
// partition is checked (after_brokers_changed): the brokers gone leave its ISR, and a partition
// whose leader is gone gets a new one from the live ISR, in a new leader epoch.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server/cluster/cluster_controller.h"
#include "server/controller/controller_election.h"
#include "server/controller/reconcile_loop.h"
#include "server/zookeeper/kafka_znodes.h"
#include "server/zookeeper/zk_client.h"

namespace runnel::server {

// What the controller's term follows from the broker's configuration.
struct controller_settings {
    bool delete_topics = true;   // delete.topic.enable (else markers are just removed)
    bool unclean = false;        // unclean.leader.election.enable
    bool auto_rebalance = true;  // auto.leader.rebalance.enable
    std::chrono::milliseconds rebalance_interval{
        300000};                        // leader.imbalance.check.interval.seconds
    int32_t imbalance_percentage = 10;  // leader.imbalance.per.broker.percentage
};

class active_controller : public std::enable_shared_from_this<active_controller> {
  public:
    active_controller(zookeeper::zk_client& zk, int32_t self, controller_state term,
                      std::set<int32_t> live, controller_settings settings);

    // Runs the term until resign() or until a write finds the controller moved: a pass over the
    // cluster, then one more after every change seen. On the zk_client's executor.
    boost::asio::awaitable<void> run();
    // The live brokers changed (broker_watch).
    void brokers_changed(std::set<int32_t> live);
    // Kafka's controlled shutdown of `broker`: from now until it leaves, it is no candidate
    // for leadership; its partitions get other leaders from their live ISR, and it leaves
    // every ISR. Answers the partitions it still leads (no other live ISR replica).
    boost::asio::awaitable<controlled_shutdown_result> controlled_shutdown(int32_t broker);
    // ElectLeaders (cluster_controller::elect_leaders).
    boost::asio::awaitable<elect_leaders_result> elect_leaders(
        bool unclean, std::optional<std::vector<std::pair<std::string, int32_t>>> partitions);
    // AlterPartitionReassignments / ListPartitionReassignments
    // (cluster_controller::alter_reassignments, list_reassignments).
    boost::asio::awaitable<alter_reassignments_result> alter_reassignments(
        std::vector<reassignment_request> partitions, bool allow_replication_factor_change);
    list_reassignments_result list_reassignments(
        const std::optional<std::vector<std::pair<std::string, int32_t>>>& partitions) const;
    void resign() { loop_.stop(); }
    bool resigned() const { return loop_.stopped(); }
    int32_t epoch() const { return term_.epoch; }

  private:
    struct topic_entry {
        zookeeper::topic_assignment assignment;
        int32_t version = -1;         // of /brokers/topics/<t>
        std::vector<bool> has_state;  // per partition: its state znode exists
    };

    void wake() { loop_.wake(); }
    // A watch that wakes this term if it still runs. Made outside the co_await expression: g++
    // 12 destroys a lambda temporary there twice, and this one holds a weak_ptr (that broke the
    // controller's reference count and crashed it).
    zookeeper::zk_client::watch_fn waker();
    // The same for a topic's znode: marks the topic to be read again.
    zookeeper::zk_client::watch_fn topic_waker(const std::string& name);
    // One reconciliation; false when something could not be read or written (tried again).
    boost::asio::awaitable<bool> pass();
    boost::asio::awaitable<bool> load_topic(const std::string& name);
    // Carries out the deletions marked under /admin/delete_topics (kafka-topics --delete,
    // DeleteTopics): the topic's znodes and config go in one fenced multi, the marker last.
    boost::asio::awaitable<void> delete_marked_topics();
    boost::asio::awaitable<bool> delete_topic(const std::string& name);
    boost::asio::awaitable<void> initialize_partitions(const std::string& name, topic_entry& t);
    // Elects leaders and shrinks ISRs for the live brokers as they are now; false when a state
    // could not be read or written (changed meanwhile: again next pass).
    boost::asio::awaitable<bool> follow_live_brokers(const std::string& name, const topic_entry& t);
    // Finishes the moves of `t` whose target replicas are all in the ISR (the partition cut to
    // its target in a new leader epoch, then the topic's znode without the old replicas); false
    // while some move is still waiting.
    boost::asio::awaitable<bool> progress_reassignments(const std::string& name, topic_entry& t);
    // Starts or cancels the moves asked for one topic's partitions, answering each in `out`.
    boost::asio::awaitable<void> reassign_topic(const std::string& name,
                                                std::vector<reassignment_request> asked,
                                                bool allow_replication_factor_change,
                                                std::vector<reassignment_result>& out);
    // Carries out /admin/reassign_partitions (Kafka's older tools): starts the moves it lists
    // that have not started, and removes the znode once every one is done (those refused are
    // logged and left out).
    boost::asio::awaitable<void> follow_legacy_reassignments();
    std::set<std::pair<std::string, int32_t>> legacy_refused_;
    // While moves wait for their replicas to catch up: a pass again in a moment (the leaders'
    // ISR changes are not watched).
    void recheck_soon();
    bool recheck_armed_ = false;
    // One partition state rewritten by the term (failover, shutdown, elections).
    struct state_change {
        // written; left as `decide` chose; missing (no state yet); unreadable (not Kafka's
        // JSON: logged); failed (ZooKeeper unreachable, or changed on every attempt).
        enum class outcome { written, left, missing, unreadable, failed } result = outcome::failed;
        zookeeper::partition_state before;                // as read (the last time)
        std::optional<zookeeper::partition_state> after;  // as written
    };
    using state_decision = std::function<std::optional<zookeeper::partition_state>(
        const zookeeper::partition_state& current)>;
    // Reads `topic`-`p`'s state znode, lets `decide` choose the next state (nullopt: leave it),
    // and writes that conditionally on the version read, inside the term's fenced multi; a state
    // changed meanwhile (a leader's own ISR write) is read and decided again, `attempts` times
    // in all. `decide` must be a named object (no temporary in the co_await, for g++ 12).
    boost::asio::awaitable<state_change> change_state(const std::string& topic, int32_t p,
                                                      const state_decision& decide,
                                                      int attempts = 5);
    // `ops` preceded by the check of this term's /controller_epoch version; resigns when the
    // check fails.
    boost::asio::awaitable<zookeeper::multi_result> fenced(std::vector<zookeeper::zk_op> ops);

    zookeeper::zk_client& zk_;
    int32_t self_;
    controller_state term_;
    std::set<int32_t> live_;
    controller_settings settings_;
    // Kafka's auto leader rebalance: every rebalance_interval, the partitions of a broker that
    // leads too few of those it prefers go back to it.
    boost::asio::awaitable<void> rebalance_leaders();
    // Brokers in a controlled shutdown: alive, but no longer leaders or ISR members.
    std::set<int32_t> shutting_down_;
    // The live brokers every partition state was last checked against (none yet: a new term
    // checks them all first).
    std::optional<std::set<int32_t>> checked_live_;
    // The brokers that may lead and stay in ISRs: live_ without those shutting down.
    std::set<int32_t> electable() const;
    std::map<std::string, topic_entry> topics_;
    std::set<std::string> changed_topics_;  // znodes changed since read
    bool incomplete_ = false;               // the pass under way left something for the next
    reconcile_loop loop_;
};

}  // namespace runnel::server
