// AlterPartitionReassignments (45, KIP-455), sent by kafka-reassign-partitions --execute and
// --cancel to the controller. In a ZooKeeper cluster the controller's term records each move
// (cluster_controller::alter_reassignments) and finishes it once the new replicas are in sync;
// another broker answers NOT_CONTROLLER and the client asks the controller. A single node is its
// partitions' only replica: keeping them on itself is done at once, any other broker does not
// exist, and there is never a move to cancel.
#include "protocol/messages/alter_partition_reassignments.h"

#include <fmt/format.h>

#include "protocol/errors.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

reassignment_result on_single_node(const topics_snapshot& topics, int32_t self,
                                   reassignment_request r) {
    reassignment_result out{r.topic, r.partition, error_code::none, std::nullopt};
    auto topic = topics.find(r.topic);
    if (!topic || r.partition < 0 || r.partition >= topic->partition_count()) {
        out.error = error_code::unknown_topic_or_partition;
        out.message = "The partition does not exist.";
    } else if (!r.replicas) {
        out.error = error_code::no_reassignment_in_progress;
        out.message = "No reassignment is in progress for topic " + r.topic + " partition " +
                      std::to_string(r.partition);
    } else if (r.replicas->empty()) {
        out.error = error_code::invalid_replica_assignment;
        out.message = "The replica list cannot be empty.";
    } else if (*r.replicas != std::vector<int32_t>{self}) {
        out.error = error_code::invalid_replica_assignment;
        out.message = "The proposed assignment contains brokers other than this single node (" +
                      std::to_string(self) + ").";
    }
    return out;
}

asio::awaitable<std::optional<alter_partition_reassignments_response>> handle(
    request_context& ctx, alter_partition_reassignments_request req) {
    alter_partition_reassignments_response resp;
    resp.allow_replication_factor_change = req.allow_replication_factor_change;
    std::vector<reassignment_request> asked;
    for (auto& t : req.topics) {
        for (auto& p : t.partitions) {
            asked.push_back(reassignment_request{t.name, p.partition_index, std::move(p.replicas)});
        }
    }
    std::vector<reassignment_result> results;
    if (cluster_controller* controller = ctx.services.cluster().controller()) {
        auto done = co_await controller->alter_reassignments(std::move(asked),
                                                             req.allow_replication_factor_change);
        if (done.error != error_code::none) {
            resp.error_code = to_wire(done.error);
            resp.error_message = std::string(protocol::error_name(done.error));
            co_return resp;
        }
        results = std::move(done.partitions);
    } else {
        auto snap = ctx.services.topics().snapshot();
        for (auto& r : asked)
            results.push_back(on_single_node(*snap, ctx.services.node_id(), std::move(r)));
    }
    for (auto& r : results) {
        if (resp.responses.empty() || resp.responses.back().name != r.topic)
            resp.responses.emplace_back().name = r.topic;
        auto& rp = resp.responses.back().partitions.emplace_back();
        rp.partition_index = r.partition;
        rp.error_code = to_wire(r.error);
        rp.error_message = std::move(r.message);
    }
    co_return resp;
}

}  // namespace

void register_alter_partition_reassignments(dispatch& d) { d.add<api_types<45>>(handle); }

}  // namespace runnel::server
