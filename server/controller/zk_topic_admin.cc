#include "server/controller/zk_topic_admin.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>
#include <set>

#include "server/controller/replica_assignment.h"
#include "server/core/cross_shard.h"
#include "server/core/logger.h"
#include "server/zookeeper/kafka_znodes.h"
#include "storage/partition_dir.h"

namespace runnel::server {

namespace asio = boost::asio;
using namespace zookeeper;
using protocol::error_code;

namespace {

// How long a request waits for the brokers to serve what it created (or drop what it deleted);
// Kafka's CreateTopics waits for the metadata to reach the brokers up to its timeout likewise.
constexpr auto propagation_patience = std::chrono::seconds(10);

std::vector<int32_t> live_brokers(cluster_context& cluster) {
    std::vector<int32_t> ids;
    for (const auto& b : cluster.members().snapshot()->brokers) ids.push_back(b.id);
    return ids;
}

}  // namespace

asio::awaitable<admin_result> zk_topic_admin::create(new_topic spec, bool validate_only) {
    // ZooKeeper's completions come to the metadata shard.
    auto task = [this, spec = std::move(spec), validate_only]() mutable {
        return create_here(std::move(spec), validate_only);
    };
    co_return co_await on_shard(cluster_.metadata_shard(), task);
}

asio::awaitable<admin_result> zk_topic_admin::remove(std::string name) {
    auto task = [this, name = std::move(name)]() mutable { return remove_here(std::move(name)); };
    co_return co_await on_shard(cluster_.metadata_shard(), task);
}

asio::awaitable<admin_result> zk_topic_admin::create_here(new_topic spec, bool validate_only) {
    const std::vector<int32_t> brokers = live_brokers(cluster_);
    std::vector<std::vector<int32_t>> assignment = spec.assignments;
    if (!assignment.empty()) {
        const std::set<int32_t> live(brokers.begin(), brokers.end());
        for (size_t p = 0; p < assignment.size(); ++p) {
            const auto& replicas = assignment[p];
            if (replicas.empty() || replicas.size() != assignment.front().size()) {
                co_return admin_result::fail(
                    error_code::invalid_replica_assignment,
                    "All partitions should have the same number of replicas; partition " +
                        std::to_string(p) + " has " + std::to_string(replicas.size()) + ".");
            }
            std::set<int32_t> seen;
            for (int32_t b : replicas) {
                if (!live.contains(b)) {
                    co_return admin_result::fail(error_code::invalid_replica_assignment,
                                                 "Unknown broker id " + std::to_string(b) +
                                                     " in the assignment of partition " +
                                                     std::to_string(p) + ".");
                }
                if (!seen.insert(b).second) {
                    co_return admin_result::fail(
                        error_code::invalid_replica_assignment,
                        "Duplicate replica assignment found: " + std::to_string(b) +
                            " in partition " + std::to_string(p) + ".");
                }
            }
        }
    } else {
        if (spec.replication_factor > static_cast<int32_t>(brokers.size())) {
            // Kafka's words (AdminUtils).
            co_return admin_result::fail(
                error_code::invalid_replication_factor,
                "Replication factor: " + std::to_string(spec.replication_factor) +
                    " larger than available brokers: " + std::to_string(brokers.size()) + ".");
        }
        std::random_device random;
        assignment =
            assign_replicas(brokers, spec.partitions, spec.replication_factor, random(), random());
    }

    auto t = std::make_shared<topic_metadata>();
    t->name = spec.name;
    t->id = random_uuid();
    t->config_overrides = spec.configs;
    t->in_cluster = true;
    t->partitions.resize(assignment.size());
    for (size_t p = 0; p < assignment.size(); ++p) {
        t->partitions[p].replicas = assignment[p];
        t->partitions[p].hosted = false;
    }
    admin_result result;
    result.replication_factor = static_cast<int16_t>(assignment.front().size());
    result.topic = t;
    if (validate_only) co_return result;

    topic_assignment znode;
    for (size_t p = 0; p < assignment.size(); ++p)
        znode.partitions[static_cast<int32_t>(p)] = assignment[p];
    znode.topic_id = storage::topic_id_to_string(t->id);
    // The config first, as Kafka's tools do: the topic is complete when the brokers see it.
    const std::string config_json = topic_config_json(spec.configs);
    zk_code c =
        co_await zk_.create(paths::topic_config(spec.name), config_json, node_mode::persistent);
    if (c.node_exists()) {
        c = co_await zk_.set(paths::topic_config(spec.name), config_json, -1);
    }
    if (!c.ok()) {
        co_return admin_result::fail(
            error_code::unknown_server_error,
            "Cannot write the config of '" + spec.name + "' to ZooKeeper: " + c.text());
    }
    c = co_await zk_.create(paths::topic(spec.name), znode.to_json(), node_mode::persistent);
    if (c.node_exists()) {
        co_return admin_result::fail(error_code::topic_already_exists,
                                     "Topic '" + spec.name + "' already exists.");
    }
    if (!c.ok()) {
        co_return admin_result::fail(
            error_code::unknown_server_error,
            "Cannot register '" + spec.name + "' in ZooKeeper: " + c.text());
    }
    server_log().info("created topic '{}' in ZooKeeper with {} partitions, replication factor {}",
                      spec.name, assignment.size(), result.replication_factor);

    // Served once every partition has a leader here (the controller and topic_sync at work).
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto deadline = std::chrono::steady_clock::now() + propagation_patience;
    while (std::chrono::steady_clock::now() < deadline) {
        auto seen = cluster_.topics().snapshot()->find(spec.name);
        if (seen && seen->id == t->id) {
            bool led = true;
            for (const auto& p : seen->partitions) led = led && p.leader >= 0;
            if (led) {
                result.topic = seen;
                break;
            }
        }
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(asio::use_awaitable);
    }
    co_return result;
}

asio::awaitable<admin_result> zk_topic_admin::remove_here(std::string name) {
    auto t = cluster_.topics().snapshot()->find(name);
    zk_code c = co_await zk_.create(std::string(paths::delete_topics) + "/" + name, "",
                                    node_mode::persistent);
    if (!c.ok() && !c.node_exists()) {
        co_return admin_result::fail(
            error_code::unknown_server_error,
            "Cannot mark '" + name + "' for deletion in ZooKeeper: " + c.text());
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto deadline = std::chrono::steady_clock::now() + propagation_patience;
    while (std::chrono::steady_clock::now() < deadline) {
        auto seen = cluster_.topics().snapshot()->find(name);
        if (!seen || (t && seen->id != t->id)) break;
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(asio::use_awaitable);
    }
    admin_result r;
    r.topic = t;
    co_return r;
}

}  // namespace runnel::server
