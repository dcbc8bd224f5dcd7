// partition_log: producer state across restarts. Like Kafka, a snapshot is written when a segment
// rolls (as of the new segment's base offset) and at close (as of the log end); open loads the
// newest snapshot at or below the log end (or the first offset recovery scanned) and
// replays the batch headers after it: data batches update sequences and open transactions,
// markers close them and, in the scanned segments, put aborted transactions back into .txnindex.
#include "protocol/crc32c.h"
#include "protocol/end_txn_marker.h"
#include "protocol/record_batch_header.h"
#include "storage/log.h"
#include "storage/partition_log.h"

namespace runnel::storage {

namespace bl = protocol::batch_layout;

std::error_code partition_log::load_producer_state(size_t rebuild_first, int64_t rebuild_from) {
    producers_.clear();
    // Snapshots past the log end describe data that was cut off by recovery.
    delete_producer_snapshots(dir_, next_offset_, false);
    // The replay must cover everything scanned to rebuild its .txnindex (Kafka too reloads the
    // producer state as of a recovered segment's base offset before scanning it; here the scan
    // may begin inside the segment, at its recovery point).
    int64_t from = log_start_offset_;
    auto snapshots = list_producer_snapshots(dir_);
    for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
        if (*it > rebuild_from) continue;
        if (*it < log_start_offset_) break;
        auto s = read_producer_snapshot(dir_, *it);
        if (!s) continue;  // torn or corrupt (it is written without a sync): try an older one
        producers_ = std::move(*s);
        from = *it;
        if (from == next_offset_) {
            // Nothing to replay: the file holds the state as it is (written by a clean close).
            auto bytes = producers_.serialize();
            settled_snapshot_offset_ = from;
            settled_snapshot_crc_ = protocol::crc32c(bytes.data(), bytes.size());
        }
        break;
    }
    // Entries of the scanned segments from `from` on come back from the replay. Earlier ones
    // (only when the log start offset lies inside a scanned segment) cannot, so they stay. The
    // old entries are kept aside: one is written back when the marker it names is an abort of
    // the same producer (see replay_marker).
    std::map<int64_t, aborted_txn> old_entries;
    for (size_t i = rebuild_first; i < segments_.size(); ++i) {
        auto& index = segments_[i].txn_index();
        if (!index.last_offset() || *index.last_offset() < from) continue;
        auto entries = index.all();
        if (!entries) return entries.error();
        for (const auto& e : *entries) {
            if (e.last_offset >= from) old_entries[e.last_offset] = e;
        }
        if (auto ec = index.truncate_to(from)) return ec;
    }
    if (from < next_offset_) {
        std::vector<uint8_t> buf;
        for (size_t i = segment_for(from); i < segments_.size(); ++i) {
            auto& seg = segments_[i];
            const bool rebuild = i >= rebuild_first;
            std::error_code failed;
            auto ec =
                seg.for_each_header(std::max(from, seg.base_offset()), [&](const batch_header& h) {
                    if (failed || h.last_offset() < from) return;
                    if (h.attributes & bl::control_bit) {
                        failed = replay_marker(seg, h, rebuild, old_entries, buf);
                        return;
                    }
                    producers_.update(producer_append::of(h), h.base_offset, h.last_offset());
                });
            if (!ec) ec = failed;
            if (ec) return ec;
        }
    }
    producers_.drop_below(log_start_offset_);
    return {};
}

std::error_code partition_log::replay_marker(segment& seg, const batch_header& h, bool rebuild,
                                             const std::map<int64_t, aborted_txn>& old_entries,
                                             std::vector<uint8_t>& buf) {
    if (h.producer_id < 0) return {};
    buf.resize(static_cast<size_t>(h.total_size()));
    if (auto ec = seg.read_bytes(h.position, buf.size(), buf.data())) return ec;
    auto marker = protocol::parse_end_txn_marker(buf);
    if (!marker) return {};  // another control type, or emptied by a cleaner
    marker_append m{h.producer_id, h.producer_epoch, marker->coordinator_epoch,
                    marker->result == protocol::txn_result::commit, h.max_timestamp};
    auto done = producers_.completion(m, h.base_offset);
    // The entry written with this marker, if the old file still has it: it was computed from the
    // whole history, whereas this replay may have begun after the transaction, or another one
    // still open then, began (no snapshot there).
    auto old = old_entries.find(h.base_offset);
    const aborted_txn* written =
        old != old_entries.end() && old->second.producer_id == h.producer_id ? &old->second
                                                                             : nullptr;
    std::optional<aborted_txn> entry;
    if (done && done->aborted) {
        entry =
            aborted_txn{h.producer_id, done->first_offset, h.base_offset, done->last_stable_offset};
        if (written && written->first_offset <= done->first_offset) entry = *written;
    } else if (!done && !m.commit && written) {
        entry = *written;
    }
    if (rebuild && entry) {
        bool created = false;
        if (auto ec = seg.txn_index().append(*entry, &created)) return ec;
        if (created) dir_unsynced_ = true;
    }
    producers_.apply_marker(m, h.base_offset);
    return {};
}

void partition_log::snapshot_producers(bool at_close, bool sync) {
    // Without a sync a crash may leave the file torn: its CRC then fails and open falls back to
    // an older snapshot and a longer replay, so nothing is lost but time.
    // An empty log has nothing to replay and no producers to remember (Kafka writes no snapshot
    // for it either): 100,000 new partitions closed without 100,000 synced files.
    if (next_offset_ == log_start_offset_ && producers_.size() == 0) return;
    auto path = dir_ / segment_file_name(next_offset_, snapshot_suffix);
    auto bytes = producers_.serialize();
    const uint32_t crc = protocol::crc32c(bytes.data(), bytes.size());
    std::error_code exists_ec;
    if (at_close && settled_snapshot_offset_ == next_offset_ && settled_snapshot_crc_ == crc &&
        std::filesystem::exists(path, exists_ec)) {
        return;  // the same state is on disk already (a close with nothing new)
    }
    std::string_view content(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    std::error_code ec =
        sync ? write_file_atomically(path, content) : write_file_quickly(path, content);
    if (ec) {
        storage_log().warn("{}: cannot write producer snapshot: {}", path.string(), ec.message());
    } else if (at_close) {
        // Synced here, or by the caller of close(close_sync::by_caller).
        settled_snapshot_offset_ = next_offset_;
        settled_snapshot_crc_ = crc;
    }
}

}  // namespace runnel::storage
