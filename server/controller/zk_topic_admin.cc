#include "server/controller/zk_topic_admin.h"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <random>
#include <set>
#include <variant>

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
    std::sort(ids.begin(), ids.end());
    return ids;
}

// Kafka's placement over the live brokers (AdminUtils.assignReplicasToBrokers): rack-aware when
// every one has a `broker.rack`, rack-unaware when none has; a mix is refused as Kafka refuses
// it.
std::variant<std::vector<std::vector<int32_t>>, admin_result> place_replicas(
    cluster_context& cluster, int32_t partitions, int32_t replication_factor, uint32_t start,
    uint32_t shift, int32_t first_partition) {
    std::vector<int32_t> ids;
    std::map<int32_t, std::string> racks;
    for (const auto& b : cluster.members().snapshot()->brokers) {
        ids.push_back(b.id);
        if (b.rack) racks[b.id] = *b.rack;
    }
    std::sort(ids.begin(), ids.end());
    if (racks.empty()) {
        return assign_replicas(ids, partitions, replication_factor, start, shift, first_partition);
    }
    if (racks.size() != ids.size()) {
        return admin_result::fail(
            error_code::invalid_replica_assignment,
            "Not all brokers have rack information for replica rack aware assignment.");
    }
    return assign_replicas_rack_aware(racks, partitions, replication_factor, start, shift,
                                      first_partition);
}

// Named, never a temporary in a co_await expression (g++ 12 destroys those twice).
using topic_check = std::function<bool(const topic_metadata*)>;

bool all_led(const topic_metadata& t) {
    return std::all_of(t.partitions.begin(), t.partitions.end(),
                       [](const partition_placement& p) { return p.leader >= 0; });
}

// A replica assignment given by the client (CreateTopics, CreatePartitions): every partition
// with `replication_factor` distinct live brokers; Kafka's errors. Partitions are numbered from
// `first`.
std::optional<admin_result> check_assignment(const std::vector<std::vector<int32_t>>& assignment,
                                             const std::vector<int32_t>& brokers,
                                             int32_t replication_factor, int32_t first) {
    const std::set<int32_t> live(brokers.begin(), brokers.end());
    for (size_t i = 0; i < assignment.size(); ++i) {
        const auto& replicas = assignment[i];
        const std::string partition = std::to_string(first + static_cast<int32_t>(i));
        if (replicas.empty() || static_cast<int32_t>(replicas.size()) != replication_factor) {
            return admin_result::fail(error_code::invalid_replica_assignment,
                                      "All partitions should have the same number of replicas (" +
                                          std::to_string(replication_factor) + "); partition " +
                                          partition + " has " + std::to_string(replicas.size()) +
                                          ".");
        }
        std::set<int32_t> seen;
        for (int32_t b : replicas) {
            if (!live.contains(b)) {
                return admin_result::fail(error_code::invalid_replica_assignment,
                                          "Unknown broker id " + std::to_string(b) +
                                              " in the assignment of partition " + partition + ".");
            }
            if (!seen.insert(b).second) {
                return admin_result::fail(
                    error_code::invalid_replica_assignment,
                    "Duplicate replica assignment found: " + std::to_string(b) + " in partition " +
                        partition + ".");
            }
        }
    }
    return std::nullopt;
}

}  // namespace

