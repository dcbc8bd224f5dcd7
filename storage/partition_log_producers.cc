// partition_log: idempotent producers' state across restarts. Like Kafka, a snapshot is written
// when a segment rolls (as of the new segment's base offset) and at close (as of the log end);
// open loads the newest snapshot at or below the log end and replays the batch headers after it.
#include "storage/log.h"
#include "storage/partition_log.h"

namespace runnel::storage {

std::error_code partition_log::load_producer_state() {
    producers_.clear();
    // Snapshots past the log end describe data that was cut off by recovery.
    delete_producer_snapshots(dir_, next_offset_, false);
    int64_t from = log_start_offset_;
    auto snapshots = list_producer_snapshots(dir_);
    for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
        if (*it < log_start_offset_) break;
        auto s = read_producer_snapshot(dir_, *it);
        if (!s) continue;  // torn or corrupt (it is written without a sync): try an older one
        producers_ = std::move(*s);
        from = *it;
        break;
    }
    if (from < next_offset_) {
        for (size_t i = segment_for(from); i < segments_.size(); ++i) {
            auto ec = segments_[i].for_each_header(std::max(from, segments_[i].base_offset()),
                                                   [this, from](const batch_header& h) {
                                                       if (h.last_offset() < from) return;
                                                       producers_.update(producer_append::of(h),
                                                                         h.base_offset,
                                                                         h.last_offset());
                                                   });
            if (ec) return ec;
        }
    }
    producers_.drop_below(log_start_offset_);
    return {};
}

void partition_log::snapshot_producers(bool sync) {
    // Without a sync a crash may leave the file torn: its CRC then fails and open falls back to
    // an older snapshot and a longer replay, so nothing is lost but time.
    auto path = dir_ / segment_file_name(next_offset_, snapshot_suffix);
    auto bytes = producers_.serialize();
    std::string_view content(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    std::error_code ec = sync ? write_file_atomically(path, content) : write_file_quickly(path, content);
    if (ec) storage_log().warn("{}: cannot write producer snapshot: {}", path.string(), ec.message());
}

}  // namespace runnel::storage
