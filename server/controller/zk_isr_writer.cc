#include "server/controller/zk_isr_writer.h"

#include "server/core/cross_shard.h"
#include "server/core/logger.h"
#include "server/zookeeper/kafka_znodes.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace runnel::server {

using namespace zookeeper;

asio::awaitable<bool> zk_isr_writer::write_isr(std::string topic, int32_t index,
                                               partition_role role, std::vector<int32_t> isr) {
    auto task = [this, topic, index, role, isr]() { return write_here(topic, index, role, isr); };
    co_return co_await on_shard(cluster_.metadata_shard(), task);
}

asio::awaitable<bool> zk_isr_writer::write_here(std::string topic, int32_t index,
                                                partition_role role, std::vector<int32_t> isr) {
    partition_state state;
    state.leader = role.leader;
    state.leader_epoch = role.leader_epoch;
    state.isr = isr;
    state.controller_epoch = role.controller_epoch;
    const std::string path = paths::partition_state(topic, index);
    zk_code written = co_await zk_.set(path, state.to_json(), role.state_version);
    if (!written.ok()) {
        // A version conflict: the controller (or an earlier change of ours) wrote first; the
        // state topic_sync reads next decides, and the leader tries again from there.
        server_log().info("ISR of {}-{} not changed to {}: {}", topic, index,
                          fmt::format("[{}]", fmt::join(isr, ",")), written.text());
        co_return false;
    }
    server_log().info("ISR of {}-{} changed from [{}] to [{}] (leader {}, epoch {})", topic, index,
                      fmt::join(role.isr, ","), fmt::join(isr, ","), role.leader,
                      role.leader_epoch);
    co_return true;
}

}  // namespace runnel::server
