// The brokers of the cluster as this broker knows them, and which one is the controller. A single
// node knows only itself and is its own controller; in a ZooKeeper cluster the controller layer
// (server/controller) keeps it from /brokers/ids and /controller. Metadata, DescribeCluster and
// the admin API answer from it.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::server {

struct member_endpoint {
    std::string listener;  // listener name, e.g. PLAINTEXT
    std::string host;
    int32_t port = 0;
};

struct cluster_member {
    int32_t id = -1;
    std::optional<std::string> rack;
    std::vector<member_endpoint> endpoints;  // as advertised

    // Where clients reach this broker through listener `name`; nullptr when it has none (Kafka
    // leaves such brokers out of the Metadata answer on that listener).
    const member_endpoint* endpoint(std::string_view name) const {
        for (const auto& e : endpoints) {
            if (e.listener == name) return &e;
        }
        return nullptr;
    }
    // Where another broker reaches this one: through `inter_broker_listener`
    // (inter.broker.listener.name) when set, else its PLAINTEXT listener, else its first.
    const member_endpoint* broker_endpoint(std::string_view inter_broker_listener) const {
        if (!inter_broker_listener.empty()) return endpoint(inter_broker_listener);
        if (const auto* e = endpoint("PLAINTEXT")) return e;
        return endpoints.empty() ? nullptr : &endpoints.front();
    }
};

struct members_snapshot {
    std::vector<cluster_member> brokers;  // sorted by id
    int32_t controller_id = -1;           // -1 while no controller is known
    int32_t controller_epoch = 0;

    const cluster_member* find(int32_t id) const {
        for (const auto& b : brokers) {
            if (b.id == id) return &b;
        }
        return nullptr;
    }
};

class cluster_members {
  public:
    cluster_members() : current_(std::make_shared<const members_snapshot>()) {}

    std::shared_ptr<const members_snapshot> snapshot() const { return current_.load(); }
    // From the metadata shard (or before the shards start).
    void publish(std::shared_ptr<const members_snapshot> next) { current_.store(std::move(next)); }

  private:
    std::atomic<std::shared_ptr<const members_snapshot>> current_;
};

}  // namespace runnel::server
