// Log compaction (cleanup.policy=compact), following Apache Kafka's LogCleaner:
//
// - Only closed segments below the first uncleanable offset are cleaned: that offset is the active
//   segment's base offset, the base offset of the first segment whose largest timestamp is
//   within min.compaction.lag.ms of now, or the base offset of the segment holding the earliest
//   open transaction's first offset, whichever is lowest.
// - A pass starts when dirty bytes / (clean + dirty bytes) >= min.cleanable.dirty.ratio, or when
//   the first dirty segment is older than max.compaction.lag.ms, or when a tombstone's delete
//   horizon has passed. It maps each key of the dirty part [cleaner offset, first uncleanable) to
//   its last offset, then rewrites the segments from the log start to the end of that part, one
//   group of adjacent segments (at most segment.bytes) per step. The map is capped
//   (key_offset_map.h); when it fills, the pass's part ends at the first offset whose key did not
//   fit, so records past it are kept (no later offset is known for them) and the cleaner offset
//   stops there, inside a segment, for the next pass to go on from.
// - Records of aborted transactions (from .txnindex and the abort markers) are not put in the
//   map, as in Kafka's buildOffsetMap.
// - A record is kept when it has a key, and the map has no later offset for that key. A tombstone
//   (null value) is kept until its batch's delete horizon (KIP-534: attribute bit 6 set and
//   base_timestamp = horizon) has passed; a batch with kept tombstones but no horizon gets
//   now + delete.retention.ms when it is rewritten.
// - Offsets never change: a rewritten batch keeps its base offset and last_offset_delta and every
//   header field (producer id/epoch, base sequence, leader epoch, timestamp type, codec,
//   transactional bit); its kept records are re-encoded with their own offset deltas and
//   re-compressed with the batch's codec. A batch whose records all go is dropped, unless it has
//   a producer id: then an empty batch (no records, codec none, same offsets) is kept so the
//   producer's sequence state survives. Control batches are kept as they are.
// - Swap: the group is written to <base>.log.cleaned, fdatasync'ed, renamed to <base>.log.swap,
//   the old segments' files are deleted, and the swap is renamed to <base>.log (directory fsyncs
//   in between); its indexes are rebuilt. The group's .txnindex entries are merged into the first
//   segment's file (same base offset) and synced before the others are deleted. On open,
//   *.cleaned files are deleted and a *.swap file replaces every segment whose base offset lies in
//   its offset range (finishing the swap, the .txnindex merge included).
#pragma once

#include "storage/errors.h"
#include "storage/key_offset_map.h"

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace runnel::storage {

inline constexpr std::string_view cleaned_suffix = ".cleaned";
inline constexpr std::string_view swap_suffix = ".swap";
// Attribute bit 6 of a v2 batch: base_timestamp holds the delete horizon (KIP-534).
inline constexpr int16_t delete_horizon_bit = 0x40;

// State of a cleaning pass between steps.
struct cleaner_pass {
    explicit cleaner_pass(int64_t map_bytes, double load_factor)
        : offset_map(map_bytes, load_factor) {}
    key_offset_map offset_map;  // key -> last offset in [first dirty offset, end_offset)
    // Where the map ends: the first uncleanable offset when the pass started, or the first
    // offset whose key did not fit in the map.
    int64_t end_offset = 0;
    int64_t next_base = 0;     // segments with base offset >= this are still to be cleaned
    int64_t min_horizon = -1;  // smallest delete horizon kept so far in this pass
    int64_t delete_retention_ms = 0;
};

// Finishes or undoes a swap interrupted by a crash, before the segments of `dir` are loaded.
std::error_code recover_interrupted_swaps(const std::filesystem::path& dir);

}  // namespace runnel::storage
