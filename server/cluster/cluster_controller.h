// The controller's side of Kafka's controlled shutdown, as the ControlledShutdown API reaches it.
// In a ZooKeeper cluster the controller layer (server/controller/zk_cluster) implements it and
// registers itself with cluster_context; a single node has none.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
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

class cluster_controller {
  public:
    virtual ~cluster_controller() = default;
    // Moves the leadership of `broker`'s partitions to other live replicas of their ISR and
    // takes it out of every ISR, as Kafka's controller does before a broker stops; answers once
    // written. NOT_CONTROLLER unless this broker is the controller. Any shard.
    virtual boost::asio::awaitable<controlled_shutdown_result> controlled_shutdown(
        int32_t broker) = 0;
};

}  // namespace runnel::server
