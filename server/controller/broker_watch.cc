#include "server/controller/broker_watch.h"

#include <charconv>

#include "server/core/logger.h"

namespace runnel::server {

namespace asio = boost::asio;
using namespace zookeeper;

asio::awaitable<void> broker_watch::run() {
    auto pass = [this] { return read_once(); };
    co_await loop_.run(pass);
}

asio::awaitable<bool> broker_watch::read_once() {
    node_children ids =
        co_await zk_.children(std::string(paths::broker_ids), [this] { loop_.wake(); });
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
    if (!loop_.stopped() && on_change_) on_change_(brokers);
    co_return true;
}

}  // namespace runnel::server
