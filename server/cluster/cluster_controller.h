// The controller's side of Kafka's controlled shutdown, as the ControlledShutdown API reaches it.
// In a ZooKeeper cluster the controller layer (server/controller/zk_cluster) implements it and
// registers itself with cluster_context; a single node has none.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/errors.h"

namespace runnel::server {

struct controlled_shutdown_result {
    protocol::error_code error = protocol::error_code::none;
    // Partitions `broker` still leads: no other live replica in their ISR.
    std::vector<std::pair<std::string, int32_t>> remaining;
};

// One partition's outcome of ElectLeaders.
struct election_result {
    std::string topic;
    int32_t partition = 0;
    protocol::error_code error = protocol::error_code::none;
    std::optional<std::string> message;
};

struct elect_leaders_result {
    protocol::error_code error = protocol::error_code::none;  // NOT_CONTROLLER
    std::vector<election_result> partitions;
};

class cluster_controller {
  public:
    virtual ~cluster_controller() = default;
    // Moves the leadership of `broker`'s partitions to other live replicas of their ISR and
    // takes it out of every ISR, as Kafka's controller does before a broker stops; answers once
    // written. NOT_CONTROLLER unless this broker is the controller. Any shard.
    virtual boost::asio::awaitable<controlled_shutdown_result> controlled_shutdown(
        int32_t broker) = 0;
    // Kafka's ElectLeaders on the controller: for `partitions` (nullopt: every partition, and
    // only those where an election happened are answered), the preferred replica (the first of
    // the assignment) leads if it is alive and in the ISR; with `unclean`, a partition without a
    // live leader gets one, from outside the ISR if need be. Each outcome is Kafka's error:
    // ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE,
    // UNKNOWN_TOPIC_OR_PARTITION.
    virtual boost::asio::awaitable<elect_leaders_result> elect_leaders(
        bool unclean, std::optional<std::vector<std::pair<std::string, int32_t>>> partitions) = 0;
};

}  // namespace runnel::server