asio::awaitable<std::shared_ptr<const topic_metadata>> zk_topic_admin::await_topic(
    const std::string& name, const std::function<bool(const topic_metadata*)>& done) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto deadline = std::chrono::steady_clock::now() + propagation_patience;
    for (;;) {
        auto seen = cluster_.topics().snapshot()->find(name);
        if (done(seen.get()) || std::chrono::steady_clock::now() >= deadline) co_return seen;
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(asio::use_awaitable);
    }
}

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
        const auto replication_factor = static_cast<int32_t>(assignment.front().size());
        if (auto bad = check_assignment(assignment, brokers, replication_factor, 0)) {
            co_return *bad;
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
        auto placed = place_replicas(cluster_, spec.partitions, spec.replication_factor, random(),
                                     random(), 0);
        if (auto* refused = std::get_if<admin_result>(&placed)) co_return *refused;
        assignment = std::move(std::get<0>(placed));
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
    const topic_check served = [id = t->id](const topic_metadata* seen) {
        return seen != nullptr && seen->id == id && all_led(*seen);
    };
    if (auto seen = co_await await_topic(spec.name, served); served(seen.get())) {
        result.topic = seen;
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
    const topic_check gone = [t](const topic_metadata* seen) {
        return seen == nullptr || (t && seen->id != t->id);
    };
    co_await await_topic(name, gone);
    admin_result r;
    r.topic = t;
    co_return r;
}

asio::awaitable<admin_result> zk_topic_admin::add_partitions(
    std::shared_ptr<const topic_metadata> t, int32_t count,
    std::vector<std::vector<int32_t>> assignments, bool validate_only) {
    auto task = [this, t, count, assignments = std::move(assignments), validate_only]() mutable {
        return add_partitions_here(t, count, std::move(assignments), validate_only);
    };
    co_return co_await on_shard(cluster_.metadata_shard(), task);
}

asio::awaitable<admin_result> zk_topic_admin::add_partitions_here(
    std::shared_ptr<const topic_metadata> t, int32_t count,
    std::vector<std::vector<int32_t>> assignments, bool validate_only, int retries) {
    const auto asked = assignments;
    const std::string path = paths::topic(t->name);
    node_data d = co_await zk_.get(path);
    if (d.code.no_node()) {
        co_return admin_result::fail(error_code::unknown_topic_or_partition,
                                     "The topic '" + t->name + "' does not exist.");
    }
    if (!d.code.ok()) {
        co_return admin_result::fail(
            error_code::unknown_server_error,
            "Cannot read '" + t->name + "' from ZooKeeper: " + d.code.text());
    }
    topic_assignment znode;
    try {
        znode = topic_assignment::from_json(d.data);
    } catch (const znode_format_error& e) {
        co_return admin_result::fail(error_code::unknown_server_error,
                                     "The topic '" + t->name + "' in ZooKeeper: " + e.what());
    }
    if (!znode.adding_replicas.empty() || !znode.removing_replicas.empty()) {
        // Kafka refuses to grow a topic whose replicas are being moved.
        co_return admin_result::fail(
            error_code::reassignment_in_progress,
            "A partition reassignment is in progress for the topic '" + t->name + "'.");
    }
    const auto current = static_cast<int32_t>(znode.partitions.size());
    if (count <= current || znode.partitions.empty()) {
        // Grown meanwhile by someone else.
        co_return admin_result::fail(error_code::invalid_partitions,
                                     "Topic currently has " + std::to_string(current) +
                                         " partitions, which is higher than the requested " +
                                         std::to_string(count) + ".");
    }
    const auto replication_factor = static_cast<int32_t>(znode.partitions.begin()->second.size());
    const std::vector<int32_t> brokers = live_brokers(cluster_);
    if (!assignments.empty()) {
        if (auto bad = check_assignment(assignments, brokers, replication_factor, current)) {
            co_return *bad;
        }
    } else {
        if (replication_factor > static_cast<int32_t>(brokers.size())) {
            co_return admin_result::fail(
                error_code::invalid_replication_factor,
                "Replication factor: " + std::to_string(replication_factor) +
                    " larger than available brokers: " + std::to_string(brokers.size()) + ".");
        }
        // As Kafka: the new partitions continue the pattern that starts at partition 0's leader.
        const int32_t first = znode.partitions.begin()->second.front();
        const auto at =
            std::find_if(brokers.begin(), brokers.end(), [first](int32_t b) { return b >= first; });
        const auto start = static_cast<uint32_t>(at == brokers.end() ? 0 : at - brokers.begin());
        auto placed =
            place_replicas(cluster_, count - current, replication_factor, start, start, current);
        if (auto* refused = std::get_if<admin_result>(&placed)) co_return *refused;
        assignments = std::move(std::get<0>(placed));
    }
    admin_result result;
    result.replication_factor = static_cast<int16_t>(replication_factor);
    auto grown = std::make_shared<topic_metadata>(*t);
    grown->partitions.resize(static_cast<size_t>(count));
    result.topic = grown;
    if (validate_only) co_return result;

    for (size_t i = 0; i < assignments.size(); ++i)
        znode.partitions[current + static_cast<int32_t>(i)] = assignments[i];
    zk_code c = co_await zk_.set(path, znode.to_json(), d.version);
    if (c.bad_version() && retries > 0) {
        // Changed meanwhile (another broker, a tool): read it again and decide anew.
        co_return co_await add_partitions_here(t, count, std::move(asked), validate_only,
                                               retries - 1);
    }
    if (!c.ok()) {
        co_return admin_result::fail(
            error_code::unknown_server_error,
            "Cannot write the new partitions of '" + t->name + "' to ZooKeeper: " + c.text());
    }
    server_log().info("topic '{}' grown to {} partitions in ZooKeeper", t->name, count);
    const topic_check served = [id = t->id, count](const topic_metadata* seen) {
        return seen != nullptr && seen->id == id && seen->partition_count() == count &&
               all_led(*seen);
    };
    if (auto seen = co_await await_topic(t->name, served); served(seen.get())) {
        result.topic = seen;
    }
    co_return result;
}

asio::awaitable<admin_result> zk_topic_admin::alter_configs(std::string name,
                                                            std::vector<config_change> changes,
                                                            bool replace_all, bool validate_only) {
    auto task = [this, name = std::move(name), changes = std::move(changes), replace_all,
                 validate_only]() mutable {
        return alter_configs_here(std::move(name), std::move(changes), replace_all, validate_only);
    };
    co_return co_await on_shard(cluster_.metadata_shard(), task);
}

asio::awaitable<admin_result> zk_topic_admin::alter_configs_here(std::string name,
                                                                 std::vector<config_change> changes,
                                                                 bool replace_all,
                                                                 bool validate_only, int retries) {
    const std::string path = paths::topic_config(name);
    node_data d = co_await zk_.get(path);
    if (!d.code.ok() && !d.code.no_node()) {
        co_return admin_result::fail(
            error_code::unknown_server_error,
            "Cannot read the configs of '" + name + "' from ZooKeeper: " + d.code.text());
    }
    std::map<std::string, std::string> overrides;
    if (d.code.ok()) {
        try {
            overrides = parse_topic_config(d.data);
        } catch (const znode_format_error& e) {
            server_log().warn("topic {}: config in ZooKeeper: {}; replaced", name, e.what());
        }
    }
    auto applied =
        apply_topic_config_changes(overrides, changes, replace_all, *cluster_.live_config());
    if (auto* e = std::get_if<config_change_error>(&applied)) {
        co_return admin_result::fail(e->code, e->message);
    }
    auto wanted = std::move(std::get<0>(applied));
    admin_result r;
    r.topic = cluster_.topics().snapshot()->find(name);
    if (validate_only || (d.code.ok() && wanted == overrides)) co_return r;
    // Conditional on what was read: a concurrent change is not silently overwritten.
    zk_code c = d.code.ok()
                    ? co_await zk_.set(path, topic_config_json(wanted), d.version)
                    : co_await zk_.create(path, topic_config_json(wanted), node_mode::persistent);
    if ((c.bad_version() || c.node_exists()) && retries > 0) {
        // Changed meanwhile: the changes apply to what is there now.
        co_return co_await alter_configs_here(std::move(name), std::move(changes), replace_all,
                                              validate_only, retries - 1);
    }
    if (!c.ok()) {
        co_return admin_result::fail(
            error_code::unknown_server_error,
            "Cannot write the configs of '" + name + "' to ZooKeeper: " + c.text());
    }
    const topic_check in_force = [&wanted](const topic_metadata* seen) {
        return seen == nullptr || seen->config_overrides == wanted;
    };
    r.topic = co_await await_topic(name, in_force);
    co_return r;
}

}  // namespace runnel::server
