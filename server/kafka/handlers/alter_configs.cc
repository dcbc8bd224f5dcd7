// AlterConfigs (33): the older whole-set form of IncrementalAlterConfigs, still sent by
// kafka-python's admin client and older tools. Each resource's dynamic configs become exactly
// the ones given.
#include "protocol/messages/alter_configs.h"

#include "server/kafka/config_resources.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;

namespace {

asio::awaitable<std::optional<alter_configs_response>> handle(request_context& ctx,
                                                              alter_configs_request req) {
    // g++ 12 wants a coroutine's lambda arguments as named values.
    auto all_set = [](auto& res) {
        std::vector<config_change> changes;
        for (auto& c : res.configs) {
            changes.push_back({std::move(c.name), static_cast<int8_t>(config_operation::set),
                               std::move(c.value)});
        }
        return changes;
    };
    co_return co_await alter_each_resource<alter_configs_response>(ctx.services, req, true,
                                                                   all_set);
}

}  // namespace

void register_alter_configs(dispatch& d) { d.add<api_types<33>>(handle); }

}  // namespace runnel::server
