// ListPartitionReassignments (46, KIP-455): the replica moves in progress, asked of the
// controller (kafka-reassign-partitions --verify and --list, kafka-topics --describe for its
// "Adding/Removing Replicas" columns). In a ZooKeeper cluster the controller's term answers from
// the topics' znodes (cluster_controller::list_reassignments); another broker answers
// NOT_CONTROLLER. A single node has one replica per partition and nothing to move, so its answer
// is always empty; partitions asked for that do not exist are left out, as Kafka's controller
// does.
#include "protocol/messages/list_partition_reassignments.h"

#include "protocol/errors.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<list_partition_reassignments_response>> handle(
    request_context& ctx, list_partition_reassignments_request req) {
    list_partition_reassignments_response resp;
    cluster_controller* controller = ctx.services.cluster().controller();
    if (!controller) co_return resp;
    std::optional<std::vector<std::pair<std::string, int32_t>>> wanted;
    if (req.topics) {
        wanted.emplace();
        for (const auto& t : *req.topics) {
            for (int32_t p : t.partition_indexes) wanted->emplace_back(t.name, p);
        }
    }
    auto done = co_await controller->list_reassignments(std::move(wanted));
    resp.error_code = to_wire(done.error);
    if (done.error != error_code::none) {
        resp.error_message = std::string(protocol::error_name(done.error));
        co_return resp;
    }
    for (auto& o : done.partitions) {
        if (resp.topics.empty() || resp.topics.back().name != o.topic)
            resp.topics.emplace_back().name = o.topic;
        auto& p = resp.topics.back().partitions.emplace_back();
        p.partition_index = o.partition;
        p.replicas = std::move(o.replicas);
        p.adding_replicas = std::move(o.adding);
        p.removing_replicas = std::move(o.removing);
    }
    co_return resp;
}

}  // namespace

void register_list_partition_reassignments(dispatch& d) { d.add<api_types<46>>(handle); }

}  // namespace runnel::server
