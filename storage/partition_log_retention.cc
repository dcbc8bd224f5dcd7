// partition_log: deleting old segments (retention.ms, retention.bytes) and DeleteRecords, following
// Kafka's UnifiedLog.deleteOldSegments and maybeIncrementLogStartOffset.
#include "storage/file.h"
#include "storage/log.h"
#include "storage/partition_log.h"

namespace runnel::storage {

std::error_code partition_log::delete_front_segments(size_t n, std::string_view reason) {
    // Raise the log start offset before the segments go, so no read can land in them.
    log_start_offset_ = std::max(log_start_offset_, segments_[n].base_offset());
    std::error_code first;
    for (size_t i = 0; i < n; ++i) {
        storage_log().info("{}: deleting segment {} ({} bytes): {}", dir_.string(),
                           segments_[i].base_offset(), segments_[i].size(), reason);
        if (auto ec = segments_[i].remove(); ec && !first) first = ec;
    }
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(n));
    // Producers whose batches all went are forgotten, and so are snapshots no reload needs.
    producers_.drop_below(log_start_offset_);
    delete_producer_snapshots(dir_, segments_.front().base_offset(), true);
    if (auto ec = sync_directory(dir_); ec && !first) first = ec;
    return first;
}

result<retention_result> partition_log::delete_old_segments(int64_t now_ms, int64_t retention_ms,
                                                            int64_t retention_bytes) {
    if (closed_) return make_error_code(errc::log_closed);
    retention_result r;
    // Deletes segments_[0, n). n may include the active segment (only when it holds data and
    // breaches the rule itself): then, as Kafka's deleteSegments does, a new empty active segment
    // is rolled at the log end first, so the log keeps one segment and starts at its end.
    auto remove = [&](size_t n, std::string_view reason) -> std::error_code {
        if (n == 0) return {};
        if (n == segments_.size()) {
            if (auto ec = roll(now_ms)) return ec;  // nothing deleted; retried next check
            storage_log().info("{}: rolled segment {} so that retention can delete the active one",
                               dir_.string(), next_offset_);
        }
        for (size_t i = 0; i < n; ++i) {
            r.deleted_segments.push_back(segments_[i].base_offset());
            r.deleted_bytes += segments_[i].size();
        }
        return delete_front_segments(n, reason);
    };
    // Every rule walks from the oldest segment and stops at the first one it keeps. The active
    // segment (segments_.back()) counts only when it is not empty.
    auto may_consider = [&](size_t n) {  // may segments_[n] be looked at by a rule?
        return n + 1 < segments_.size() || (n + 1 == segments_.size() && !segments_[n].empty());
    };

    // Segments wholly below the log start offset (left by DeleteRecords); never the active one,
    // which is where the log goes on.
    size_t n = 0;
    while (n + 1 < segments_.size() && segments_[n + 1].base_offset() <= log_start_offset_) ++n;
    if (auto ec = remove(n, "below the log start offset")) return ec;

    // retention.bytes: delete a segment only if the log stays >= retention_bytes without it.
    if (retention_bytes >= 0) {
        int64_t excess = size_bytes() - retention_bytes;
        n = 0;
        while (may_consider(n) && excess >= segments_[n].size()) {
            excess -= segments_[n].size();
            ++n;
        }
        if (auto ec = remove(n, "retention.bytes exceeded")) return ec;
    }

    // retention.ms: the segment's largest timestamp is more than retention_ms old.
    if (retention_ms >= 0) {
        n = 0;
        while (may_consider(n)) {
            auto largest = segments_[n].largest_timestamp();
            if (!largest) return largest.error();
            if (now_ms - *largest <= retention_ms) break;
            ++n;
        }
        if (auto ec = remove(n, "retention.ms exceeded")) return ec;
    }
    r.log_start_offset = log_start_offset_;
    return r;
}

result<int64_t> partition_log::delete_records_before(int64_t offset) {
    if (closed_) return make_error_code(errc::log_closed);
    if (offset < 0 || offset > next_offset_) return make_error_code(errc::offset_out_of_range);
    if (offset > log_start_offset_) {
        storage_log().info("{}: log start offset {} -> {} (DeleteRecords)", dir_.string(),
                           log_start_offset_, offset);
        log_start_offset_ = offset;
        producers_.drop_below(log_start_offset_);
    }
    size_t n = 0;
    while (n + 1 < segments_.size() && segments_[n + 1].base_offset() <= log_start_offset_) ++n;
    if (n > 0) {
        if (auto ec = delete_front_segments(n, "below the log start offset (DeleteRecords)"))
            return ec;
    }
    return log_start_offset_;
}

}  // namespace runnel::storage
