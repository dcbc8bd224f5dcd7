// partition_log: what a replica of a replicated partition does besides what a leader does —
// appending the leader's batches as they are, recording leader epochs, and cutting its log back
// when it diverged from a new leader's (Kafka's follower append and truncateTo, KIP-101/279).
#include "protocol/crc32c.h"
#include "protocol/end_txn_marker.h"
#include "protocol/record_batch_header.h"
#include "storage/file.h"
#include "storage/log.h"
#include "storage/partition_log.h"

namespace runnel::storage {

namespace bl = protocol::batch_layout;

std::error_code partition_log::start_leader_epoch(int32_t epoch) {
    leader_epoch_ = epoch;
    return epochs_.assign(epoch, next_offset_);
}

epoch_end partition_log::end_offset_for(int32_t epoch) const {
    if (epochs_.entries().empty()) {
        if (epoch == leader_epoch_) return {epoch, next_offset_};
        return {};
    }
    return epochs_.end_offset_for(epoch, next_offset_);
}

result<append_info> partition_log::append_replicated(std::span<const uint8_t> batches) {
    if (closed_) return make_error_code(errc::log_closed);
    if (batches.empty()) return make_error_code(errc::invalid_batch);

    // Check everything first: framing, offsets continuing the log, CRCs.
    int64_t expected = next_offset_;
    int64_t records = 0;
    int64_t max_ts = no_timestamp;
    int64_t offset_of_max_ts = -1;
    for (size_t pos = 0; pos < batches.size();) {
        const size_t left = batches.size() - pos;
        if (left < bl::header_size) return make_error_code(errc::invalid_batch);
        const uint8_t* p = batches.data() + pos;
        auto h = parse_batch_header(p, static_cast<int64_t>(pos));
        if (!h || static_cast<uint64_t>(h->total_size()) > left || h->base_offset != expected)
            return make_error_code(errc::invalid_batch);
        const size_t covered_from = bl::crc + 4;
        const uint32_t crc =
            protocol::crc32c(p + covered_from, static_cast<size_t>(h->total_size()) - covered_from);
        if (crc != h->crc) return make_error_code(errc::invalid_batch);
        if (h->max_timestamp > max_ts) {
            max_ts = h->max_timestamp;
            offset_of_max_ts = h->last_offset();
        }
        records += h->records_count;
        expected = h->last_offset() + 1;
        pos += static_cast<size_t>(h->total_size());
    }
    const int64_t first_offset = next_offset_;
    const int64_t last_offset = expected - 1;

    const int64_t now = now_ms();
    auto rolled = roll_if_needed(static_cast<int64_t>(batches.size()), last_offset, now);
    if (!rolled) return rolled.error();
    auto& seg = segments_.back();
    if (auto ec = seg.append(batches, last_offset, max_ts, offset_of_max_ts, now)) return ec;
    next_offset_ = last_offset + 1;

    // The producer state, the transaction index and the epochs follow what was written.
    std::vector<uint8_t> buf;
    const std::map<int64_t, aborted_txn> no_old_entries;
    for (size_t pos = 0; pos < batches.size();) {
        auto h = parse_batch_header(batches.data() + pos, static_cast<int64_t>(pos));
        if (h->partition_leader_epoch >= 0) {
            if (auto ec = epochs_.assign(h->partition_leader_epoch, h->base_offset)) return ec;
        }
        if (h->attributes & bl::control_bit) {
            batch_header in_segment = *h;
            in_segment.position =
                seg.size() - static_cast<int64_t>(batches.size()) + static_cast<int64_t>(pos);
            if (auto ec = replay_marker(seg, in_segment, true, no_old_entries, buf)) return ec;
        } else {
            producers_.update(producer_append::of(*h), h->base_offset, h->last_offset());
        }
        pos += static_cast<size_t>(h->total_size());
    }
    leader_epoch_ = epochs_.latest() ? epochs_.latest()->epoch : leader_epoch_;
    return appended(first_offset, last_offset, records, std::nullopt, now, *rolled);
}

result<int64_t> partition_log::truncate_to(int64_t offset) {
    if (closed_) return make_error_code(errc::log_closed);
    if (offset >= next_offset_) return int64_t{0};
    int64_t dropped = 0;
    const int64_t first_base = segments_.front().base_offset();
    if (offset <= log_start_offset_ || offset <= first_base) {
        // Nothing below the cut stays: start again, empty, at `offset` (Kafka's
        // truncateFullyAndStartAt).
        for (auto& seg : segments_) {
            dropped += seg.size();
            if (auto ec = seg.remove()) return ec;
        }
        segments_.clear();
        auto seg = segment::create(dir_, offset, options(), now_ms());
        if (!seg) return seg.error();
        segments_.push_back(std::move(*seg));
        log_start_offset_ = offset;
    } else {
        // Segments wholly past the cut go; the one holding it is cut inside (to nothing when
        // it starts there: it stays as the empty active segment).
        const size_t keep = segment_for(offset);
        for (size_t j = segments_.size(); j-- > keep + 1;) {
            dropped += segments_[j].size();
            if (auto ec = segments_[j].remove()) return ec;
            segments_.pop_back();
        }
        auto cut = segments_.back().truncate_to(offset);
        if (!cut) return cut.error();
        dropped += *cut;
    }
    dir_unsynced_ = true;
    if (auto ec = sync_directory(dir_)) return ec;
    dir_unsynced_ = false;
    next_offset_ = segments_.back().next_offset().value_or(segments_.back().base_offset());
    recovery_point_ = std::min(recovery_point_, next_offset_);
    cleaner_offset_ = std::clamp(cleaner_offset_, log_start_offset_, next_offset_);
    settled_snapshot_offset_ = -1;
    // The producer state as of the cut: the newest snapshot at or below it, then the batches
    // after that (load_producer_state drops the snapshots past the log end first).
    if (auto ec = load_producer_state(segments_.size(), next_offset_)) return ec;
    if (auto ec = epochs_.truncate_from_end(next_offset_)) return ec;
    storage_log().info("{}: truncated to offset {} ({} bytes cut); log end offset {}",
                       dir_.string(), offset, dropped, next_offset_);
    return dropped;
}

}  // namespace runnel::storage
