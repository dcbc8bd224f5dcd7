// active_controller: partition reassignments (KIP-455, Kafka's ZooKeeper-mode controller). A move
// is written to the topic's znode (target replicas first, then those leaving, with
// adding_replicas / removing_replicas), which every broker follows: the new replicas open the
// partition and fetch from the leader like any follower. Each pass, a move whose target replicas
// are all in the ISR is finished: the partition state cut to the target (the leader moved into it
// if it must, a new leader epoch) and the topic's znode without the leaving replicas, whose
// brokers then drop their copies.
#include <fmt/ranges.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <map>

#include "server/controller/active_controller.h"
#include "server/controller/reassignment.h"
#include "server/core/logger.h"

namespace runnel::server {

namespace asio = boost::asio;
using namespace zookeeper;
using protocol::error_code;

namespace {

// How often moves waiting for their replicas are looked at again.
constexpr auto recheck_interval = std::chrono::milliseconds(250);

reassignment_result refused(const reassignment_request& r, error_code e, std::string message) {
    return reassignment_result{r.topic, r.partition, e, std::move(message)};
}

}  // namespace

void active_controller::recheck_soon() {
    if (recheck_armed_ || resigned()) return;
    recheck_armed_ = true;
    auto later = [](std::weak_ptr<active_controller> w,
                    asio::any_io_executor ex) -> asio::awaitable<void> {
        asio::steady_timer timer(ex);
        timer.expires_after(recheck_interval);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (auto self = w.lock()) {
            self->recheck_armed_ = false;
            self->wake();
        }
    };
    asio::co_spawn(zk_.executor(), later(weak_from_this(), zk_.executor()), asio::detached);
}

asio::awaitable<alter_reassignments_result> active_controller::alter_reassignments(
    std::vector<reassignment_request> partitions, bool allow_replication_factor_change) {
    auto keep = shared_from_this();
    alter_reassignments_result out;
    std::map<std::string, std::vector<reassignment_request>> by_topic;
    for (auto& r : partitions) by_topic[r.topic].push_back(std::move(r));
    for (auto& [name, asked] : by_topic) {
        if (resigned()) break;
        co_await reassign_topic(name, std::move(asked), allow_replication_factor_change,
                                out.partitions);
    }
    if (resigned()) out.error = error_code::not_controller;
    co_return out;
}

asio::awaitable<void> active_controller::reassign_topic(const std::string& name,
                                                        std::vector<reassignment_request> asked,
                                                        bool allow_replication_factor_change,
                                                        std::vector<reassignment_result>& out) {
    const std::string path = paths::topic(name);
    // CreatePartitions or a tool may change the topic's znode meanwhile: read, decide and write
    // conditionally, a few times.
    for (int attempt = 0; attempt < 5 && !resigned(); ++attempt) {
        node_data d = co_await zk_.get(path);
        if (!d.code.ok()) {
            for (const auto& r : asked) {
                out.push_back(refused(r, error_code::unknown_topic_or_partition,
                                      "The topic " + name + " does not exist."));
            }
            co_return;
        }
        topic_assignment a;
        try {
            a = topic_assignment::from_json(d.data);
        } catch (const znode_format_error& e) {
            for (const auto& r : asked)
                out.push_back(refused(r, error_code::unknown_server_error, e.what()));
            co_return;
        }
        std::vector<reassignment_result> answers;
        std::vector<zk_op> ops;
        std::vector<std::string> logged;
        const std::set<int32_t> registered = live_;
        for (const auto& r : asked) {
            auto pit = a.partitions.find(r.partition);
            if (pit == a.partitions.end()) {
                answers.push_back(refused(r, error_code::unknown_topic_or_partition,
                                          "The partition does not exist."));
                continue;
            }
            const auto adding = a.adding_replicas.count(r.partition)
                                    ? a.adding_replicas[r.partition]
                                    : std::vector<int32_t>{};
            const auto removing = a.removing_replicas.count(r.partition)
                                      ? a.removing_replicas[r.partition]
                                      : std::vector<int32_t>{};
            const std::vector<int32_t> original = without(pit->second, adding);
            const bool moving = !adding.empty() || !removing.empty();
            std::vector<int32_t> target;
            if (!r.replicas) {
                // Cancel: back to the original replicas.
                if (!moving) {
                    answers.push_back(refused(r, error_code::no_reassignment_in_progress,
                                              "No reassignment is in progress for topic " + name +
                                                  " partition " + std::to_string(r.partition)));
                    continue;
                }
                target = original;
            } else {
                target = *r.replicas;
                std::set<int32_t> distinct(target.begin(), target.end());
                if (target.empty()) {
                    answers.push_back(refused(r, error_code::invalid_replica_assignment,
                                              "The replica list cannot be empty."));
                    continue;
                }
                if (distinct.size() != target.size()) {
                    answers.push_back(refused(r, error_code::invalid_replica_assignment,
                                              "The replica list cannot contain duplicates."));
                    continue;
                }
                std::vector<int32_t> unknown;
                for (int32_t b : target) {
                    if (!registered.contains(b)) unknown.push_back(b);
                }
                if (!unknown.empty()) {
                    answers.push_back(refused(
                        r, error_code::invalid_replica_assignment,
                        fmt::format("The proposed assignment contains non-existent brokerIDs: {}",
                                    fmt::join(unknown, ","))));
                    continue;
                }
                if (!allow_replication_factor_change && target.size() != original.size()) {
                    answers.push_back(
                        refused(r, error_code::invalid_replication_factor,
                                fmt::format("The replication factor is changed from {} to {}",
                                            original.size(), target.size())));
                    continue;
                }
            }
            const partition_move m = start_move(original, target);
            pit->second = m.replicas;
            if (m.adding.empty() && m.removing.empty()) {
                a.adding_replicas.erase(r.partition);
                a.removing_replicas.erase(r.partition);
            } else {
                a.adding_replicas[r.partition] = m.adding;
                a.removing_replicas[r.partition] = m.removing;
            }
            if (!r.replicas) {
                // The replicas that were being added leave the ISR at once, and the leader goes
                // back into the original replicas if it had moved out.
                const std::string state_path = paths::partition_state(name, r.partition);
                node_data sd = co_await zk_.get(state_path);
                if (sd.code.ok()) {
                    try {
                        const auto current = partition_state::from_json(sd.data);
                        if (auto next = cut_to(original, current, electable(), term_.epoch)) {
                            ops.push_back(zk_op::set(state_path, next->to_json(), sd.version));
                        }
                    } catch (const znode_format_error&) {
                    }
                }
            }
            logged.push_back(fmt::format("{}-{} [{}] -> [{}]", name, r.partition,
                                         fmt::join(original, ","), fmt::join(target, ",")));
            answers.push_back(reassignment_result{r.topic, r.partition, error_code::none, {}});
        }
        if (logged.empty()) {
            for (auto& r : answers) out.push_back(std::move(r));
            co_return;
        }
        ops.insert(ops.begin(), zk_op::set(path, a.to_json(), d.version));
        multi_result w = co_await fenced(std::move(ops));
        if (w.code.ok()) {
            // Known at once (ListPartitionReassignments right after); the topic's watch reads
            // the same again.
            if (auto known = topics_.find(name); known != topics_.end()) {
                known->second.assignment = a;
                known->second.version = d.version + 1;
            }
            for (const auto& l : logged)
                server_log().info("controller: reassignment of {} started (or cancelled)", l);
            for (auto& r : answers) out.push_back(std::move(r));
            wake();  // its first check (the topic's watch reads the znode again)
            co_return;
        }
        // Changed meanwhile: read it again.
    }
    for (const auto& r : asked) {
        out.push_back(refused(r, error_code::unknown_server_error,
                              "The topic's assignment kept changing; try again."));
    }
}

asio::awaitable<bool> active_controller::progress_reassignments(const std::string& name,
                                                                topic_entry& t) {
    bool all_done = true;
    std::set<int32_t> moving;
    for (const auto& [p, _] : t.assignment.adding_replicas) moving.insert(p);
    for (const auto& [p, _] : t.assignment.removing_replicas) moving.insert(p);
    for (int32_t p : moving) {
        if (resigned()) co_return true;
        auto pit = t.assignment.partitions.find(p);
        if (pit == t.assignment.partitions.end()) continue;
        const auto removing = t.assignment.removing_replicas.count(p)
                                  ? t.assignment.removing_replicas.at(p)
                                  : std::vector<int32_t>{};
        const std::vector<int32_t> target = without(pit->second, removing);
        const std::string state_path = paths::partition_state(name, p);
        node_data sd = co_await zk_.get(state_path);
        if (!sd.code.ok()) {
            all_done = false;
            continue;
        }
        partition_state current;
        try {
            current = partition_state::from_json(sd.data);
        } catch (const znode_format_error& e) {
            server_log().error("controller: {}: {}", state_path, e.what());
            continue;
        }
        if (!caught_up(target, current)) {
            all_done = false;  // the new replicas are still copying
            continue;
        }
        auto next = cut_to(target, current, electable(), term_.epoch);
        if (!next) {
            all_done = false;
            continue;
        }
        topic_assignment a = t.assignment;
        a.partitions[p] = target;
        a.adding_replicas.erase(p);
        a.removing_replicas.erase(p);
        std::vector<zk_op> ops;
        ops.push_back(zk_op::set(state_path, next->to_json(), sd.version));
        ops.push_back(zk_op::set(paths::topic(name), a.to_json(), t.version));
        multi_result w = co_await fenced(std::move(ops));
        if (!w.code.ok()) {
            all_done = false;  // the state or the topic changed meanwhile: next pass
            continue;
        }
        t.assignment = std::move(a);
        ++t.version;
        server_log().info(
            "controller: reassignment of {}-{} done: replicas [{}], led by {} in epoch {}, ISR "
            "[{}]",
            name, p, fmt::join(target, ","), next->leader, next->leader_epoch,
            fmt::join(next->isr, ","));
    }
    co_return all_done;
}

asio::awaitable<void> active_controller::follow_legacy_reassignments() {
    const std::string path(paths::reassign_partitions);
    const auto on_change = waker();
    node_data d = co_await zk_.get(path, on_change);
    if (d.code.no_node()) {
        legacy_refused_.clear();
        // A data watch is not left on a missing node: watch for its creation.
        const auto on_created = waker();
        if ((co_await zk_.exists(path, on_created)).ok()) wake();
        co_return;
    }
    if (!d.code.ok()) {
        incomplete_ = true;
        co_return;
    }
    legacy_reassignment asked;
    bool readable = true;
    try {
        asked = legacy_reassignment::from_json(d.data);
    } catch (const znode_format_error& e) {
        server_log().error("controller: {}; removing it", e.what());
        readable = false;
    }
    if (!readable) {
        std::vector<zk_op> ops;
        ops.push_back(zk_op::remove(path, d.version));
        co_await fenced(std::move(ops));
        co_return;
    }
    std::map<std::string, std::vector<reassignment_request>> to_start;
    bool all_done = true;
    for (const auto& m : asked.partitions) {
        if (legacy_refused_.contains({m.topic, m.partition})) continue;
        auto it = topics_.find(m.topic);
        if (it == topics_.end() || !it->second.assignment.partitions.contains(m.partition)) {
            server_log().warn("controller: {} names {}-{}, which does not exist; left out", path,
                              m.topic, m.partition);
            legacy_refused_.insert({m.topic, m.partition});
            continue;
        }
        const auto& a = it->second.assignment;
        auto removing = a.removing_replicas.find(m.partition);
        const bool moving =
            removing != a.removing_replicas.end() || a.adding_replicas.contains(m.partition);
        const auto& replicas = a.partitions.at(m.partition);
        const std::vector<int32_t> target =
            removing == a.removing_replicas.end() ? replicas : without(replicas, removing->second);
        if (target == m.replicas) {
            if (moving) all_done = false;  // under way
            continue;
        }
        all_done = false;
        to_start[m.topic].push_back(reassignment_request{m.topic, m.partition, m.replicas});
    }
    for (auto& [name, requests] : to_start) {
        std::vector<reassignment_result> results;
        co_await reassign_topic(name, std::move(requests), true, results);
        for (const auto& r : results) {
            if (r.error == error_code::none) continue;
            server_log().warn("controller: {} asks to move {}-{}, refused: {}", path, r.topic,
                              r.partition,
                              r.message.value_or(std::string(protocol::error_name(r.error))));
            legacy_refused_.insert({r.topic, r.partition});
        }
    }
    if (!all_done || resigned()) co_return;
    std::vector<zk_op> ops;
    ops.push_back(zk_op::remove(path, d.version));
    if ((co_await fenced(std::move(ops))).code.ok()) {
        server_log().info("controller: every reassignment in {} is done; removed it", path);
        legacy_refused_.clear();
    }
}

list_reassignments_result active_controller::list_reassignments(
    const std::optional<std::vector<std::pair<std::string, int32_t>>>& partitions) const {
    list_reassignments_result out;
    auto ongoing = [this](const std::string& name,
                          int32_t p) -> std::optional<ongoing_reassignment> {
        auto it = topics_.find(name);
        if (it == topics_.end()) return std::nullopt;
        const auto& a = it->second.assignment;
        auto add = a.adding_replicas.find(p);
        auto remove = a.removing_replicas.find(p);
        if (add == a.adding_replicas.end() && remove == a.removing_replicas.end())
            return std::nullopt;
        ongoing_reassignment o;
        o.topic = name;
        o.partition = p;
        if (auto pit = a.partitions.find(p); pit != a.partitions.end()) o.replicas = pit->second;
        if (add != a.adding_replicas.end()) o.adding = add->second;
        if (remove != a.removing_replicas.end()) o.removing = remove->second;
        return o;
    };
    if (partitions) {
        for (const auto& [name, p] : *partitions) {
            if (auto o = ongoing(name, p)) out.partitions.push_back(std::move(*o));
        }
    } else {
        for (const auto& [name, t] : topics_) {
            for (const auto& [p, replicas] : t.assignment.partitions) {
                if (auto o = ongoing(name, p)) out.partitions.push_back(std::move(*o));
            }
        }
    }
    if (resigned()) out.error = error_code::not_controller;
    return out;
}

}  // namespace runnel::server
