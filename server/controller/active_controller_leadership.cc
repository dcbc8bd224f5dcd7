// active_controller: where the term moves leadership — failover when brokers go
// (follow_live_brokers), a broker's controlled shutdown, ElectLeaders, and the automatic leader
// rebalance. Every write is a conditional set of the partition state inside the term's
// epoch-fenced multi (change_state).
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

asio::awaitable<active_controller::state_change> active_controller::change_state(
    const std::string& topic, int32_t p, const state_decision& decide, int attempts) {
    state_change c;
    const std::string state_path = paths::partition_state(topic, p);
    for (int attempt = 0; attempt < attempts && !resigned(); ++attempt) {
        node_data d = co_await zk_.get(state_path);
        if (d.code.no_node()) {
            c.result = state_change::outcome::missing;  // not set up yet
            co_return c;
        }
        if (!d.code.ok()) co_return c;
        try {
            c.before = partition_state::from_json(d.data);
        } catch (const znode_format_error& e) {
            server_log().error("controller: {}: {}", state_path, e.what());
            c.result = state_change::outcome::unreadable;
            co_return c;
        }
        auto next = decide(c.before);
        if (!next) {
            c.result = state_change::outcome::left;
            co_return c;
        }
        std::vector<zk_op> ops;
        ops.push_back(zk_op::set(state_path, next->to_json(), d.version));
        multi_result w = co_await fenced(std::move(ops));
        if (w.code.ok()) {
            c.result = state_change::outcome::written;
            c.after = std::move(next);
            co_return c;
        }
        // Changed meanwhile (or fenced: resigned() ends the loop): read it again.
    }
    c.result = state_change::outcome::failed;
    co_return c;
}

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
            bool stays = false;  // no other live ISR replica: it keeps leading until it stops
            const state_decision decide = [&](const partition_state& current) {
                auto next =
                    after_brokers_changed(replicas, current, candidates, false, term_.epoch);
                stays = next && next->leader < 0;
                return stays ? std::nullopt : next;
            };
            const state_change c = co_await change_state(name, p, decide);
            if (stays) {
                // Kafka answers such partitions as remaining too.
                result.remaining.emplace_back(name, p);
            } else if (c.result == state_change::outcome::written) {
                server_log().info(
                    "controller: {}-{} led by {} in epoch {}, ISR [{}] (broker {} shutting down)",
                    name, p, c.after->leader, c.after->leader_epoch, fmt::join(c.after->isr, ","),
                    broker);
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
        const state_decision decide =
            [&](const partition_state& current) -> std::optional<partition_state> {
            auto next = after_brokers_changed(replicas, current, electable(), settings_.unclean,
                                              term_.epoch);
            // A broker shutting down keeps what no one else can lead until it is gone.
            if (next && next->leader < 0 && live_.contains(current.leader)) return std::nullopt;
            return next;
        };
        // One attempt: a leader changing its ISR meanwhile has this pass read it again next.
        const state_change c = co_await change_state(name, p, decide, 1);
        if (c.result == state_change::outcome::failed) all = false;
        if (c.result != state_change::outcome::written) continue;
        const partition_state& current = c.before;
        const partition_state& next = *c.after;
        if (next.leader != current.leader) {
            if (next.leader < 0) {
                server_log().warn(
                    "controller: {}-{} has no leader: no replica of its ISR [{}] is alive{}", name,
                    p, fmt::join(current.isr, ","),
                    settings_.unclean ? " nor any other"
                                      : " (unclean.leader.election.enable is false)");
            } else {
                server_log().info("controller: {}-{} led by {} in epoch {} (was {}), ISR [{}]",
                                  name, p, next.leader, next.leader_epoch, current.leader,
                                  fmt::join(next.isr, ","));
            }
        } else {
            server_log().info("controller: {}-{}: offline replicas out of its ISR, now [{}]", name,
                              p, fmt::join(next.isr, ","));
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
        if (replicas) {
            protocol::error_code refusal = protocol::error_code::none;
            const state_decision decide = [&](const partition_state& current) {
                auto e = elect(*replicas, current, candidates, unclean, term_.epoch);
                refusal = e.error;
                return e.next;
            };
            const state_change c = co_await change_state(name, p, decide);
            switch (c.result) {
                case state_change::outcome::written:
                    server_log().info("controller: {}-{} led by {} in epoch {} ({} election)", name,
                                      p, c.after->leader, c.after->leader_epoch,
                                      unclean ? "unclean" : "preferred");
                    r.error = protocol::error_code::none;
                    break;
                case state_change::outcome::left:
                    r.error = refusal;
                    break;
                case state_change::outcome::missing:
                    r.error = protocol::error_code::leader_not_available;
                    break;
                case state_change::outcome::unreadable:
                case state_change::outcome::failed:
                    r.error = protocol::error_code::unknown_server_error;
                    break;
            }
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
