// Every broker of a ZooKeeper cluster follows the topics registered there: their replica
// assignments, config overrides and partition states (leader, ISR, leader epoch), watched, and
// hands each topic as ZooKeeper has it to topic_admin::apply_cluster_topic, which opens the
// logs of the partitions this broker leads. A topic gone from /brokers/topics is removed here.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <set>
#include <string>

#include "server/cluster/cluster_context.h"
#include "server/controller/reconcile_loop.h"
#include "server/zookeeper/zk_client.h"

namespace runnel::server {

class topic_sync : public std::enable_shared_from_this<topic_sync> {
  public:
    topic_sync(zookeeper::zk_client& zk, cluster_context& cluster);

    // Runs until stop(): reads every topic, then each one again when a watch says it changed.
    // On the zk_client's executor.
    boost::asio::awaitable<void> run();
    // A new session: the watches are gone; read everything again.
    void session_renewed();
    void stop();

  private:
    void wake_list();
    void wake_topic(const std::string& name);
    // One pass; false when something could not be read (tried again).
    boost::asio::awaitable<bool> pass();
    // Reads one topic from ZooKeeper and applies it; false when ZooKeeper did not answer.
    boost::asio::awaitable<bool> read_topic(const std::string& name);
    // A watch on `path` that wakes `topic` ("" for the topic list), unless one is armed already
    // (a watch fires once; arming it again on every read would pile them up).
    zookeeper::zk_client::watch_fn watch(const std::string& path, const std::string& topic);

    zookeeper::zk_client& zk_;
    cluster_context& cluster_;
    std::set<std::string> known_;         // topics applied
    std::set<std::string> dirty_topics_;  // to read again
    std::set<std::string> armed_;         // paths with a watch set
    bool list_dirty_ = true;
    reconcile_loop loop_;
};

}  // namespace runnel::server
