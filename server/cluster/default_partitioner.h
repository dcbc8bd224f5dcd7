// Kafka's default partitioner for keyed records (murmur2 of the key bytes, positive, modulo the
// partition count): where the broker itself places a keyed record (pipeline sinks, the admin
// API's produce), so consumers and Kafka Streams find keys where a Java producer puts them.
#pragma once

#include <cstdint>
#include <string_view>

namespace runnel::server {

// MurmurHash2 (32-bit) as Kafka's Utils.murmur2 computes it (seed 0x9747b28c).
int32_t kafka_murmur2(std::string_view bytes);

int32_t partition_for_key(std::string_view key, int32_t partitions);

}  // namespace runnel::server
