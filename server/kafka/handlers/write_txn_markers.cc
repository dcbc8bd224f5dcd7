// WriteTxnMarkers (27): a transaction coordinator on another broker of the cluster hands this
// broker, the leader of some of a transaction's partitions, the commit or abort marker to write
// there (Kafka's coordinators send it to every leader; Runnel's write their own partitions'
// markers directly). Each partition is answered once its marker is in every in-sync replica.
#include "protocol/messages/write_txn_markers.h"

#include <map>
#include <set>

#include "protocol/errors.h"
#include "server/coordinators/transactions/transaction_coordinator_set.h"
#include "server/coordinators/transactions/transaction_markers.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;
using transactions::topic_partition;

namespace {

asio::awaitable<std::optional<write_txn_markers_response>> handle(request_context& ctx,
                                                                  write_txn_markers_request req) {
    write_txn_markers_response resp;
    for (const auto& m : req.markers) {
        transactions::transaction_marker marker;
        marker.producer_id = m.producer_id;
        marker.producer_epoch = m.producer_epoch;
        marker.commit = m.transaction_result;
        marker.coordinator_epoch = m.coordinator_epoch;
        std::set<topic_partition> partitions;
        for (const auto& t : m.topics) {
            for (int32_t p : t.partition_indexes) partitions.insert({t.name, p});
        }
        std::map<topic_partition, error_code> answers;
        if (m.producer_id < 0 || m.producer_epoch < 0) {
            for (const auto& tp : partitions) answers[tp] = error_code::invalid_request;
        } else {
            answers = co_await transactions::write_markers_here(
                ctx.services.cluster(), ctx.services.groups(), ctx.home.id(), marker, partitions);
        }
        auto& r = resp.markers.emplace_back();
        r.producer_id = m.producer_id;
        for (const auto& t : m.topics) {
            auto& rt = r.topics.emplace_back();
            rt.name = t.name;
            std::set<int32_t> seen;
            for (int32_t p : t.partition_indexes) {
                if (!seen.insert(p).second) continue;
                auto& rp = rt.partitions.emplace_back();
                rp.partition_index = p;
                auto it = answers.find({t.name, p});
                rp.error_code =
                    to_wire(it == answers.end() ? error_code::unknown_server_error : it->second);
            }
        }
    }
    co_return resp;
}

}  // namespace

void register_write_txn_markers(dispatch& d) { d.add<api_types<27>>(handle); }

}  // namespace runnel::server
