// active_controller: where the term moves leadership — failover when brokers go
// (follow_live_brokers), a broker's controlled shutdown, ElectLeaders, and the automatic leader
// rebalance. Every write is a conditional set of the partition state inside the term's
// epoch-fenced multi.
#include <fmt/ranges.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "server/controller/active_controller.h"
#include "server/controller/leader_election.h"
#include "server/core/logger.h"

namespace runnel::server {

namespace asio = boost::asio;
using namespace zookeeper;

asio::awaitable<controlled_shutdown_result> active_controller::controlled_shutdown(int32_t broker) {
    auto keep = shared_from_this();
    controlled_shutdown_result result;
    if (!live_.contains(broker)) {
        result.error = protocol::error_code::broker_not_available;
        co_return result;
    }
    shutting_down_.insert(broker);
    server_log().info("controller: controlled shutdown of broker {}", broker);
    const std::set<int32_t> candidates = electable();
    for (const auto& [name, t] : topics_) {
        for (const auto& [p, replicas] : t.assignment.partitions) {
            if (std::find(replicas.begin(), replicas.end(), broker) == replicas.end()) continue;
            const std::string state_path = paths::partition_state(name, p);
            // A leader's own ISR change may win the race for the znode: read and try again.
            for (int attempt = 0; attempt < 5 && !resigned(); ++attempt) {
                node_data d = co_await zk_.get(state_path);
                if (!d.code.ok()) break;
                partition_state current;
                try {
                    current = partition_state::from_json(d.data);
                } catch (const znode_format_error& e) {
                    break;
                }
                auto next =
                    after_brokers_changed(replicas, current, candidates, false, term_.epoch);
                if (!next) break;
                if (next->leader < 0) {
                    // No other live ISR replica: it keeps leading until it stops (Kafka answers
                    // such partitions as remaining too).
                    result.remaining.emplace_back(name, p);
                    break;
                }
                std::vector<zk_op> ops;
                ops.push_back(zk_op::set(state_path, next->to_json(), d.version));
                multi_result r = co_await fenced(std::move(ops));
                if (r.code.ok()) {
                    server_log().info(
                        "controller: {}-{} led by {} in epoch {}, ISR [{}] (broker {} "
                        "shutting down)",
                        name, p, next->leader, next->leader_epoch, fmt::join(next->isr, ","),
                        broker);
                    break;
                }
            }
        }
    }
    if (resigned()) result.error = protocol::error_code::not_controller;
    co_return result;
}

asio::awaitable<bool> active_controller::follow_live_brokers(const std::string& name,
                                                             const topic_entry& t) {
    bool all = true;
    for (const auto& [p, replicas] : t.assignment.partitions) {
        if (resigned()) co_return true;
        const std::string state_path = paths::partition_state(name, p);
        node_data d = co_await zk_.get(state_path);
        if (d.code.no_node()) continue;  // not set up yet: initialize_partitions does it
        if (!d.code.ok()) {
            all = false;
            continue;
        }
        partition_state current;
        try {
            current = partition_state::from_json(d.data);
        } catch (const znode_format_error& e) {
            server_log().error("controller: {}: {}", state_path, e.what());
            continue;
        }
        auto next =
            after_brokers_changed(replicas, current, electable(), settings_.unclean, term_.epoch);
        if (!next) continue;
        // A broker shutting down keeps what no one else can lead until it is gone.
        if (next->leader < 0 && live_.contains(current.leader)) continue;
        std::vector<zk_op> ops;
        ops.push_back(zk_op::set(state_path, next->to_json(), d.version));
        multi_result r = co_await fenced(std::move(ops));
        if (!r.code.ok()) {
            all = false;  // the leader changed its ISR meanwhile: read it again next pass
            continue;
        }
        if (next->leader != current.leader) {
            if (next->leader < 0) {
                server_log().warn(
                    "controller: {}-{} has no leader: no replica of its ISR [{}] is alive{}", name,
                    p, fmt::join(current.isr, ","),
                    settings_.unclean ? " nor any other"
                                      : " (unclean.leader.election.enable is false)");
            } else {
                server_log().info("controller: {}-{} led by {} in epoch {} (was {}), ISR [{}]",
                                  name, p, next->leader, next->leader_epoch, current.leader,
                                  fmt::join(next->isr, ","));
            }
        } else {
            server_log().info("controller: {}-{}: offline replicas out of its ISR, now [{}]", name,
                              p, fmt::join(next->isr, ","));
        }
    }
    co_return all;
}

namespace {

std::optional<std::string> election_message(protocol::error_code e, const std::string& topic,
                                            int32_t p, bool unclean) {
    const std::string tp = topic + "-" + std::to_string(p);
    switch (e) {
        case protocol::error_code::election_not_needed:
            return "Leader election not needed for topic partition.";
        case protocol::error_code::preferred_leader_not_available:
            return "Failed to elect leader for partition " + tp +
                   " under strategy PreferredReplicaPartitionLeaderElectionStrategy";
        case protocol::error_code::eligible_leaders_not_available:
            return "Failed to elect leader for partition " + tp + " under strategy " +
                   (unclean ? "UncleanLeaderElectionStrategy"
                            : "OfflinePartitionLeaderElectionStrategy");
        case protocol::error_code::unknown_topic_or_partition:
            return "The partition does not exist.";
        default:
            return std::nullopt;
    }
}

}  // namespace

asio::awaitable<elect_leaders_result> active_controller::elect_leaders(
    bool unclean, std::optional<std::vector<std::pair<std::string, int32_t>>> partitions) {
    auto keep = shared_from_this();
    elect_leaders_result out;
    const bool every = !partitions;
    std::vector<std::pair<std::string, int32_t>> targets;
    if (every) {
        for (const auto& [name, t] : topics_) {
            for (const auto& [p, replicas] : t.assignment.partitions) targets.emplace_back(name, p);
        }
    } else {
        targets = std::move(*partitions);
    }
    const std::set<int32_t> candidates = electable();
    for (const auto& [name, p] : targets) {
        if (resigned()) break;
        election_result r{name, p, protocol::error_code::none, std::nullopt};
        const std::vector<int32_t>* replicas = nullptr;
        if (auto it = topics_.find(name); it != topics_.end()) {
            auto pit = it->second.assignment.partitions.find(p);
            if (pit != it->second.assignment.partitions.end()) replicas = &pit->second;
        }
        const std::string state_path = paths::partition_state(name, p);
        for (int attempt = 0; replicas && attempt < 5 && !resigned(); ++attempt) {
            node_data d = co_await zk_.get(state_path);
            if (!d.code.ok()) {
                r.error = d.code.no_node() ? protocol::error_code::leader_not_available
                                           : protocol::error_code::unknown_server_error;
                break;
            }
            partition_state current;
            try {
                current = partition_state::from_json(d.data);
            } catch (const znode_format_error& e) {
                r.error = protocol::error_code::unknown_server_error;
                break;
            }
            auto e = elect(*replicas, current, candidates, unclean, term_.epoch);
            if (!e.next) {
                r.error = e.error;
                break;
            }
            std::vector<zk_op> ops;
            ops.push_back(zk_op::set(state_path, e.next->to_json(), d.version));
            multi_result w = co_await fenced(std::move(ops));
            if (w.code.ok()) {
                server_log().info("controller: {}-{} led by {} in epoch {} ({} election)", name, p,
                                  e.next->leader, e.next->leader_epoch,
                                  unclean ? "unclean" : "preferred");
                r.error = protocol::error_code::none;
                break;
            }
            r.error = protocol::error_code::unknown_server_error;  // changed meanwhile: again
        }
        if (!replicas) r.error = protocol::error_code::unknown_topic_or_partition;
        r.message = election_message(r.error, name, p, unclean);
        // Asked for every partition, Kafka answers the ones it elected.
        if (every && r.error != protocol::error_code::none) continue;
        out.partitions.push_back(std::move(r));
    }
    if (resigned()) out.error = protocol::error_code::not_controller;
    co_return out;
}

asio::awaitable<void> active_controller::rebalance_leaders() {
    auto keep = shared_from_this();
    asio::steady_timer timer(zk_.executor());
    while (!resigned()) {
        timer.expires_after(settings_.rebalance_interval);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (resigned()) break;
        // Per preferred broker: its partitions, and those another broker leads.
        std::map<int32_t, std::vector<std::pair<std::string, int32_t>>> displaced;
        std::map<int32_t, int32_t> preferred_count;
        for (const auto& [name, t] : topics_) {
            for (const auto& [p, replicas] : t.assignment.partitions) {
                if (replicas.empty()) continue;
                ++preferred_count[replicas.front()];
                node_data d = co_await zk_.get(paths::partition_state(name, p));
                if (!d.code.ok()) continue;
                try {
                    if (partition_state::from_json(d.data).leader != replicas.front())
                        displaced[replicas.front()].emplace_back(name, p);
                } catch (const znode_format_error&) {
                }
            }
        }
        for (auto& [broker, parts] : displaced) {
            if (!electable().contains(broker)) continue;
            const int64_t ratio_pct =
                int64_t{100} * static_cast<int64_t>(parts.size()) / preferred_count[broker];
            if (ratio_pct <= settings_.imbalance_percentage) continue;
            server_log().info(
                "controller: broker {} leads {} fewer of its {} preferred partitions than it "
                "could ({}% > leader.imbalance.per.broker.percentage): preferred elections",
                broker, parts.size(), preferred_count[broker], ratio_pct);
            co_await elect_leaders(false, std::move(parts));
        }
    }
}

}  // namespace runnel::server
