// Where a partition leader's ISR change goes: in a ZooKeeper cluster the leader writes the
// partition's state znode itself, conditional on the version it last read, as Kafka 2.x's
// leaders do (before AlterPartition went through the controller). The controller layer
// (server/controller/zk_isr_writer) implements it; the replication layer's ISR tracker calls it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "server/cluster/replica_state.h"

namespace runnel::server {

class cluster_isr_writer {
  public:
    virtual ~cluster_isr_writer() = default;
    // Writes `isr` as partition `index` of `topic`'s ISR, keeping the rest of `role` (leader,
    // leader epoch, controller epoch), if the state znode is still at role.state_version.
    // Any thread; answers on the caller's executor whether it was written.
    virtual asio::awaitable<bool> write_isr(std::string topic, int32_t index, partition_role role,
                                            std::vector<int32_t> isr) = 0;
};

}  // namespace runnel::server
