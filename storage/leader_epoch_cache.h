// A partition's leader epochs and the offset each began at (Kafka's LeaderEpochFileCache), kept
// in the partition directory's `leader-epoch-checkpoint` in Kafka's checkpoint format:
//
//     0            version
//     2            number of entries
//     0 0          epoch, start offset (one entry per line, both ascending)
//     3 1200
//
// Followers answer "where does epoch E end in your log?" from it (OffsetForLeaderEpoch, and the
// diverging epoch of a replica Fetch: KIP-101, KIP-279, KIP-595), which tells a replica how
// much of its log to cut after a leader change. Owned by its partition_log; nothing here locks.
#pragma once

#include "storage/errors.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

namespace runnel::storage {

inline constexpr std::string_view leader_epoch_checkpoint_file_name = "leader-epoch-checkpoint";

struct epoch_entry {
    int32_t epoch = -1;
    int64_t start_offset = -1;
    bool operator==(const epoch_entry&) const = default;
};

// Kafka's answer to "where does an epoch end": the epoch found (the requested one or the
// latest before it) and the offset the next epoch starts at; both -1 when unknown.
struct epoch_end {
    int32_t epoch = -1;
    int64_t end_offset = -1;
    bool operator==(const epoch_end&) const = default;
};

class leader_epoch_cache {
  public:
    explicit leader_epoch_cache(std::filesystem::path dir)
        : path_(dir / leader_epoch_checkpoint_file_name) {}

    // Reads the file. A missing file is an empty cache; a corrupt one is logged and read as
    // empty too (Kafka fails the partition instead; an empty cache only costs a follower a
    // truncation to the high watermark).
    void load();

    const std::vector<epoch_entry>& entries() const { return entries_; }
    std::optional<epoch_entry> latest() const {
        if (entries_.empty()) return std::nullopt;
        return entries_.back();
    }
    // Records that `epoch` starts at `start_offset` when it is newer than the latest epoch;
    // entries it contradicts (an epoch as new, or starting at or after it) go first. Writes the
    // file when something changed.
    std::error_code assign(int32_t epoch, int64_t start_offset);
    // Kafka's endOffsetFor: for the latest epoch, the log end offset; for an older one, the
    // start offset of the first epoch after it, with the epoch itself or the latest known
    // before it; an epoch before every entry ends where the first entry starts; an epoch after
    // them all, or -1, is unknown (-1, -1).
    epoch_end end_offset_for(int32_t epoch, int64_t log_end_offset) const;
    // After the log was cut at `end_offset`: entries starting at or after it go.
    std::error_code truncate_from_end(int64_t end_offset);
    // After the log start moved to `start_offset`: entries wholly below it go, and the one it
    // falls in starts there.
    std::error_code truncate_from_start(int64_t start_offset);

  private:
    std::error_code write() const;

    std::filesystem::path path_;
    std::vector<epoch_entry> entries_;  // ascending in both epoch and start offset
};

}  // namespace runnel::storage
