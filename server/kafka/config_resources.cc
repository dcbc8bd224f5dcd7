#include "server/kafka/config_resources.h"

#include <set>

#include "server/cluster/topic_admin.h"
#include "server/core/logger.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using protocol::error_code;

namespace {

alter_outcome fail(error_code e, std::string message) { return {e, std::move(message)}; }

// Kafka's rules for broker loggers (KIP-412): SET and DELETE only, existing loggers, log4j
// levels; the whole set is checked before any level changes.
alter_outcome alter_loggers(const std::vector<config_change>& changes, bool replace_all,
                            bool validate_only) {
    if (replace_all) {
        return fail(error_code::invalid_request,
                    "AlterConfigs does not support the BROKER_LOGGER resource; use "
                    "IncrementalAlterConfigs.");
    }
    std::set<std::string> seen;
    for (const auto& c : changes) {
        if (!seen.insert(c.name).second) {
            return fail(error_code::invalid_request, "Error due to duplicate config keys");
        }
        switch (static_cast<config_operation>(c.operation)) {
            case config_operation::set:
                if (auto problem = logger_level_problem(c.name, c.value.value_or("null"))) {
                    return fail(error_code::invalid_config, *problem);
                }
                break;
            case config_operation::remove:
                if (!logger_level(c.name)) {
                    return fail(error_code::invalid_config,
                                "Logger " + c.name + " does not exist!");
                }
                break;
            case config_operation::append:
            case config_operation::subtract:
                return fail(error_code::invalid_request,
                            std::string(c.operation == 2 ? "APPEND" : "SUBTRACT") +
                                " operation is not allowed for the BROKER_LOGGER resource");
            default:
                return fail(error_code::invalid_request,
                            "Unknown operation type " + std::to_string(c.operation));
        }
    }
    if (validate_only) return {};
    for (const auto& c : changes) {
        if (c.operation == static_cast<int8_t>(config_operation::set)) {
            set_logger_level(c.name, *c.value);
        } else {
            reset_logger_level(c.name);
        }
        server_log().info("logger '{}' level now {}", c.name, logger_level(c.name).value_or("?"));
    }
    return {};
}

}  // namespace

asio::awaitable<alter_outcome> alter_resource(kafka_services& b, int8_t type,
                                              const std::string& name,
                                              std::vector<config_change> changes, bool replace_all,
                                              bool validate_only) {
    switch (static_cast<config_resource_type>(type)) {
        case config_resource_type::topic: {
            auto r = co_await b.admin().alter_configs(name, std::move(changes), replace_all,
                                                      validate_only);
            co_return alter_outcome{r.error, r.message};
        }
        case config_resource_type::broker_logger:
        case config_resource_type::broker: {
            const bool cluster_default =
                type == static_cast<int8_t>(config_resource_type::broker) && name.empty();
            if (!cluster_default && name != std::to_string(b.node_id())) {
                co_return fail(error_code::invalid_request,
                               name.find_first_not_of("0123456789") == std::string::npos
                                   ? "Unexpected broker id, expected " +
                                         std::to_string(b.node_id()) + ", but received " + name
                                   : "Node id must be an integer, but it is: " + name);
            }
            if (type == static_cast<int8_t>(config_resource_type::broker_logger)) {
                co_return alter_loggers(changes, replace_all, validate_only);
            }
            auto r = co_await b.admin().alter_broker_configs(cluster_default, std::move(changes),
                                                             replace_all, validate_only);
            co_return alter_outcome{r.error, r.message};
        }
    }
    co_return fail(error_code::invalid_request,
                   "Unexpected resource type " + std::to_string(type) +
                       " (Runnel alters TOPIC, BROKER and BROKER_LOGGER configs)");
}

}  // namespace runnel::server
