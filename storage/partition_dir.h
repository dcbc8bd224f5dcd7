// Partition directories as Apache Kafka lays them out: <log.dir>/<topic>-<partition>/ holding the
// segments and a partition.metadata file with the topic id.
#pragma once

#include "protocol/codec.h"
#include "storage/errors.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace runnel::storage {

inline constexpr std::string_view partition_metadata_file_name = "partition.metadata";

struct topic_partition_name {
    std::string topic;
    int32_t partition = 0;
    bool operator==(const topic_partition_name&) const = default;
    auto operator<=>(const topic_partition_name&) const = default;
};

// Kafka's legal topic names: 1..249 characters from [a-zA-Z0-9._-], not "." or "..".
bool is_valid_topic_name(std::string_view topic);

// "<topic>-<partition>".
std::string partition_dir_name(std::string_view topic, int32_t partition);
// Splits at the LAST '-' (topics may contain '-'). The partition must be a plain non-negative
// decimal int32 without leading zeros, the topic a legal topic name; otherwise nullopt.
std::optional<topic_partition_name> parse_partition_dir_name(std::string_view name);

// Topic ids as Kafka prints them (Uuid.toString): base64url of the 16 bytes, no padding.
std::string topic_id_to_string(const protocol::uuid& id);
// Accepts 22 base64url characters (or 24 ending in "=="); nullopt otherwise.
std::optional<protocol::uuid> topic_id_from_string(std::string_view s);

// Writes "version: 0\ntopic_id: <id>" (byte for byte what Kafka writes) via a temp file, fsync
// and rename, then syncs the directory. With `synced` false nothing is synced: for a file that
// can be written again from the topic table when a crash loses or tears it.
std::error_code write_partition_metadata(const std::filesystem::path& partition_dir,
                                         const protocol::uuid& topic_id, bool synced = true);
// Reads partition.metadata. A missing file is std::errc::no_such_file_or_directory, a malformed
// one (or the zero id) errc::corrupt_metadata.
result<protocol::uuid> read_partition_metadata(const std::filesystem::path& partition_dir);

// The log dir holding the fewest partition directories (the first such on ties). Unreadable dirs
// are skipped; errc::io_error when none is usable.
result<std::filesystem::path> choose_log_dir(const std::vector<std::filesystem::path>& log_dirs);

struct partition_dir_info {
    std::string topic;
    int32_t partition = 0;
    std::filesystem::path path;
    std::optional<protocol::uuid> topic_id;  // nullopt when partition.metadata is missing or bad
};

// Every partition directory in the log dirs, in log dir order then by (topic, partition). Files,
// names that do not parse, and Kafka's "-delete", "-future" and "-stray" dirs are skipped.
std::vector<partition_dir_info> scan_log_dirs(const std::vector<std::filesystem::path>& log_dirs);

}  // namespace runnel::storage
