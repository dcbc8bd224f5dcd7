// group_coordinator: TxnOffsetCommit and the end of a transaction's offsets (Kafka's
// OffsetMetadataManager.commitTransactionalOffset and replayEndTransactionMarker).
#include "server/coordinators/groups/commit_requests.h"
#include "server/coordinators/groups/group_coordinator.h"
#include "server/core/logger.h"

namespace runnel::server::groups {

using protocol::error_code;
namespace msg = protocol::msg;

msg::txn_offset_commit_response group_coordinator::txn_commit_offsets(
    int32_t partition, const msg::txn_offset_commit_request& req) {
    auto resp = answer_each_partition<msg::txn_offset_commit_response>(req);
    auto fail_all = [&](error_code e) {
        answer_all(resp, e);
        return resp;
    };
    partition_state* ps = state_of(partition);
    if (!ps || ps->loading) return fail_all(error_code::coordinator_load_in_progress);
    // Without a producer id the batch could not be told from a plain commit on replay. Kafka's
    // transaction verification answers a producer id unknown to the transaction so.
    if (req.producer_id < 0 || req.producer_epoch < 0)
        return fail_all(error_code::invalid_producer_id_mapping);
    // The generation, member and instance ids are v3+ (KIP-447); older requests carry the
    // defaults (-1, "", null), which pass as a commit without group management.
    if (auto e = validate_commit(*ps, partition, req.group_id, req.member_id, req.group_instance_id,
                                 req.generation_id_or_member_epoch, 0, true);
        e != error_code::none) {
        return fail_all(e);
    }
    const int64_t now = timers_.now_ms();
    auto records =
        commit_records(req, resp, config_.offset_metadata_max_bytes,
                       [now](offset_entry& e, const auto&) { e.commit_timestamp = now; });
    // One batch of the producer's (Kafka's coordinator writes it so): the log checks the epoch,
    // and the batch joins the producer's transaction in this partition, so the marker the
    // transaction coordinator writes later ends it.
    const txn_producer producer{req.producer_id, req.producer_epoch};
    if (auto ec = write(partition, records, true, producer))
        answer_all(resp, append_error_to_response(ec), true);
    return resp;
}

void group_coordinator::complete_transaction(int32_t partition, int64_t producer_id, bool commit) {
    partition_state* ps = state_of(partition);
    // While loading, the loader reaches the marker in the log and applies it in order.
    if (!ps || ps->loading) return;
    end_transaction(partition, *ps, producer_id, commit);
}

void group_coordinator::end_transaction(int32_t partition, partition_state& ps, int64_t producer_id,
                                        bool commit) {
    pending_offsets::by_group ended = ps.pending.take(producer_id);
    if (!commit || ended.empty()) return;
    for (const auto& [group, topics] : ended) {
        for (const auto& [topic, parts] : topics) {
            for (const auto& [p, e] : parts) {
                const offset_entry* current = nullptr;
                if (const offsets_by_topic* offsets = offsets_of(partition, group)) {
                    if (auto t = offsets->find(topic); t != offsets->end()) {
                        if (auto it = t->second.find(p); it != t->second.end())
                            current = &it->second;
                    }
                }
                // The newer record wins, whatever was committed how (Kafka's rule; it also keeps
                // the outcome right after __consumer_offsets itself was compacted).
                if (current && e.record_offset <= current->record_offset) {
                    server_log().debug(
                        "__consumer_offsets-{}: group {} {}-{}: producer {} committed offset {} "
                        "(record {}) but a newer commit (record {}) stays",
                        partition, group, topic, p, producer_id, e.offset, e.record_offset,
                        current->record_offset);
                    continue;
                }
                put_committed(ps, group, topic, p, e);
            }
        }
    }
}

}  // namespace runnel::server::groups
