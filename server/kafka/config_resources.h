// The resources whose configs DescribeConfigs, AlterConfigs and IncrementalAlterConfigs name,
// and the one way both alter requests change them.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/errors.h"
#include "server/config/config_changes.h"
#include "server/core/shard.h"

namespace runnel::server {

class kafka_services;

// Kafka's ConfigResource.Type codes.
enum class config_resource_type : int8_t {
    topic = 2,
    broker = 4,
    broker_logger = 8,
};

struct alter_outcome {
    protocol::error_code error = protocol::error_code::none;
    std::optional<std::string> message;
};

// Applies `changes` to one resource (replace_all: AlterConfigs' semantics). Topics are changed
// through topic administration; broker loggers at once on this broker; broker configs (this
// broker's, or the cluster default's when the name is empty) through topic administration too,
// for the keys whose update mode allows it.
asio::awaitable<alter_outcome> alter_resource(kafka_services& b, int8_t type,
                                              const std::string& name,
                                              std::vector<config_change> changes, bool replace_all,
                                              bool validate_only);

// Both alter requests: each resource of `req` through alter_resource, its changes made by
// `changes_of(resource)`, one response entry per resource in the request's order.
template <class Response, class Request, class ChangesOf>
asio::awaitable<Response> alter_each_resource(kafka_services& b, Request& req, bool replace_all,
                                              ChangesOf changes_of) {
    Response resp;
    for (auto& res : req.resources) {
        auto outcome = co_await alter_resource(b, res.resource_type, res.resource_name,
                                               changes_of(res), replace_all, req.validate_only);
        auto& out = resp.responses.emplace_back();
        out.error_code = protocol::to_wire(outcome.error);
        out.error_message = outcome.message;
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name;
    }
    co_return resp;
}

}  // namespace runnel::server
