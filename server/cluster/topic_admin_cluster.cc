// topic_admin's part in a ZooKeeper cluster: the topics registered there, as this broker follows
// them (server/controller/topic_sync tells it what ZooKeeper has). This broker opens the logs
// of the partitions it is a replica of and gives each its role (leader or follower, epoch,
// ISR); the replication layer's fetchers copy the followers' data from their leaders.
#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <set>

#include "server/cluster/admin_lock.h"
#include "server/cluster/cluster_context.h"
#include "server/cluster/topic_admin.h"
#include "server/cluster/topic_name.h"
#include "server/core/cross_shard.h"
#include "server/core/logger.h"
#include "storage/file.h"
#include "storage/partition_dir.h"
#include "storage/partition_log.h"
#include "storage/wall_clock.h"

namespace runnel::server {

namespace fs = std::filesystem;

asio::awaitable<void> topic_admin::apply_cluster_topic(std::shared_ptr<topic_metadata> t) {
    auto task = [this, t]() { return apply_cluster_topic_on_controller(t); };
    co_await on_shard(cluster_.metadata_shard(), task);
}

asio::awaitable<void> topic_admin::remove_cluster_topic(std::string name) {
    auto task = [this, name]() { return remove_cluster_topic_on_controller(name); };
    co_await on_shard(cluster_.metadata_shard(), task);
}

asio::awaitable<void> topic_admin::apply_cluster_topic_on_controller(
    std::shared_ptr<topic_metadata> t) {
    co_await lock_->async_send(boost::system::error_code{}, asio::use_awaitable);
    admin_guard guard{lock_.get()};
    auto current = cluster_.topics().snapshot()->find(t->name);
    if (current && !current->in_cluster) {
        server_log().warn(
            "topic '{}' is registered in ZooKeeper but this broker has a topic of that name of "
            "its own (created before it joined the cluster); keeping its own",
            t->name);
        co_return;
    }
    if (current && current->id != t->id) {
        // The name now stands for another topic: the old one's logs go.
        co_await close_partitions(current, 0, true);
        current = nullptr;
    }
    t->in_cluster = true;
    t->internal = is_internal_topic(t->name);
    const int32_t self = cluster_.node_id();
    auto counts = count_partitions_per_dir();
    // Where this topic's partitions already are on disk (a broker that led them before).
    std::map<int32_t, std::string> on_disk;
    for (const auto& d : cluster_.config().log_dirs) {
        for (int32_t p = 0; p < t->partition_count(); ++p) {
            std::error_code ec;
            if (fs::exists(fs::path(d) / storage::partition_dir_name(t->name, p), ec))
                on_disk.emplace(p, d);
        }
    }
    std::vector<partition_step> to_open;
    std::vector<partition_step> to_close;
    for (int32_t p = 0; p < t->partition_count(); ++p) {
        auto& want = t->partitions[static_cast<size_t>(p)];
        const partition_placement* have = current && p < current->partition_count()
                                              ? &current->partitions[static_cast<size_t>(p)]
                                              : nullptr;
        const bool was_hosted = have && have->hosted;
        const bool replica =
            std::find(want.replicas.begin(), want.replicas.end(), self) != want.replicas.end();
        // A replica holds the log once the controller has given the partition a state (a
        // leader), and keeps it while it stays a replica.
        want.hosted = replica && (want.leader >= 0 || was_hosted);
        want.leading = want.hosted && want.leader == self;
        if (was_hosted) {
            want.owner = have->owner;
            want.log_dir = have->log_dir;
            if (!want.hosted) to_close.push_back({static_cast<size_t>(p), have->owner, {}});
            continue;
        }
        if (!want.hosted) continue;
        if (auto it = on_disk.find(p); it != on_disk.end()) {
            want.log_dir = it->second;
            want.owner = next_owner_++ % static_cast<shard_id>(cluster_.shards().size());
        } else {
            const partition_placement placed = place_next_partition(counts);
            want.log_dir = placed.log_dir;
            want.owner = placed.owner;
        }
        to_open.push_back({static_cast<size_t>(p), want.owner, {}});
    }
    if (current && !to_close.empty()) {
        // Moved to other brokers (a reassignment): the copy here goes, as after Kafka's
        // StopReplica with deletion.
        const size_t n = to_close.size();
        co_await close_steps(current, std::move(to_close), true);
        server_log().info(
            "topic '{}': no longer a replica of {} partition(s) here; their logs "
            "are deleted",
            t->name, n);
    }
    if (!to_open.empty()) {
        auto opened = co_await open_partitions(t, std::move(to_open), true);
        for (const auto& step : opened) {
            if (!step.error) continue;
            server_log().error("cannot open {}-{}, of which this broker is a replica: {}", t->name,
                               step.slot, step.error.message());
            t->partitions[step.slot].hosted = false;
            t->partitions[step.slot].leading = false;
        }
    }
    // Configs changed in ZooKeeper (AlterConfigs through any broker, kafka-configs.sh
    // --zookeeper) are in force on the partitions already open before the snapshot shows them.
    if (current && current->config_overrides != t->config_overrides) {
        co_await reconfigure_partitions(t);
    }
    // Every hosted partition takes its role (leader or follower, epoch, ISR) before the new
    // snapshot sends clients to it; a demoted leader's writers fail from here on.
    co_await apply_roles(t);
    cluster_.topics().publish(cluster_.topics().snapshot()->with(t));
}

asio::awaitable<void> topic_admin::apply_roles(std::shared_ptr<const topic_metadata> t) {
    std::vector<partition_step> steps;
    for (int32_t p = 0; p < t->partition_count(); ++p) {
        const auto& placement = t->partitions[static_cast<size_t>(p)];
        if (placement.hosted) steps.push_back({static_cast<size_t>(p), placement.owner, {}});
    }
    const int32_t self = cluster_.node_id();
    auto apply = [this, t, self](shard_id owner, std::vector<partition_step> mine)
        -> asio::awaitable<std::vector<partition_step>> {
        const int64_t now = storage::wall_clock_ms();
        bool changed = false;
        for (auto& step : mine) {
            const auto& placement = t->partitions[step.slot];
            partition* part =
                cluster_.partitions_on(owner).find(t->id, static_cast<int32_t>(step.slot));
            if (!part) continue;
            partition_role role{self,
                                placement.leader,
                                placement.leader_epoch,
                                placement.replicas,
                                placement.isr,
                                placement.controller_epoch,
                                placement.state_version};
            if (part->role() == role) continue;
            part->set_role(std::move(role), now);
            changed = true;
        }
        if (changed) cluster_.roles_changed(owner);
        co_return mine;
    };
    co_await run_on_owners(cluster_.shards(), cluster_.metadata_shard(), std::move(steps), apply);
}

asio::awaitable<void> topic_admin::remove_cluster_topic_on_controller(std::string name) {
    co_await lock_->async_send(boost::system::error_code{}, asio::use_awaitable);
    admin_guard guard{lock_.get()};
    auto current = cluster_.topics().snapshot()->find(name);
    if (!current || !current->in_cluster) co_return;
    cluster_.topics().publish(cluster_.topics().snapshot()->without(name));
    co_await close_partitions(current, 0, true);
    // The logs of partitions this broker led once and keeps unopened go too.
    std::set<std::string> synced;
    for (const auto& d : cluster_.config().log_dirs) {
        for (int32_t p = 0; p < current->partition_count(); ++p) {
            const fs::path dir = fs::path(d) / storage::partition_dir_name(name, p);
            auto held = storage::read_partition_metadata(dir);
            if (!held || *held != current->id) continue;
            storage::partition_log::remove(dir, false);
            synced.insert(d);
        }
    }
    for (const auto& d : synced) (void)storage::sync_directory(d);
    server_log().info("topic '{}' is gone from the cluster: its logs here are deleted", name);
}

}  // namespace runnel::server
