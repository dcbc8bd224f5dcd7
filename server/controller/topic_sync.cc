#include "server/controller/topic_sync.h"

#include "server/config/topic_config.h"
#include "server/core/logger.h"
#include "server/zookeeper/kafka_znodes.h"
#include "storage/partition_dir.h"

namespace runnel::server {

namespace asio = boost::asio;
using namespace zookeeper;

topic_sync::topic_sync(zk_client& zk, cluster_context& cluster)
    : zk_(zk), cluster_(cluster), loop_(zk.executor()) {}

void topic_sync::wake_list() {
    list_dirty_ = true;
    loop_.wake();
}

void topic_sync::wake_topic(const std::string& name) {
    dirty_topics_.insert(name);
    loop_.wake();
}

void topic_sync::session_renewed() {
    armed_.clear();
    for (const auto& t : known_) dirty_topics_.insert(t);
    wake_list();
}

void topic_sync::stop() { loop_.stop(); }

zk_client::watch_fn topic_sync::watch(const std::string& path, const std::string& topic) {
    if (!armed_.insert(path).second) return {};
    return [w = weak_from_this(), path, topic] {
        auto self = w.lock();
        if (!self) return;
        self->armed_.erase(path);
        if (topic.empty()) {
            self->wake_list();
        } else {
            self->wake_topic(topic);
        }
    };
}

asio::awaitable<void> topic_sync::run() {
    auto keep = shared_from_this();
    auto one_pass = [this] { return pass(); };
    co_await loop_.run(one_pass);
}

asio::awaitable<bool> topic_sync::pass() {
    if (list_dirty_) {
        list_dirty_ = false;
        const auto on_change = watch(std::string(paths::topics), "");
        node_children names = co_await zk_.children(std::string(paths::topics), on_change);
        if (!names.code.ok()) {
            if (on_change) armed_.erase(std::string(paths::topics));
            list_dirty_ = true;
            co_return false;
        }
        std::set<std::string> present(names.names.begin(), names.names.end());
        for (const auto& name : known_) {
            if (!present.contains(name)) {
                co_await cluster_.admin().remove_cluster_topic(name);
                dirty_topics_.erase(name);
            }
        }
        std::erase_if(known_, [&](const std::string& n) { return !present.contains(n); });
        for (const auto& name : present) {
            if (!known_.contains(name)) dirty_topics_.insert(name);
        }
    }
    auto todo = std::move(dirty_topics_);
    dirty_topics_.clear();
    bool all_read = true;
    for (const auto& name : todo) {
        if (loop_.stopped()) co_return true;
        if (!co_await read_topic(name)) {
            dirty_topics_.insert(name);
            all_read = false;
        }
    }
    co_return all_read;
}

asio::awaitable<bool> topic_sync::read_topic(const std::string& name) {
    const std::string topic_path = paths::topic(name);
    const auto on_topic = watch(topic_path, name);
    node_data assignment_node = co_await zk_.get(topic_path, on_topic);
    if (assignment_node.code.no_node()) co_return true;  // the list's watch removes it
    if (!assignment_node.code.ok()) {
        if (on_topic) armed_.erase(topic_path);
        co_return false;
    }
    topic_assignment assignment;
    try {
        assignment = topic_assignment::from_json(assignment_node.data);
    } catch (const znode_format_error& e) {
        server_log().error("topic {} in ZooKeeper: {}", name, e.what());
        co_return true;
    }
    // The controller gives each topic its id first; its write wakes this topic again.
    if (!assignment.topic_id) co_return true;
    auto id = storage::topic_id_from_string(*assignment.topic_id);
    if (!id) {
        server_log().error("topic {} in ZooKeeper has a malformed id {}", name,
                           *assignment.topic_id);
        co_return true;
    }
    auto t = std::make_shared<topic_metadata>();
    t->name = name;
    t->id = *id;

    const std::string config_path = paths::topic_config(name);
    const auto on_config = watch(config_path, name);
    node_data config_node = co_await zk_.get(config_path, on_config);
    if (config_node.code.ok()) {
        try {
            t->config_overrides = parse_topic_config(config_node.data);
        } catch (const znode_format_error& e) {
            server_log().error("topic {}: config in ZooKeeper: {}", name, e.what());
        }
        if (auto problem =
                topic_config::validate_all(t->config_overrides, *cluster_.live_config())) {
            server_log().error("topic {}: config in ZooKeeper refused ({}); using the defaults",
                               name, *problem);
            t->config_overrides.clear();
        }
    } else {
        if (on_config) armed_.erase(config_path);
        if (!config_node.code.no_node()) co_return false;
    }

    t->partitions.resize(assignment.partitions.size());
    for (const auto& [p, replicas] : assignment.partitions) {
        auto& placement = t->partitions[static_cast<size_t>(p)];
        placement.replicas = replicas;
        placement.hosted = false;
        const std::string state_path = paths::partition_state(name, p);
        const auto on_state = watch(state_path, name);
        node_data state_node = co_await zk_.get(state_path, on_state);
        if (state_node.code.no_node()) {
            // Not set up by the controller yet: a data watch is not left on a missing node,
            // so watch for its creation.
            if (on_state) {
                armed_.erase(state_path);
                const auto on_created = watch(state_path, name);
                zk_code there = co_await zk_.exists(state_path, on_created);
                if (there.ok()) wake_topic(name);  // created meanwhile
            }
            continue;
        }
        if (!state_node.code.ok()) {
            if (on_state) armed_.erase(state_path);
            co_return false;
        }
        try {
            auto state = partition_state::from_json(state_node.data);
            placement.leader = state.leader;
            placement.isr = state.isr;
            placement.leader_epoch = state.leader_epoch;
            placement.controller_epoch = state.controller_epoch;
            placement.state_version = state_node.version;
        } catch (const znode_format_error& e) {
            server_log().error("{}: {}", state_path, e.what());
        }
    }
    co_await cluster_.admin().apply_cluster_topic(t);
    known_.insert(name);
    co_return true;
}

}  // namespace runnel::server
