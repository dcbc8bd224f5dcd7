// Which partition of a sink topic a pipeline's record goes to: Kafka's default partitioner for
// keyed records (murmur2 of the key bytes, positive, modulo the partition count), so consumers
// and Kafka Streams find keys where a Java producer would have put them.
#pragma once

#include <cstdint>
#include <string_view>

namespace runnel::server::pipelines {

// MurmurHash2 (32-bit) as Kafka's Utils.murmur2 computes it (seed 0x9747b28c).
int32_t kafka_murmur2(std::string_view bytes);

int32_t partition_for_key(std::string_view key, int32_t partitions);

}  // namespace runnel::server::pipelines
