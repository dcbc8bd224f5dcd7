#include "server/controller/active_controller.h"

#include <algorithm>

#include <fmt/ranges.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/cluster/topic_registry.h"
#include "server/controller/leader_election.h"
#include "server/core/logger.h"
#include "storage/partition_dir.h"

namespace runnel::server {

namespace asio = boost::asio;
using namespace zookeeper;

active_controller::active_controller(zk_client& zk, int32_t self, controller_state term,
                                     std::set<int32_t> live, controller_settings settings)
    : zk_(zk),
      self_(self),
      term_(term),
      live_(std::move(live)),
      settings_(settings),
      loop_(zk.executor()) {}

zk_client::watch_fn active_controller::waker() {
    return [w = weak_from_this()] {
        if (auto self = w.lock()) self->wake();
    };
}

zk_client::watch_fn active_controller::topic_waker(const std::string& name) {
    return [w = weak_from_this(), name] {
        auto self = w.lock();
        if (!self) return;
        self->changed_topics_.insert(name);
        self->wake();
    };
}

void active_controller::brokers_changed(std::set<int32_t> live) {
    live_ = std::move(live);
    std::erase_if(shutting_down_, [this](int32_t b) { return !live_.contains(b); });
    wake();
}

std::set<int32_t> active_controller::electable() const {
    std::set<int32_t> out;
    for (int32_t b : live_) {
        if (!shutting_down_.contains(b)) out.insert(b);
    }
    return out;
}

asio::awaitable<void> active_controller::run() {
    auto keep = shared_from_this();
    server_log().info("controller {} (epoch {}) starting its term", self_, term_.epoch);
    auto one_pass = [this]() -> asio::awaitable<bool> {
        try {
            co_return co_await pass();
        } catch (const znode_format_error& e) {
            server_log().error("controller: {}", e.what());
            co_return false;
        }
    };
    if (settings_.auto_rebalance) {
        asio::co_spawn(zk_.executor(), rebalance_leaders(), log_failure("rebalancing the leaders"));
    }
    co_await loop_.run(one_pass);
    server_log().info("controller {} (epoch {}) ended its term", self_, term_.epoch);
}

asio::awaitable<multi_result> active_controller::fenced(std::vector<zk_op> ops) {
    std::vector<zk_op> all;
    all.reserve(ops.size() + 1);
    all.push_back(zk_op::check(std::string(paths::controller_epoch), term_.epoch_zk_version));
    for (auto& op : ops) all.push_back(std::move(op));
    multi_result r = co_await zk_.multi(std::move(all));
    if (r.failed_op == 0 && r.code.bad_version()) {
        server_log().warn(
            "controller {}: /controller_epoch moved past epoch {}: another broker "
            "controls the cluster now; resigning",
            self_, term_.epoch);
        resign();
    }
    if (r.failed_op > 0) --r.failed_op;  // as an index into `ops`
    co_return r;
}

asio::awaitable<bool> active_controller::pass() {
    incomplete_ = false;
    co_await delete_marked_topics();
    if (resigned()) co_return true;
    const auto on_change = waker();
    node_children names = co_await zk_.children(std::string(paths::topics), on_change);
    if (!names.code.ok()) co_return false;
    std::set<std::string> present(names.names.begin(), names.names.end());
    std::erase_if(topics_, [&](const auto& kv) { return !present.contains(kv.first); });
    std::erase_if(changed_topics_, [&](const std::string& n) { return !present.contains(n); });
    // Every partition state is checked when the live brokers differ from the last check.
    const std::set<int32_t> live_now = electable();
    const bool check_states = checked_live_ != live_now;
    bool states_done = true;
    for (const auto& name : present) {
        if (resigned()) co_return true;
        auto it = topics_.find(name);
        // New, or its znode changed (partitions added by CreatePartitions or kafka-topics.sh
        // --alter): read again.
        if (it == topics_.end() || changed_topics_.erase(name) > 0) {
            if (!co_await load_topic(name)) {
                incomplete_ = true;
                continue;
            }
            it = topics_.find(name);
            if (it == topics_.end()) continue;
        }
        co_await initialize_partitions(name, it->second);
        if (check_states && !co_await follow_live_brokers(name, it->second)) states_done = false;
        const auto& a = it->second.assignment;
        if (!a.adding_replicas.empty() || !a.removing_replicas.empty()) {
            if (!co_await progress_reassignments(name, it->second)) recheck_soon();
        }
    }
    if (!resigned()) co_await follow_legacy_reassignments();
    if (check_states && states_done && !resigned()) checked_live_ = live_now;
    if (!states_done) incomplete_ = true;
    co_return !incomplete_;
}

asio::awaitable<void> active_controller::delete_marked_topics() {
    const auto on_change = waker();
    node_children marked = co_await zk_.children(std::string(paths::delete_topics), on_change);
    if (!marked.code.ok()) {
        incomplete_ = true;
        co_return;
    }
    for (const auto& name : marked.names) {
        if (resigned()) co_return;
        if (!co_await delete_topic(name)) incomplete_ = true;
    }
}

asio::awaitable<bool> active_controller::delete_topic(const std::string& name) {
    const std::string marker = std::string(paths::delete_topics) + "/" + name;
    std::vector<zk_op> ops;
    const std::string topic = paths::topic(name);
    zk_code there = co_await zk_.exists(topic);
    if (!there.ok() && !there.no_node()) co_return false;
    if (there.ok() && settings_.delete_topics) {
        // Children before parents: each partition's state, the partition, the list, the topic.
        const std::string partitions = topic + "/partitions";
        node_children ps = co_await zk_.children(partitions);
        if (!ps.code.ok() && !ps.code.no_node()) co_return false;
        for (const auto& p : ps.names) {
            const std::string dir = partitions + "/" + p;
            node_children inside = co_await zk_.children(dir);
            if (!inside.code.ok()) co_return false;
            for (const auto& child : inside.names)
                ops.push_back(zk_op::remove(dir + "/" + child, -1));
            ops.push_back(zk_op::remove(dir, -1));
        }
        if (ps.code.ok()) ops.push_back(zk_op::remove(partitions, -1));
        ops.push_back(zk_op::remove(topic, -1));
        if ((co_await zk_.exists(paths::topic_config(name))).ok())
            ops.push_back(zk_op::remove(paths::topic_config(name), -1));
    } else if (there.ok()) {
        server_log().warn("controller: not deleting topic {}: delete.topic.enable is false", name);
    }
    ops.push_back(zk_op::remove(marker, -1));
    multi_result r = co_await fenced(std::move(ops));
    if (!r.code.ok()) co_return false;  // changed meanwhile: again next pass
    if (there.ok() && settings_.delete_topics) {
        topics_.erase(name);
        server_log().info("controller: deleted topic {}", name);
    }
    co_return true;
}

asio::awaitable<bool> active_controller::load_topic(const std::string& name) {
    const std::string path = paths::topic(name);
    const auto on_change = topic_waker(name);
    node_data d = co_await zk_.get(path, on_change);
    if (d.code.no_node()) co_return true;  // deleted meanwhile
    if (!d.code.ok()) {
        changed_topics_.insert(name);  // its watch may not be set: read it again next pass
        co_return false;
    }
    topic_entry t;
    try {
        t.assignment = topic_assignment::from_json(d.data);
    } catch (const znode_format_error& e) {
        server_log().error("controller: skipping topic {}: {}", name, e.what());
        co_return true;
    }
    t.version = d.version;
    if (!t.assignment.topic_id) {
        // Kafka 2.8's kafka-topics.sh --zookeeper leaves the id to the controller.
        t.assignment.topic_id = storage::topic_id_to_string(random_uuid());
        std::vector<zk_op> ops;
        ops.push_back(zk_op::set(path, t.assignment.to_json(), t.version));
        multi_result r = co_await fenced(std::move(ops));
        if (!r.code.ok()) co_return false;  // changed meanwhile: its watch reads it again
        ++t.version;
        server_log().info("controller: topic {} has id {}", name, *t.assignment.topic_id);
    }
    t.has_state.assign(t.assignment.partitions.size(), false);
    if (auto known = topics_.find(name); known != topics_.end()) {
        // Read again: the partitions it had keep what is known of their states.
        const auto& had = known->second.has_state;
        for (size_t p = 0; p < std::min(had.size(), t.has_state.size()); ++p)
            t.has_state[p] = had[p];
        if (t.has_state.size() > had.size()) {
            server_log().info("controller: topic {} has {} partitions now", name,
                              t.has_state.size());
        }
    }
    topics_[name] = std::move(t);
    co_return true;
}

asio::awaitable<void> active_controller::initialize_partitions(const std::string& name,
                                                               topic_entry& t) {
    for (const auto& [p, replicas] : t.assignment.partitions) {
        if (resigned()) co_return;
        const auto slot = static_cast<size_t>(p);
        if (t.has_state[slot]) continue;
        const std::string state_path = paths::partition_state(name, p);
        zk_code there = co_await zk_.exists(state_path);
        if (there.ok()) {
            t.has_state[slot] = true;
            continue;
        }
        if (!there.no_node()) {
            incomplete_ = true;
            co_return;
        }
        auto state = initial_partition_state(replicas, electable(), term_.epoch);
        if (!state) continue;  // no replica alive: again when a broker comes
        // The parents hold no data; creating them outside the fenced write is harmless.
        const std::string partitions = paths::topic(name) + "/partitions";
        co_await zk_.create(partitions, "", node_mode::persistent);
        co_await zk_.create(partitions + "/" + std::to_string(p), "", node_mode::persistent);
        std::vector<zk_op> ops;
        ops.push_back(zk_op::create(state_path, state->to_json(), node_mode::persistent));
        multi_result r = co_await fenced(std::move(ops));
        if (r.code.ok() || r.code.node_exists()) {
            t.has_state[slot] = true;
        } else {
            incomplete_ = true;
            co_return;
        }
    }
}

}  // namespace runnel::server
