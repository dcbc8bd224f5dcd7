// The live brokers of a ZooKeeper cluster: the children of /brokers/ids and what each
// registered, read again whenever a broker comes or goes.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <vector>

#include "server/zookeeper/kafka_znodes.h"
#include "server/zookeeper/zk_client.h"

namespace runnel::server {

class broker_watch {
  public:
    using listener = std::function<void(const std::vector<zookeeper::broker_registration>&)>;

    broker_watch(zookeeper::zk_client& zk, listener on_change)
        : zk_(zk), on_change_(std::move(on_change)) {}

    // Lists the brokers (watching the list) and tells the listener; again on every change.
    // Runs on the zk_client's executor, one pass at a time.
    boost::asio::awaitable<void> check();
    // A new session: the watch died with the old one.
    void session_renewed() { watch_fired(); }
    void stop() { stopped_ = true; }

  private:
    boost::asio::awaitable<bool> read_once();
    void watch_fired();

    zookeeper::zk_client& zk_;
    listener on_change_;
    bool running_ = false;
    bool again_ = false;
    bool stopped_ = false;
};

}  // namespace runnel::server
