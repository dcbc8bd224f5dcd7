// Where a new topic's replicas go: Kafka's rack-unaware assignment (AdminUtils), so that a
// topic created through any broker spreads as kafka-topics.sh --zookeeper spreads it: leaders
// round-robin over the brokers from a random start, each partition's followers on the next
// brokers at a shift that moves every time the partitions wrap around the brokers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace runnel::server {

// `brokers` sorted; requires 0 < replication_factor <= brokers.size() and partitions > 0.
// `start` and `shift` are Kafka's random start index and replica shift (any values; taken
// modulo the broker count). `first_partition` is the id of the first partition placed: the leaders
// of partitions added to a topic go on round the brokers (Kafka passes the existing count, and as
// start and shift the index of the broker leading partition 0).
std::vector<std::vector<int32_t>> assign_replicas(const std::vector<int32_t>& brokers,
                                                  int32_t partitions, int32_t replication_factor,
                                                  uint32_t start, uint32_t shift,
                                                  int32_t first_partition = 0);

// Kafka's rack-aware assignment, for brokers that all have a rack: the brokers are listed
// alternating between racks (each rack's in id order, racks by name), leaders go round that list
// as above, and each follower goes to the next broker at the partition's shift that is on a rack
// without a replica of the partition yet (while there is one) and has none itself. `racks` maps
// each broker to its rack.
std::vector<std::vector<int32_t>> assign_replicas_rack_aware(
    const std::map<int32_t, std::string>& racks, int32_t partitions, int32_t replication_factor,
    uint32_t start, uint32_t shift, int32_t first_partition = 0);

// The rack-alternated broker list the rack-aware assignment goes round.
std::vector<int32_t> rack_alternated_brokers(const std::map<int32_t, std::string>& racks);

}  // namespace runnel::server
