// ListPartitionReassignments (46, KIP-455): the replica moves in progress. A single node has one
// replica per partition and nothing to move, so the answer is always empty; topics asked for
// that do not exist are left out, as Kafka's controller does.
#include "protocol/messages/list_partition_reassignments.h"

#include "server/kafka/dispatch.h"

namespace runnel::server {

using namespace protocol::msg;

namespace {

asio::awaitable<std::optional<list_partition_reassignments_response>> handle(
    request_context&, list_partition_reassignments_request) {
    co_return list_partition_reassignments_response{};
}

}  // namespace

void register_list_partition_reassignments(dispatch& d) { d.add<api_types<46>>(handle); }

}  // namespace runnel::server
