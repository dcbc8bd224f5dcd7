#include "server/controller/broker_registration.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "server/core/logger.h"

namespace runnel::server {

namespace asio = boost::asio;
using namespace zookeeper;

std::string session_text(int64_t session) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(session));
    return buf;
}

asio::awaitable<void> register_broker(zk_client& zk, const broker_registration& self,
                                      int64_t previous_session,
                                      std::chrono::milliseconds stale_wait) {
    const std::string path = paths::broker(self.id);
    const std::string data = self.to_json();
    const auto deadline = std::chrono::steady_clock::now() + stale_wait;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    bool waited = false;
    for (;;) {
        zk_code c = co_await zk.create(path, data, node_mode::ephemeral);
        if (c.ok()) break;
        if (c.connection_lost()) {
            if (zk.closed()) co_return;  // shutting down
            // Retried once the client reconnects (within the session) or the next session
            // re-registers.
            timer.expires_after(std::chrono::milliseconds(100));
            co_await timer.async_wait(asio::use_awaitable);
            if (std::chrono::steady_clock::now() < deadline) continue;
        }
        if (!c.node_exists()) {
            throw std::runtime_error("cannot register broker " + std::to_string(self.id) + " at " +
                                     path + ": " + c.text());
        }
        node_data held = co_await zk.get(path);
        if (held.code.no_node()) continue;                                     // expired meanwhile
        if (held.code.ok() && held.ephemeral_owner == zk.session_id()) break;  // ours already
        if (held.code.ok() && previous_session != 0 && held.ephemeral_owner == previous_session) {
            zk_code gone = co_await zk.remove(path, held.version);
            server_log().info("removed {} left by this broker's previous run (session {}): {}",
                              path, session_text(previous_session), gone.ok() ? "ok" : gone.text());
            continue;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error(
                "broker.id " + std::to_string(self.id) + " is registered in ZooKeeper (" + path +
                ") by another live broker (session " + session_text(held.ephemeral_owner) +
                "); give each broker its own broker.id");
        }
        if (!waited) {
            server_log().warn(
                "{} is held by another ZooKeeper session (an earlier run of this broker, or "
                "another broker with the same broker.id); waiting up to {} ms for it to expire",
                path, stale_wait.count());
            waited = true;
        }
        timer.expires_after(std::chrono::milliseconds(250));
        co_await timer.async_wait(asio::use_awaitable);
    }
    server_log().info("registered broker {} in ZooKeeper at {}", self.id, path);
}

}  // namespace runnel::server
