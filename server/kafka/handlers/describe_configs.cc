// DescribeConfigs (32): every config of a topic or of this broker with its value, source,
// synonyms and (v3+) type and documentation. Kafka Connect, for one, refuses internal topics
// unless cleanup.policy=compact is reported, so topic answers list every topic config.
#include "protocol/messages/describe_configs.h"

#include "protocol/errors.h"
#include "server/core/logger.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

// ConfigResource.Type codes.
constexpr int8_t resource_topic = 2;
constexpr int8_t resource_broker = 4;
constexpr int8_t resource_broker_logger = 8;

using result_entry = describe_configs_response::describe_configs_result;
using config_row = result_entry::describe_configs_resource_result;

void add_entries(result_entry& out, const std::vector<config_entry>& entries,
                 const std::optional<std::vector<std::string>>& keys, const request_context& ctx,
                 const describe_configs_request& req) {
    for (const auto& e : entries) {
        if (keys && std::find(keys->begin(), keys->end(), e.name) == keys->end()) continue;
        config_row row;
        row.name = e.name;
        row.value = e.sensitive ? std::nullopt : e.value;
        row.read_only = e.read_only;
        row.is_default = e.source == config_source::default_config;
        row.config_source = static_cast<int8_t>(e.source);
        row.is_sensitive = e.sensitive;
        if (req.include_synonyms) {
            for (const auto& s : e.synonyms) {
                row.synonyms.push_back({s.name, s.value, static_cast<int8_t>(s.source), {}});
            }
        }
        row.config_type = static_cast<int8_t>(e.type);
        if (req.include_documentation) row.documentation = e.documentation;
        out.configs.push_back(std::move(row));
    }
}

asio::awaitable<std::optional<describe_configs_response>> handle(request_context& ctx,
                                                                 describe_configs_request req) {
    kafka_services& b = ctx.services;
    describe_configs_response resp;
    auto snap = b.topics().snapshot();
    for (const auto& res : req.resources) {
        auto& out = resp.results.emplace_back();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name;
        switch (res.resource_type) {
            case resource_topic: {
                auto topic = snap->find(res.resource_name);
                if (!topic) {
                    out.error_code = to_wire(error_code::unknown_topic_or_partition);
                    out.error_message = "The topic '" + res.resource_name + "' does not exist.";
                    break;
                }
                add_entries(out, b.admin().config_of(*topic).describe(*b.live_config()),
                            res.configuration_keys, ctx, req);
                break;
            }
            case resource_broker:
                // An empty name asks for the cluster-wide dynamic defaults.
                if (res.resource_name.empty()) {
                    add_entries(out, b.live_config()->describe_cluster_defaults(),
                                res.configuration_keys, ctx, req);
                    break;
                }
                if (res.resource_name != std::to_string(b.node_id())) {
                    out.error_code = to_wire(error_code::invalid_request);
                    out.error_message = "Unexpected broker id, expected " +
                                        std::to_string(b.node_id()) + " but received " +
                                        res.resource_name;
                    break;
                }
                add_entries(out, b.live_config()->describe(), res.configuration_keys, ctx, req);
                break;
            case resource_broker_logger: {
                std::vector<config_entry> loggers;
                for (auto name : module_logger_names()) {
                    config_entry e;
                    e.name = std::string(name);
                    e.value = logger_level(name);
                    e.source = config_source::dynamic_broker_logger_config;
                    e.read_only = false;
                    e.type = config_type::string;
                    loggers.push_back(std::move(e));
                }
                add_entries(out, loggers, res.configuration_keys, ctx, req);
                break;
            }
            default:
                out.error_code = to_wire(error_code::invalid_request);
                out.error_message =
                    "Unsupported resource type " + std::to_string(res.resource_type);
        }
    }
    co_return resp;
}

}  // namespace

void register_describe_configs(dispatch& d) { d.add<api_types<32>>(handle); }

}  // namespace runnel::server
