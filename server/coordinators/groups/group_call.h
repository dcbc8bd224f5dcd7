// For handlers: running work on the shard that coordinates a group, and waiting there for a
// parked JoinGroup / SyncGroup to complete.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/errors.h"
#include "server/coordinators/coordinator_call.h"
#include "server/coordinators/groups/coordinator_set.h"
#include "server/core/shard.h"

namespace runnel::server::groups {

// A value completed once by a callback and awaited by one coroutine, on one shard.
template <class T>
class oneshot {
  public:
    explicit oneshot(asio::any_io_executor ex) : timer_(ex) {
        timer_.expires_at(asio::steady_timer::time_point::max());
    }
    void set(T v) {
        if (value_) return;
        value_ = std::move(v);
        timer_.cancel();
    }
    asio::awaitable<T> wait() {
        while (!value_) co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return std::move(*value_);
    }

  private:
    asio::steady_timer timer_;
    std::optional<T> value_;
};

// Kafka's client host: "/" + the peer's address ("/127.0.0.1"), from the "ip:port" peer text;
// IPv4-mapped IPv6 addresses are shown as IPv4.
inline std::string client_host_of(const std::string& peer) {
    std::string ip = peer.substr(0, peer.rfind(':'));
    if (ip.rfind("::ffff:", 0) == 0 && ip.find('.') != std::string::npos) ip = ip.substr(7);
    return "/" + ip;
}

using server::coordinated;

// Runs fn(group_coordinator&, partition) -> asio::awaitable<R> on the shard coordinating
// `group_id`, once its __consumer_offsets partition is ready (see
// server/coordinators/coordinator_call.h).
template <class R, class F>
asio::awaitable<coordinated<R>> call_coordinator(coordinator_set& groups, std::string_view group_id,
                                                 F& fn) {
    co_return co_await call_coordinator_of<R>(groups.shards(), groups, group_id, fn);
}

// Describes each group id on its coordinator with `describe(coordinator, partition, id)`; a
// group whose coordinator can't be reached is answered with its id and the error only.
// (Authorized operations are reported only with an authorizer; none is configured.)
template <class Described, class F>
asio::awaitable<std::vector<Described>> describe_each(coordinator_set& groups,
                                                      const std::vector<std::string>& ids,
                                                      F describe) {
    std::vector<Described> out;
    for (const auto& id : ids) {
        auto one = [&describe, id](group_coordinator& c,
                                   int32_t partition) -> asio::awaitable<Described> {
            co_return describe(c, partition, id);
        };
        auto r = co_await call_coordinator<Described>(groups, id, one);
        if (r.error != protocol::error_code::none) {
            Described failed;
            failed.group_id = id;
            failed.error_code = protocol::to_wire(r.error);
            out.push_back(std::move(failed));
            continue;
        }
        out.push_back(std::move(r.value));
    }
    co_return out;
}

}  // namespace runnel::server::groups
