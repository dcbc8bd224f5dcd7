// Which broker controls the cluster: Kafka's ZooKeeper election. Every broker watches the
// ephemeral /controller; when it is missing, each stands, and the one whose multi creates
// /controller and moves /controller_epoch one up (checked against the version it read) wins.
// The epoch fences a deposed controller: its writes carry an older epoch.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>

#include "server/controller/reconcile_loop.h"
#include "server/zookeeper/zk_client.h"

namespace runnel::server {

struct controller_state {
    int32_t controller_id = -1;  // -1: none known
    int32_t epoch = 0;           // the controller epoch when it was elected
    // The version of /controller_epoch this broker's election left (when it is the
    // controller): every write of its term checks it, so a deposed controller's writes fail.
    int32_t epoch_zk_version = -1;
    bool operator==(const controller_state&) const = default;
};

class controller_election {
  public:
    using listener = std::function<void(const controller_state&)>;

    // A /controller node held by `previous_session` (this broker's previous run, gone) is
    // removed rather than waited out.
    controller_election(zookeeper::zk_client& zk, int32_t self, int64_t previous_session,
                        listener on_change)
        : zk_(zk),
          self_(self),
          previous_session_(previous_session),
          on_change_(std::move(on_change)),
          loop_(zk.executor()) {}

    // Reads /controller (watching it) and stands when there is none; again whenever it changes,
    // until stop(). On the zk_client's executor.
    boost::asio::awaitable<void> run();
    // Look again (a new session).
    void wake() { loop_.wake(); }
    // The session expired: whatever this broker held is gone until check() looks again.
    void session_lost() { set({-1, state_.epoch, -1}); }
    void stop() { loop_.stop(); }

    const controller_state& state() const { return state_; }
    bool is_controller() const { return state_.controller_id == self_; }

  private:
    // One look; false when ZooKeeper did not answer.
    boost::asio::awaitable<bool> check_once();
    enum class standing { won, lost, failed };
    // Stands for election: won; lost (another broker's node is there, or the epoch moved
    // under this one); failed (ZooKeeper did not answer: try again later).
    boost::asio::awaitable<standing> stand();
    boost::asio::awaitable<int32_t> current_epoch();
    void set(controller_state s);

    zookeeper::zk_client& zk_;
    int32_t self_;
    int64_t previous_session_;
    listener on_change_;
    controller_state state_;
    reconcile_loop loop_;
};

}  // namespace runnel::server
