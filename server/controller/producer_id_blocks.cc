#include "server/controller/producer_id_blocks.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "server/cluster/producer_ids.h"
#include "server/core/logger.h"
#include "server/zookeeper/kafka_znodes.h"

namespace runnel::server {

using namespace zookeeper;

void producer_id_blocks::start() {
    cluster_.producer_ids().use_cluster_blocks([this] {
        asio::co_spawn(zk_.executor(), take_block(), log_failure("taking producer ids"));
    });
}

asio::awaitable<void> producer_id_blocks::take_block() {
    const std::string path(paths::producer_id_block);
    asio::steady_timer pause(zk_.executor());
    for (int attempt = 0;; ++attempt) {
        if (attempt > 0) {
            pause.expires_after(std::chrono::milliseconds(attempt < 5 ? 50 : 1000));
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        node_data d = co_await zk_.get(path);
        if (!d.code.ok() && !d.code.no_node()) continue;  // connection trouble: again
        int64_t first = 0;
        if (d.code.ok() && !d.data.empty()) {
            try {
                first = producer_id_block::from_json(d.data).last + 1;
            } catch (const znode_format_error& e) {
                server_log().error("{}: {}; not handing out producer ids", path, e.what());
                co_return;
            }
        }
        // Ids this broker gave as a single node before it joined stay out of reach.
        first = std::max(first, cluster_.producer_ids().local_reserved_end());
        producer_id_block block{cluster_.node_id(), first, first + producer_ids::block_size - 1};
        zk_code written = d.code.no_node()
                              ? co_await zk_.create(path, block.to_json(), node_mode::persistent)
                              : co_await zk_.set(path, block.to_json(), d.version);
        if (!written.ok()) continue;  // another broker took a block first: read again
        server_log().debug("producer ids {}..{} taken from {}", block.first, block.last, path);
        cluster_.producer_ids().supply_block(block.first, block.last + 1);
        co_return;
    }
}

}  // namespace runnel::server
