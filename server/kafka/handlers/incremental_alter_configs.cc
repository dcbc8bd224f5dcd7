// IncrementalAlterConfigs (44, KIP-339): kafka-configs.sh --alter --add-config / --delete-config
// and AdminClient.incrementalAlterConfigs. Each resource succeeds or fails as a whole.
#include "protocol/messages/incremental_alter_configs.h"

#include "server/kafka/config_resources.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;

namespace {

asio::awaitable<std::optional<incremental_alter_configs_response>> handle(
    request_context& ctx, incremental_alter_configs_request req) {
    // g++ 12 wants a coroutine's lambda arguments as named values.
    auto as_sent = [](auto& res) {
        std::vector<config_change> changes;
        for (auto& c : res.configs) {
            changes.push_back({std::move(c.name), c.config_operation, std::move(c.value)});
        }
        return changes;
    };
    co_return co_await alter_each_resource<incremental_alter_configs_response>(ctx.services, req,
                                                                               false, as_sent);
}

}  // namespace

void register_incremental_alter_configs(dispatch& d) { d.add<api_types<44>>(handle); }

}  // namespace runnel::server
