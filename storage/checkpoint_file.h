// Kafka's per-log-dir offset checkpoint files (OffsetCheckpointFile): "recovery-point-offset-
// checkpoint" and "log-start-offset-checkpoint" in every log dir, in Kafka's text format:
//
//     0                      version
//     2                      number of entries
//     orders 0 1234          topic, partition, offset (one entry per line)
//     orders 1 99
//
// The broker collects the values of every partition in a log dir (each from its owner shard) and
// writes the file from one thread; nothing here locks. Writes are atomic (temp file, fdatasync,
// rename, directory fsync), so a crash leaves the old or the new file, never a mix.
#pragma once

#include "storage/errors.h"
#include "storage/partition_dir.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace runnel::storage {

inline constexpr std::string_view recovery_point_checkpoint_file_name =
    "recovery-point-offset-checkpoint";
inline constexpr std::string_view log_start_offset_checkpoint_file_name =
    "log-start-offset-checkpoint";

inline constexpr std::string_view cleaner_offset_checkpoint_file_name = "cleaner-offset-checkpoint";
// Each partition's high watermark (Kafka's replica.high.watermark.checkpoint), so that a restarted
// leader does not start it back at the log start.
inline constexpr std::string_view replication_offset_checkpoint_file_name =
    "replication-offset-checkpoint";

using checkpoint_map = std::map<topic_partition_name, int64_t>;

// The text Kafka writes for `offsets` (sorted by topic, then partition).
std::string format_checkpoint(const checkpoint_map& offsets);
// Parses checkpoint text with the rules of Kafka's reader: empty text (or a version line alone) is
// an empty map; a version other than 0, a malformed line or an entry count that does not match is
// errc::corrupt_metadata. A repeated partition keeps its last value.
result<checkpoint_map> parse_checkpoint(std::string_view text);

// The generic part of Kafka's CheckpointFile, for files with other entries (leader-epoch-
// checkpoint): the entries' fields, each entry exactly `fields` of them; the same rules.
using checkpoint_entry = std::vector<std::string_view>;
result<std::vector<checkpoint_entry>> parse_checkpoint_entries(std::string_view text,
                                                               size_t fields);
// A field as Long.parseLong reads it.
std::optional<int64_t> parse_checkpoint_integer(std::string_view field);
// The file's text; a missing file is empty text.
result<std::string> read_checkpoint_text(const std::filesystem::path& path);

class checkpoint_file {
  public:
    explicit checkpoint_file(std::filesystem::path path) : path_(std::move(path)) {}

    const std::filesystem::path& path() const { return path_; }

    // The entries; a missing file is an empty map. On errc::corrupt_metadata Kafka logs a warning
    // and carries on with an empty map (recovery points 0, log start offsets from the segments).
    result<checkpoint_map> read() const;
    // Replaces the file atomically with exactly `offsets`.
    std::error_code write(const checkpoint_map& offsets) const;

  private:
    std::filesystem::path path_;
};

}  // namespace runnel::storage
