// The live brokers of a ZooKeeper cluster: the children of /brokers/ids and what each
// registered, read again whenever a broker comes or goes.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <vector>

#include "server/controller/reconcile_loop.h"
#include "server/zookeeper/kafka_znodes.h"
#include "server/zookeeper/zk_client.h"

namespace runnel::server {

class broker_watch {
  public:
    using listener = std::function<void(const std::vector<zookeeper::broker_registration>&)>;

    broker_watch(zookeeper::zk_client& zk, listener on_change)
        : zk_(zk), on_change_(std::move(on_change)), loop_(zk.executor()) {}

    // Lists the brokers (watching the list) and tells the listener; again on every change,
    // until stop(). On the zk_client's executor.
    boost::asio::awaitable<void> run();
    // A new session: the watch died with the old one.
    void session_renewed() { loop_.wake(); }
    void stop() { loop_.stop(); }

  private:
    boost::asio::awaitable<bool> read_once();

    zookeeper::zk_client& zk_;
    listener on_change_;
    reconcile_loop loop_;
};

}  // namespace runnel::server
