// ElectLeaders (43, KIP-460), sent by kafka-leader-election to the controller. In a ZooKeeper
// cluster the controller's term elects (cluster_controller::elect_leaders: the preferred replica
// if it is alive and in the ISR, or for an unclean election any live replica of a partition
// without a leader); another broker answers NOT_CONTROLLER and the client asks the controller.
// A single node already leads every partition, as preferred replica and sole member of the ISR,
// so every election asked for is ELECTION_NOT_NEEDED, which kafka-leader-election reports as
// "Valid replica already elected". Asked for every partition (null), the answer lists only the
// partitions whose election did something, as Kafka's controller does.
#include "protocol/messages/elect_leaders.h"

#include "protocol/errors.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

constexpr int8_t preferred_election = 0;
constexpr int8_t unclean_election = 1;

asio::awaitable<std::optional<elect_leaders_response>> handle(request_context& ctx,
                                                              elect_leaders_request req) {
    elect_leaders_response resp;
    if (req.election_type != preferred_election && req.election_type != unclean_election) {
        resp.error_code = to_wire(error_code::invalid_request);
        co_return resp;
    }
    if (cluster_controller* controller = ctx.services.cluster().controller()) {
        std::optional<std::vector<std::pair<std::string, int32_t>>> wanted;
        if (req.topic_partitions) {
            wanted.emplace();
            for (const auto& rt : *req.topic_partitions) {
                for (int32_t index : rt.partitions) wanted->emplace_back(rt.topic, index);
            }
        }
        auto done = co_await controller->elect_leaders(req.election_type == unclean_election,
                                                       std::move(wanted));
        resp.error_code = to_wire(done.error);
        for (auto& r : done.partitions) {
            if (resp.replica_election_results.empty() ||
                resp.replica_election_results.back().topic != r.topic) {
                resp.replica_election_results.emplace_back().topic = r.topic;
            }
            auto& pr = resp.replica_election_results.back().partition_result.emplace_back();
            pr.partition_id = r.partition;
            pr.error_code = to_wire(r.error);
            pr.error_message = r.message;
        }
        co_return resp;
    }
    if (!req.topic_partitions) co_return resp;
    auto snap = ctx.services.topics().snapshot();
    for (const auto& rt : *req.topic_partitions) {
        auto& tr = resp.replica_election_results.emplace_back();
        tr.topic = rt.topic;
        auto topic = snap->find(rt.topic);
        for (int32_t index : rt.partitions) {
            auto& pr = tr.partition_result.emplace_back();
            pr.partition_id = index;
            if (!topic || index < 0 || index >= topic->partition_count()) {
                pr.error_code = to_wire(error_code::unknown_topic_or_partition);
                pr.error_message = "The partition does not exist.";
                continue;
            }
            pr.error_code = to_wire(error_code::election_not_needed);
            pr.error_message = "Leader election not needed for topic partition.";
        }
    }
    co_return resp;
}

}  // namespace

void register_elect_leaders(dispatch& d) { d.add<api_types<43>>(handle); }

}  // namespace runnel::server
