#include "server/controller/controller_election.h"

#include <chrono>

#include "server/core/logger.h"
#include "server/zookeeper/kafka_znodes.h"

namespace runnel::server {

namespace asio = boost::asio;
using namespace zookeeper;

namespace {

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

void controller_election::set(controller_state s) {
    if (s == state_) return;
    const bool was = is_controller();
    state_ = s;
    if (is_controller() && !was) {
        server_log().info("broker {} is the controller now (controller epoch {})", self_, s.epoch);
    } else if (was && !is_controller()) {
        server_log().warn("broker {} is no longer the controller", self_);
    }
    if (on_change_) on_change_(state_);
}

asio::awaitable<void> controller_election::run() {
    auto pass = [this] { return check_once(); };
    co_await loop_.run(pass);
}

asio::awaitable<int32_t> controller_election::current_epoch() {
    node_data e = co_await zk_.get(std::string(paths::controller_epoch));
    co_return e.code.ok() ? parse_controller_epoch(e.data) : 0;
}

asio::awaitable<bool> controller_election::check_once() {
    // A few rounds: the node may go between two reads, or be another's by the time this one
    // stands; each round reads it again.
    for (int round = 0; round < 8 && !loop_.stopped(); ++round) {
        zk_code there =
            co_await zk_.exists(std::string(paths::controller), [this] { loop_.wake(); });
        if (there.ok()) {
            node_data d = co_await zk_.get(std::string(paths::controller));
            if (d.code.no_node()) continue;  // gone between the two reads
            if (d.code.ok() && previous_session_ != 0 && d.ephemeral_owner == previous_session_) {
                // This broker's previous run was the controller and died: without this, no
                // broker would control the cluster until that session expires.
                zk_code gone = co_await zk_.remove(std::string(paths::controller), d.version);
                server_log().info("removed /controller left by this broker's previous run: {}",
                                  gone.ok() ? "ok" : gone.text());
                continue;
            }
            if (d.code.ok()) {
                const int32_t id = controller_record::from_json(d.data).broker_id;
                set({id, co_await current_epoch(), -1});
                co_return true;
            }
            there = d.code;
        } else if (there.no_node()) {
            const standing outcome = co_await stand();
            if (outcome == standing::won) co_return true;
            if (outcome == standing::lost) continue;  // read the winner's node
        }
        // The connection is down (the watch is lost with it only if the session expires, and
        // then the session's renewal wakes this): the loop tries again shortly.
        server_log().debug("controller check: {}", there.text());
        co_return false;
    }
    co_return false;
}

asio::awaitable<controller_election::standing> controller_election::stand() {
    node_data e = co_await zk_.get(std::string(paths::controller_epoch));
    if (e.code.no_node()) {
        // Kafka starts the epoch at 0 and the first controller takes 1.
        zk_code c =
            co_await zk_.create(std::string(paths::controller_epoch), "0", node_mode::persistent);
        if (!c.ok() && !c.node_exists()) co_return standing::failed;
        e = co_await zk_.get(std::string(paths::controller_epoch));
    }
    if (!e.code.ok()) co_return standing::failed;
    const int32_t epoch = parse_controller_epoch(e.data);
    controller_record me{self_, now_ms()};
    std::vector<zk_op> ops;
    ops.push_back(
        zk_op::create(std::string(paths::controller), me.to_json(), node_mode::ephemeral));
    ops.push_back(
        zk_op::set(std::string(paths::controller_epoch), std::to_string(epoch + 1), e.version));
    zk_code won = (co_await zk_.multi(std::move(ops))).code;
    if (won.ok()) {
        // Each set moves a znode's version one up: the controller's writes check this one.
        set({self_, epoch + 1, e.version + 1});
        co_return standing::won;
    }
    // Another broker created /controller first, or moved the epoch since it was read.
    if (won.node_exists() || won.bad_version()) co_return standing::lost;
    server_log().debug("standing for controller: {}", won.text());
    co_return standing::failed;
}

}  // namespace runnel::server
