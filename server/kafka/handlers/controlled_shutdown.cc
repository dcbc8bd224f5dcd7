// ControlledShutdown (7): a broker about to stop asks the controller to move its partitions'
// leadership first (Kafka's ZooKeeper mode; Runnel's brokers send it from broker::stop). The
// controller layer does the work (cluster_controller); other brokers answer NOT_CONTROLLER, as
// Kafka's do. A single node is its partitions' only replica: for itself there is nothing to
// move, and no other broker exists (BROKER_NOT_AVAILABLE).
#include "protocol/messages/controlled_shutdown.h"

#include "protocol/errors.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<controlled_shutdown_response>> handle(
    request_context& ctx, controlled_shutdown_request req) {
    controlled_shutdown_response resp;
    cluster_controller* controller = ctx.services.cluster().controller();
    if (!controller) {
        resp.error_code =
            to_wire(req.broker_id == ctx.services.node_id() ? error_code::none
                                                            : error_code::broker_not_available);
        co_return resp;
    }
    auto done = co_await controller->controlled_shutdown(req.broker_id);
    resp.error_code = to_wire(done.error);
    for (auto& [topic, index] : done.remaining) {
        auto& r = resp.remaining_partitions.emplace_back();
        r.topic_name = topic;
        r.partition_index = index;
    }
    co_return resp;
}

}  // namespace

void register_controlled_shutdown(dispatch& d) {
    d.add<api_types<7>>(handle);
    // Brokers send it to the controller; clients have no use for it (nor does Kafka 4 list it).
    d.hide(7);
}

}  // namespace runnel::server
