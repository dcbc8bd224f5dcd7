#include "server/replication/broker_link.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace runnel::server {

namespace {

// A response larger than this is a broken peer, not data (Kafka's fetch responses are bounded
// by replica.fetch.response.max.bytes plus one batch per partition).
constexpr int32_t max_response_bytes = 1 << 30;

// Closes the socket when `timeout` passes first, failing whatever waits on it: the shape of a
// deadline on a single asio operation.
struct deadline {
    deadline(asio::ip::tcp::socket& s, std::chrono::milliseconds timeout)
        : timer(s.get_executor(), timeout) {
        timer.async_wait([&s, fired = fired](const boost::system::error_code& ec) {
            if (ec) return;
            *fired = true;
            boost::system::error_code ignored;
            s.close(ignored);
        });
    }
    ~deadline() { timer.cancel(); }
    bool expired() const { return *fired; }

    asio::steady_timer timer;
    std::shared_ptr<bool> fired = std::make_shared<bool>(false);
};

}  // namespace

asio::awaitable<std::error_code> broker_link::connect(const std::string& host, int32_t port,
                                                      std::chrono::milliseconds timeout) {
    close();
    asio::ip::tcp::resolver resolver(home_.context());
    auto [rerr, endpoints] = co_await resolver.async_resolve(host, std::to_string(port),
                                                             asio::as_tuple(asio::use_awaitable));
    if (rerr) co_return std::error_code(rerr);
    deadline limit(socket_, timeout);
    auto [cerr, ep] =
        co_await asio::async_connect(socket_, endpoints, asio::as_tuple(asio::use_awaitable));
    if (limit.expired()) {
        close();
        co_return std::make_error_code(std::errc::timed_out);
    }
    if (cerr) {
        close();
        co_return std::error_code(cerr);
    }
    boost::system::error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    peer_ = host + ":" + std::to_string(port);
    co_return std::error_code{};
}

void broker_link::close() {
    boost::system::error_code ignored;
    if (socket_.is_open()) socket_.close(ignored);
    peer_.clear();
}

asio::awaitable<link_result<std::shared_ptr<std::vector<uint8_t>>>> broker_link::exchange(
    const std::vector<uint8_t>& request, std::chrono::milliseconds timeout) {
    if (!socket_.is_open()) co_return std::make_error_code(std::errc::not_connected);
    deadline limit(socket_, timeout);
    auto fail = [&](const boost::system::error_code& ec) -> std::error_code {
        const bool expired = limit.expired();
        close();
        if (expired) return std::make_error_code(std::errc::timed_out);
        return std::error_code(ec);
    };
    auto [werr, written] = co_await asio::async_write(socket_, asio::buffer(request),
                                                      asio::as_tuple(asio::use_awaitable));
    if (werr) co_return fail(werr);
    uint8_t size_bytes[4];
    auto [herr, got] = co_await asio::async_read(socket_, asio::buffer(size_bytes),
                                                 asio::as_tuple(asio::use_awaitable));
    if (herr) co_return fail(herr);
    const int32_t size =
        static_cast<int32_t>((uint32_t{size_bytes[0]} << 24) | (uint32_t{size_bytes[1]} << 16) |
                             (uint32_t{size_bytes[2]} << 8) | uint32_t{size_bytes[3]});
    if (size < 4 || size > max_response_bytes) {
        close();
        co_return std::make_error_code(std::errc::bad_message);
    }
    auto frame = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(size));
    auto [berr, body] = co_await asio::async_read(socket_, asio::buffer(*frame),
                                                  asio::as_tuple(asio::use_awaitable));
    if (berr) co_return fail(berr);
    co_return frame;
}

}  // namespace runnel::server
