// FindCoordinator (10): on a single node every coordinator is this node; in a ZooKeeper cluster a
// group's coordinator is the leader of its partition of __consumer_offsets, a transactional id's
// the leader of its partition of __transaction_state. v0-3 look up one key, v4+ a batch
// (CoordinatorKeys).
// The first group lookup creates __consumer_offsets, the first transaction lookup
// __transaction_state.
#include "protocol/messages/find_coordinator.h"

#include "protocol/errors.h"
#include "server/coordinators/groups/coordinator_set.h"
#include "server/coordinators/transactions/transaction_coordinator_set.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

constexpr int8_t group_key = 0;
constexpr int8_t transaction_key = 1;
constexpr int8_t share_key = 2;

struct lookup {
    error_code error = error_code::none;
    int32_t node_id = -1;
    std::string host;
    int32_t port = -1;
};

asio::awaitable<lookup> find(request_context& ctx, int8_t key_type, std::string_view key) {
    kafka_services& b = ctx.services;
    lookup out;
    switch (key_type) {
        case group_key:
            out.error = co_await b.groups().ensure_topic();
            break;
        case transaction_key:
            out.error = co_await b.transactions().ensure_topic();
            break;
        case share_key:  // share groups (KIP-932) are not supported
        default:
            out.error = error_code::invalid_request;
            break;
    }
    if (out.error != error_code::none) co_return out;
    int32_t coordinator = b.node_id();
    const auto loc = key_type == group_key ? b.groups().locate(key) : b.transactions().locate(key);
    if (loc.error == error_code::not_coordinator) {
        coordinator = loc.leader;
    } else if (loc.error != error_code::none) {
        out.error = loc.error;
        co_return out;
    }
    for (auto& broker : b.brokers_on(ctx.listener)) {
        if (broker.id != coordinator) continue;
        out.node_id = broker.id;
        out.host = std::move(broker.host);
        out.port = broker.port;
        co_return out;
    }
    // Its leader is down (or not reachable through this listener): clients retry.
    out.error = error_code::coordinator_not_available;
    co_return out;
}

asio::awaitable<std::optional<find_coordinator_response>> handle(request_context& ctx,
                                                                 find_coordinator_request req) {
    find_coordinator_response resp;
    if (ctx.api_version < 4) {
        lookup l = co_await find(ctx, req.key_type, req.key);
        resp.error_code = to_wire(l.error);
        // Kafka sends the error's name as the message, "NONE" included.
        resp.error_message =
            l.error == error_code::none ? "NONE" : std::string(protocol::error_name(l.error));
        resp.node_id = l.node_id;
        resp.host = l.host;
        resp.port = l.port;
        co_return resp;
    }
    for (auto& key : req.coordinator_keys) {
        lookup l = co_await find(ctx, req.key_type, key);
        auto& c = resp.coordinators.emplace_back();
        c.key = std::move(key);
        c.node_id = l.node_id;
        c.host = l.host;
        c.port = l.port;
        c.error_code = to_wire(l.error);
    }
    co_return resp;
}

}  // namespace

void register_find_coordinator(dispatch& d) { d.add<api_types<10>>(handle); }

}  // namespace runnel::server
