// The __consumer_offsets topic: which partition coordinates a group, and how the topic is created.
#pragma once

#include <cstdint>
#include <string_view>

#include "server/cluster/topic_admin.h"

namespace runnel::server {
struct broker_config;
}

namespace runnel::server::groups {

inline constexpr std::string_view offsets_topic_name = "__consumer_offsets";

// Java's String.hashCode() of `utf8` decoded to UTF-16 code units (malformed UTF-8 decodes to
// U+FFFD per bad byte, close to Java's decoder).
int32_t java_string_hash(std::string_view utf8);

// Kafka's partitionFor: Utils.abs(groupId.hashCode()) % partitions, where Utils.abs maps
// Integer.MIN_VALUE to 0.
int32_t partition_for_group(std::string_view group_id, int32_t partitions);

// CreateTopics spec for __consumer_offsets: offsets.topic.num.partitions partitions, replication
// factor 1 (a single node cannot do more), cleanup.policy=compact,
// segment.bytes=offsets.topic.segment.bytes, compression.type=producer (Kafka's settings; the
// coordinator writes uncompressed batches).
new_topic offsets_topic_spec(const broker_config& c);

}  // namespace runnel::server::groups
