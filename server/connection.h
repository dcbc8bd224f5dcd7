// One client connection, pinned to the shard that accepted it. Reads size-prefixed request frames,
// decodes the header, runs the handler and writes responses in request order.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <vector>

#include "protocol/codec.h"

namespace runnel::server {

namespace asio = boost::asio;
class broker;
class shard;
struct api_handler;

// A request frame's bytes. Not zero-filled before the socket read overwrites them: the memset
// of a value-initialised vector showed up at about 3% of the broker's CPU while producing.
struct request_frame {
    explicit request_frame(size_t n) : bytes(new uint8_t[n]), size(n) {}
    std::unique_ptr<uint8_t[]> bytes;
    size_t size;
    uint8_t* data() { return bytes.get(); }
};

class connection {
public:
    connection(broker& b, shard& s, asio::ip::tcp::socket socket, std::string listener);

    // Serves the connection until the peer closes it, a protocol violation, or shutdown.
    // `self` keeps the connection alive for as long as the coroutine runs.
    static asio::awaitable<void> run(std::shared_ptr<connection> self);
    void close();

private:
    asio::awaitable<void> serve();
    // Returns false when the connection must be closed.
    asio::awaitable<bool> serve_frame(std::shared_ptr<request_frame> frame);
    asio::awaitable<bool> send(const protocol::writer& w);
    void write_api_versions_fallback(int32_t correlation_id, protocol::writer& w);

    broker& broker_;
    shard& shard_;
    asio::ip::tcp::socket socket_;
    std::string peer_;
    std::string listener_;  // name of the listener that accepted it
};

}  // namespace runnel::server
