// Waiting a while on the calling shard without blocking it (retries, back-off).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace runnel::server {

inline boost::asio::awaitable<void> pause(std::chrono::milliseconds d) {
    namespace asio = boost::asio;
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace runnel::server
