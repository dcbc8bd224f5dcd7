// How the controller layer reacts to ZooKeeper: a watch says something changed, and one pass
// reads the state again and acts on it (level-triggered, as Kafka's controller re-reads the
// znodes an event names). A loop runs one pass at a time; a change seen while a pass runs makes
// one more follow; a pass that could not finish (ZooKeeper out of reach) is tried again after a
// pause of 100 ms doubling to 800 ms. broker_watch, controller_election, active_controller and
// topic_sync each run one.
#pragma once

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace runnel::server {

class reconcile_loop {
  public:
    explicit reconcile_loop(const boost::asio::any_io_executor& executor)
        : wakeup_(executor), retry_(executor) {
        wakeup_.expires_at(boost::asio::steady_timer::time_point::max());
    }

    // Another pass is wanted (a watch fired, a session was renewed).
    void wake() {
        dirty_ = true;
        wakeup_.cancel();
    }
    void stop() {
        stopped_ = true;
        wakeup_.cancel();
        retry_.cancel();
    }
    bool stopped() const { return stopped_; }

    // Runs `pass` (a callable giving awaitable<bool>: false when it could not finish) until
    // stop(), once at first and then whenever woken.
    template <class Pass>
    boost::asio::awaitable<void> run(Pass& pass) {
        int failures = 0;
        while (!stopped_) {
            if (!dirty_) {
                wakeup_.expires_at(boost::asio::steady_timer::time_point::max());
                boost::system::error_code ec;
                co_await wakeup_.async_wait(
                    boost::asio::redirect_error(boost::asio::use_awaitable, ec));
                continue;
            }
            dirty_ = false;
            if (co_await pass()) {
                failures = 0;
                continue;
            }
            dirty_ = true;
            retry_.expires_after(std::chrono::milliseconds(100 << std::min(failures, 3)));
            failures = std::min(failures + 1, 4);
            boost::system::error_code ec;
            co_await retry_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        }
    }

  private:
    boost::asio::steady_timer wakeup_;
    boost::asio::steady_timer retry_;
    bool dirty_ = true;
    bool stopped_ = false;
};

}  // namespace runnel::server
