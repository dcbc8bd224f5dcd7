#include "server/coordinators/groups/group_loader.h"

#include "protocol/end_txn_marker.h"
#include "protocol/record_batch.h"
#include "server/cluster/log_replay.h"
#include "server/core/logger.h"
#include "storage/errors.h"

namespace runnel::server::groups {

void replay_batch(group_coordinator& c, int32_t partition, const protocol::batch_header& h,
                  std::span<const uint8_t> batch, load_stats& stats,
                  std::vector<uint8_t>& scratch) {
    if (h.is_control()) {
        // A transaction marker ends the producer's pending offsets here as it did live
        // (Kafka's loader replays it as replayEndTransactionMarker).
        auto marker = protocol::parse_end_txn_marker(batch);
        if (marker && h.producer_id >= 0) {
            c.replay_marker(partition, h.producer_id,
                            marker->result == protocol::txn_result::commit);
            ++stats.markers;
        } else {
            stats.skipped += h.records_count;
        }
        return;
    }
    // A transactional batch holds TxnOffsetCommit records: pending until its marker.
    const int64_t producer = h.is_transactional() ? h.producer_id : -1;
    bool ok = protocol::for_each_record(
        batch,
        [&](const protocol::record& r) {
            auto decoded = decode_record(r.key, r.value);
            if (!decoded.problem.empty()) {
                server_log().warn("__consumer_offsets-{} offset {}: skipping a record: {}",
                                  partition, r.offset, decoded.problem);
            }
            if (decoded.record) {
                c.replay(partition, *decoded.record, r.offset, producer);
                ++stats.records;
            } else {
                ++stats.skipped;
            }
            return true;
        },
        &scratch);
    if (!ok) {
        server_log().warn("__consumer_offsets-{}: skipping a malformed batch at offset {}",
                          partition, h.base_offset);
    }
}

std::error_code replay_partition(group_coordinator& c, int32_t partition,
                                 const storage::partition_log& log, load_stats* stats) {
    load_stats local;
    load_stats& s = stats ? *stats : local;
    std::vector<uint8_t> scratch;
    return replay_log(
        log,
        [&](const protocol::batch_header& h, std::span<const uint8_t> batch) {
            replay_batch(c, partition, h, batch, s, scratch);
        },
        &s.bytes);
}

}  // namespace runnel::server::groups
