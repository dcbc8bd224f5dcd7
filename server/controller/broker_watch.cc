#include "server/controller/broker_watch.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "server/core/logger.h"

namespace runnel::server {

namespace asio = boost::asio;
using namespace zookeeper;

void broker_watch::watch_fired() {
    if (stopped_) return;
    asio::co_spawn(
        zk_.executor(), [this]() -> asio::awaitable<void> { co_await check(); },
        log_failure("watching /brokers/ids"));
}

asio::awaitable<void> broker_watch::check() {
    if (running_) {
        again_ = true;
        co_return;
    }
    running_ = true;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    int failures = 0;
    do {
        again_ = false;
        if (!co_await read_once()) {
            // ZooKeeper unreachable: read again shortly (a new session also calls back).
            timer.expires_after(
                std::chrono::milliseconds(std::min(100 << std::min(failures, 4), 1000)));
            ++failures;
            co_await timer.async_wait(asio::use_awaitable);
            again_ = true;
        }
    } while (again_ && !stopped_);
    running_ = false;
}

asio::awaitable<bool> broker_watch::read_once() {
    node_children ids =
        co_await zk_.children(std::string(paths::broker_ids), [this] { watch_fired(); });
    if (!ids.code.ok()) co_return false;
    std::vector<broker_registration> brokers;
    for (const auto& name : ids.names) {
        int32_t id = -1;
        auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
        if (ec != std::errc{} || p != name.data() + name.size()) continue;
        node_data d = co_await zk_.get(paths::broker(id));
        if (d.code.no_node()) continue;  // left since the list was read
        if (!d.code.ok()) co_return false;
        try {
            brokers.push_back(broker_registration::from_json(id, d.data));
        } catch (const znode_format_error& e) {
            server_log().warn("skipping broker {}: {}", id, e.what());
        }
    }
    std::sort(brokers.begin(), brokers.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    if (!stopped_ && on_change_) on_change_(brokers);
    co_return true;
}

}  // namespace runnel::server
