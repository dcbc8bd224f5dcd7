// One shard's connections to the other brokers for short calls (transaction markers to the
// leaders of a transaction's partitions, a leader asking a transaction coordinator whether a
// partition is in a transaction): idle links kept per broker, each carrying one call at a time,
// reached through the broker's inter-broker listener as registered now. Lives on one shard.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/cluster/cluster_context.h"
#include "server/replication/broker_link.h"

namespace runnel::server {

class broker_link_pool {
  public:
    broker_link_pool(cluster_context& cluster, shard& home, std::string client_id)
        : cluster_(cluster), home_(home), client_id_(std::move(client_id)) {}

    // Sends `request` to broker `broker` as version `version` of `Api` and waits up to `timeout`
    // (connecting first when no idle link is there). Fails when the broker is not registered,
    // cannot be reached, or the call fails.
    template <class Api>
    asio::awaitable<link_result<typename Api::response>> call(int32_t broker,
                                                              const typename Api::request& request,
                                                              int16_t version,
                                                              std::chrono::milliseconds timeout) {
        auto link = co_await take(broker, timeout);
        if (!link) co_return link.error();
        auto answer = co_await (*link)->template call<Api>(request, version, timeout);
        give_back(broker, std::move(*link));
        co_return answer;
    }

    // Closes every idle link (broker shutdown).
    void close_all() { idle_.clear(); }

  private:
    // An idle link to the broker's current address, or a new one connected within `timeout`.
    asio::awaitable<link_result<std::unique_ptr<broker_link>>> take(
        int32_t broker, std::chrono::milliseconds timeout);
    // Keeps a link that is still connected for the next call (a few per broker at most).
    void give_back(int32_t broker, std::unique_ptr<broker_link> link);

    cluster_context& cluster_;
    shard& home_;
    std::string client_id_;
    std::map<int32_t, std::vector<std::unique_ptr<broker_link>>> idle_;
};

}  // namespace runnel::server
