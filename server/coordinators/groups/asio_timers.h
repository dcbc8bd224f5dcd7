// group_timers on a shard's io_context: steady timers keyed by name, wall-clock time.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <string>

#include "server/coordinators/groups/group_coordinator.h"

namespace runnel::server::groups {

// Use only on the thread running `ctx`.
class asio_group_timers final : public group_timers {
  public:
    explicit asio_group_timers(boost::asio::io_context& ctx) : ctx_(ctx) {}
    ~asio_group_timers() override { cancel_all(); }

    int64_t now_ms() override;
    void schedule(const std::string& key, int64_t delay_ms, std::function<void()> fn) override;
    void cancel(const std::string& key) override;
    void cancel_all() override;
    size_t pending() const { return timers_.size(); }

  private:
    struct entry {
        explicit entry(boost::asio::io_context& ctx) : timer(ctx) {}
        boost::asio::steady_timer timer;
        uint64_t id = 0;
    };
    boost::asio::io_context& ctx_;
    std::map<std::string, std::unique_ptr<entry>> timers_;
    uint64_t next_id_ = 0;
};

}  // namespace runnel::server::groups
