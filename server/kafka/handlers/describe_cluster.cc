// DescribeCluster (60): the brokers of the cluster and the controller.
#include "protocol/messages/describe_cluster.h"

#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;

namespace {

// Kafka's "authorized operations not requested" marker.
constexpr int32_t operations_not_requested = INT32_MIN;
// Without an authorizer every cluster operation is allowed: ALTER(7), CLUSTER_ACTION(9),
// DESCRIBE(8), DESCRIBE_CONFIGS(10), ALTER_CONFIGS(11), IDEMPOTENT_WRITE(12), CREATE(5).
constexpr int32_t all_cluster_operations =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

asio::awaitable<std::optional<describe_cluster_response>> handle(request_context& ctx,
                                                                 describe_cluster_request req) {
    describe_cluster_response resp;
    // v1 (KIP-919) may ask for controllers instead of brokers; in ZooKeeper mode, as on a single
    // node, the controller is one of the brokers, so both lists are the brokers.
    resp.endpoint_type = req.endpoint_type;
    resp.cluster_id = ctx.services.cluster_id();
    resp.controller_id = ctx.services.controller_id();
    for (auto& broker : ctx.services.brokers_on(ctx.listener)) {
        describe_cluster_response::describe_cluster_broker b;
        b.broker_id = broker.id;
        b.host = std::move(broker.host);
        b.port = broker.port;
        b.rack = std::move(broker.rack);
        resp.brokers.push_back(std::move(b));
    }
    resp.cluster_authorized_operations = req.include_cluster_authorized_operations
                                             ? all_cluster_operations
                                             : operations_not_requested;
    co_return resp;
}

}  // namespace

void register_describe_cluster(dispatch& d) { d.add<api_types<60>>(handle); }

}  // namespace runnel::server
