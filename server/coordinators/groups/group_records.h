// The records of __consumer_offsets, in Kafka's format so Kafka's tools can read our log:
//   key   = [int16 key version][key struct]; the key version is the record type:
//           0, 1 = offset commit (OffsetCommitKey), 2 = classic group metadata (GroupMetadataKey),
//           3-8, 16 = KIP-848 consumer group records (consumer_group_records.h);
//           other types (share and streams groups) are skipped on load
//   value = [int16 value version][value struct], or null for a tombstone.
// Written as Kafka 4.0 writes them: OffsetCommitKey v1 + OffsetCommitValue v3 (v1 when the commit
// carried a retention time), GroupMetadataKey v2 + GroupMetadataValue v3. Every version is read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "protocol/messages/group_metadata_key.h"
#include "protocol/messages/group_metadata_value.h"
#include "protocol/messages/offset_commit_key.h"
#include "protocol/messages/offset_commit_value.h"
#include "protocol/record_batch.h"
#include "server/coordinators/groups/consumer_group_records.h"

namespace runnel::server::groups {

class classic_group;

// A committed offset as the coordinator keeps it.
struct offset_entry {
    int64_t offset = -1;
    int32_t leader_epoch = -1;
    std::string metadata;
    int64_t commit_timestamp = -1;
    std::optional<int64_t> expire_timestamp;  // only from OffsetCommit v2-4 retention times
    // Offset of the record in __consumer_offsets (-1: unknown). A committed transaction's offset
    // replaces the committed one only when its record is newer (Kafka's recordOffset), so a
    // plain commit written while the transaction was open is not undone by the marker.
    int64_t record_offset = -1;
    bool operator==(const offset_entry&) const = default;
};

// topic → partition → offset
using offsets_by_topic = std::map<std::string, std::map<int32_t, offset_entry>>;

struct offset_commit_record {
    protocol::msg::offset_commit_key key;
    std::optional<protocol::msg::offset_commit_value> value;  // nullopt: tombstone
    int16_t key_version = 1;
    int16_t value_version = 3;
};

struct group_metadata_record {
    protocol::msg::group_metadata_key key;
    std::optional<protocol::msg::group_metadata_value> value;  // nullopt: tombstone
    int16_t value_version = 3;
};

using group_record =
    std::variant<offset_commit_record, group_metadata_record, consumer_group_record>;

// The record's key and value bytes (timestamp = `timestamp_ms`).
protocol::record_input encode_record(const group_record& r, int64_t timestamp_ms);

struct decoded_record {
    std::optional<group_record> record;  // nullopt for record types Runnel does not handle
    std::string problem;                 // non-empty when the bytes are malformed
};
decoded_record decode_record(std::optional<std::span<const uint8_t>> key,
                             std::optional<std::span<const uint8_t>> value);

// The records Kafka's coordinator writes.
group_record offset_commit(const std::string& group, const std::string& topic, int32_t partition,
                           const offset_entry& e);
group_record offset_tombstone(const std::string& group, const std::string& topic,
                              int32_t partition);
// Members with the chosen protocol's metadata and `assignment` (missing → empty).
group_record group_metadata(const classic_group& g,
                            const std::map<std::string, std::vector<uint8_t>>& assignment);
// A group without members: generation 0, no protocol, no leader (a group's first record).
group_record empty_group_metadata(const classic_group& g);
group_record group_tombstone(const std::string& group);

offset_entry to_offset_entry(const protocol::msg::offset_commit_value& v);

}  // namespace runnel::server::groups
