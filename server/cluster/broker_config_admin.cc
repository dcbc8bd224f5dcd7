// Dynamic broker configs (KIP-226; kafka-configs --alter --entity-type brokers): the part of
// topic administration that changes what every topic inherits.
#include <boost/asio/use_awaitable.hpp>

#include "server/cluster/admin_lock.h"
#include "server/cluster/cluster_context.h"
#include "server/cluster/dynamic_config_store.h"
#include "server/cluster/partition.h"
#include "server/cluster/topic_admin.h"
#include "server/config/config_changes.h"
#include "server/core/cross_shard.h"
#include "server/core/logger.h"

namespace runnel::server {

using protocol::error_code;

namespace {

std::string summary_of(const config_map& layer) {
    std::string out;
    for (const auto& [key, value] : layer) out += (out.empty() ? "" : ", ") + key + "=" + value;
    return out.empty() ? "none" : out;
}

// One partition to reconfigure, on its way to its owner shard.
struct reconfigure_step {
    protocol::uuid topic;
    size_t slot = 0;  // the partition number
    shard_id owner = 0;
    std::shared_ptr<const topic_config> config;
};

}  // namespace

void topic_admin::load_dynamic_configs() {
    const auto& cfg = cluster_.config();
    auto stored = dynamic_config_store(cfg.log_dirs.front()).load(cfg.node_id);
    if (stored == dynamic_broker_configs{}) return;
    cluster_.set_live_config(std::make_shared<const broker_config>(cfg.with_dynamic(stored)));
    server_log().info("dynamic broker configs: cluster default {}; broker {}: {}",
                      summary_of(stored.cluster_default), cfg.node_id,
                      summary_of(stored.this_broker));
}

asio::awaitable<admin_result> topic_admin::alter_broker_configs(bool cluster_default,
                                                                std::vector<config_change> changes,
                                                                bool replace_all,
                                                                bool validate_only) {
    auto task = [this, cluster_default, changes = std::move(changes), replace_all,
                 validate_only]() mutable {
        return alter_broker_configs_on_controller(cluster_default, std::move(changes), replace_all,
                                                  validate_only);
    };
    co_return co_await on_shard(cluster_.metadata_shard(), task);
}

asio::awaitable<admin_result> topic_admin::alter_broker_configs_on_controller(
    bool cluster_default, std::vector<config_change> changes, bool replace_all,
    bool validate_only) {
    co_await lock_->async_send(boost::system::error_code{}, asio::use_awaitable);
    admin_guard guard{lock_.get()};
    auto live = cluster_.live_config();
    dynamic_broker_configs next = live->dynamic;
    config_map& layer = cluster_default ? next.cluster_default : next.this_broker;
    auto applied = apply_broker_config_changes(layer, changes, replace_all, cluster_default, *live);
    if (auto* e = std::get_if<config_change_error>(&applied)) {
        co_return admin_result::fail(e->code, e->message);
    }
    layer = std::move(std::get<config_map>(applied));
    std::shared_ptr<const broker_config> config;
    try {
        config = std::make_shared<const broker_config>(cluster_.config().with_dynamic(next));
    } catch (const config_error& e) {
        co_return admin_result::fail(error_code::invalid_request, e.what());
    }
    if (validate_only || next == live->dynamic) co_return admin_result{};

    // Stored first: a change the client saw succeed must survive a restart.
    if (auto ec = dynamic_config_store(cluster_.config().log_dirs.front())
                      .save(next, cluster_.node_id())) {
        co_return admin_result::fail(error_code::kafka_storage_error,
                                     "Cannot store the dynamic broker configs: " + ec.message());
    }
    cluster_.set_live_config(config);
    co_await reconfigure_all_partitions(*config);
    server_log().info("dynamic broker configs now: cluster default {}; broker {}: {}",
                      summary_of(next.cluster_default), cluster_.node_id(),
                      summary_of(next.this_broker));
    co_return admin_result{};
}

asio::awaitable<void> topic_admin::reconfigure_all_partitions(const broker_config& broker) {
    std::vector<reconfigure_step> steps;
    for (const auto& [name, t] : cluster_.topics().snapshot()->by_name) {
        auto config = std::make_shared<const topic_config>(t->config_overrides, broker);
        for (int32_t p = 0; p < t->partition_count(); ++p) {
            steps.push_back({t->id, static_cast<size_t>(p),
                             t->partitions[static_cast<size_t>(p)].owner, config});
        }
    }
    auto apply = [this](shard_id owner, std::vector<reconfigure_step> mine)
        -> asio::awaitable<std::vector<reconfigure_step>> {
        for (auto& step : mine) {
            if (partition* p = cluster_.partitions_on(owner).find(
                    step.topic, static_cast<int32_t>(step.slot))) {
                p->reconfigure(*step.config);
            }
        }
        co_return mine;
    };
    co_await run_on_owners(cluster_.shards(), cluster_.metadata_shard(), std::move(steps), apply);
}

}  // namespace runnel::server
