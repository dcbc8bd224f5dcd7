#include "server/replication/broker_link_pool.h"

#include <algorithm>

namespace runnel::server {

namespace {

// Idle links kept per broker: enough for the calls one shard makes at once in the common case;
// more are opened when needed and closed after.
constexpr size_t idle_per_broker = 4;

}  // namespace

asio::awaitable<link_result<std::unique_ptr<broker_link>>> broker_link_pool::take(
    int32_t broker, std::chrono::milliseconds timeout) {
    const auto members = cluster_.members().snapshot();
    const cluster_member* member = members->find(broker);
    const member_endpoint* at =
        member ? member->broker_endpoint(cluster_.config().inter_broker_listener_name) : nullptr;
    if (!at) co_return std::make_error_code(std::errc::host_unreachable);  // not registered
    const std::string address = at->host + ":" + std::to_string(at->port);
    auto& idle = idle_[broker];
    // A link to where the broker was before (it re-registered elsewhere) is of no use.
    std::erase_if(idle, [&address](const std::unique_ptr<broker_link>& l) {
        return !l->connected() || l->peer() != address;
    });
    if (!idle.empty()) {
        auto link = std::move(idle.back());
        idle.pop_back();
        co_return link;
    }
    auto link = std::make_unique<broker_link>(home_, client_id_);
    if (auto ec = co_await link->connect(at->host, at->port, timeout)) co_return ec;
    co_return link;
}

void broker_link_pool::give_back(int32_t broker, std::unique_ptr<broker_link> link) {
    auto& idle = idle_[broker];
    if (link->connected() && idle.size() < idle_per_broker) idle.push_back(std::move(link));
}

}  // namespace runnel::server
