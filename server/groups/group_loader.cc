#include "server/groups/group_loader.h"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/end_txn_marker.h"
#include "protocol/record_batch.h"
#include "server/log.h"
#include "storage/errors.h"

namespace runnel::server::groups {

namespace {

constexpr size_t chunk_bytes = size_t{1} << 20;

// Replays the batches of one read starting at `next`; advances `next`. Sets `done` at the end.
std::error_code replay_chunk(group_coordinator& c, int32_t partition,
                             const storage::partition_log& log, int64_t& next, bool& done,
                             load_stats& stats, std::vector<uint8_t>& scratch) {
    if (next < log.log_start_offset()) next = log.log_start_offset();
    if (next >= log.log_end_offset()) {
        done = true;
        return {};
    }
    auto read = log.read(next, chunk_bytes, true);
    if (!read) return read.error();
    if (read->empty()) {
        done = true;
        return {};
    }
    std::span<const uint8_t> bytes(*read->bytes);
    stats.bytes += static_cast<int64_t>(bytes.size());
    size_t pos = 0;
    while (pos < bytes.size()) {
        auto h = protocol::parse_batch_header(bytes.subspan(pos));
        if (!h || h->total_size() > static_cast<int64_t>(bytes.size() - pos)) break;
        auto batch = bytes.subspan(pos, static_cast<size_t>(h->total_size()));
        pos += batch.size();
        if (h->is_control()) {
            // A transaction marker ends the producer's pending offsets here as it did live
            // (Kafka's loader replays it as replayEndTransactionMarker).
            auto marker = protocol::parse_end_txn_marker(batch);
            if (marker && h->producer_id >= 0) {
                c.replay_marker(partition, h->producer_id,
                                marker->result == protocol::txn_result::commit);
                ++stats.markers;
            } else {
                stats.skipped += h->records_count;
            }
            continue;
        }
        // A transactional batch holds TxnOffsetCommit records: pending until its marker.
        const int64_t producer = h->is_transactional() ? h->producer_id : -1;
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
                              partition, h->base_offset);
        }
    }
    next = read->next_offset;
    return {};
}

}  // namespace

std::error_code replay_partition(group_coordinator& c, int32_t partition,
                                 const storage::partition_log& log, load_stats* stats) {
    load_stats local;
    load_stats& s = stats ? *stats : local;
    std::vector<uint8_t> scratch;
    int64_t next = log.log_start_offset();
    bool done = false;
    while (!done) {
        if (auto ec = replay_chunk(c, partition, log, next, done, s, scratch)) return ec;
    }
    return {};
}

boost::asio::awaitable<std::error_code> replay_partition_async(group_coordinator& c,
                                                               int32_t partition,
                                                               const storage::partition_log& log,
                                                               load_stats* stats) {
    load_stats local;
    load_stats& s = stats ? *stats : local;
    std::vector<uint8_t> scratch;
    int64_t next = log.log_start_offset();
    bool done = false;
    auto executor = co_await boost::asio::this_coro::executor;
    while (!done) {
        if (auto ec = replay_chunk(c, partition, log, next, done, s, scratch)) co_return ec;
        if (!done) co_await boost::asio::post(executor, boost::asio::use_awaitable);
    }
    co_return std::error_code{};
}

}  // namespace runnel::server::groups
