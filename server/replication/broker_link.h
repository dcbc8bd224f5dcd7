// A connection from this broker to another broker of the cluster, speaking the Kafka protocol as
// a client does (request header v1/v2, one request in flight at a time). The replica fetcher
// reaches its leader through one. Lives on one shard; not thread-safe.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "protocol/codec.h"
#include "protocol/messages/request_header.h"
#include "protocol/messages/response_header.h"
#include "server/core/shard.h"

namespace runnel::server {

template <class T>
using link_result = boost::system::result<T, std::error_code>;

class broker_link {
  public:
    broker_link(shard& home, std::string client_id)
        : home_(home), socket_(home.context()), client_id_(std::move(client_id)) {}

    bool connected() const { return socket_.is_open(); }
    // Where it is connected, "host:port" ("" when not).
    const std::string& peer() const { return peer_; }
    // Connects (closing any previous connection) within `timeout`.
    asio::awaitable<std::error_code> connect(const std::string& host, int32_t port,
                                             std::chrono::milliseconds timeout);
    void close();

    // Sends `request` as version `version` of API `Api` (protocol/messages/api_table.h) and
    // waits at most `timeout` for its response. Any failure (the connection's, a response that
    // does not decode) closes the connection.
    template <class Api>
    asio::awaitable<link_result<typename Api::response>> call(const typename Api::request& request,
                                                              int16_t version,
                                                              std::chrono::milliseconds timeout) {
        const bool flexible = Api::first_flexible >= 0 && version >= Api::first_flexible;
        protocol::writer w;
        w.write_int32(0);  // the frame's size, filled in below
        protocol::msg::request_header header;
        header.request_api_key = Api::key;
        header.request_api_version = version;
        header.correlation_id = ++correlation_;
        header.client_id = client_id_;
        header.encode(w, flexible ? 2 : 1);
        request.encode(w, version);
        w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
        auto frame = co_await exchange(w.buffer(), timeout);
        if (!frame) co_return frame.error();
        protocol::reader r(**frame, *frame);
        protocol::msg::response_header rh;
        rh.decode(r, flexible ? 1 : 0);
        typename Api::response response;
        if (r.ok() && rh.correlation_id == header.correlation_id) response.decode(r, version);
        if (!r.ok() || rh.correlation_id != header.correlation_id) {
            close();
            co_return std::make_error_code(std::errc::bad_message);
        }
        co_return response;
    }

  private:
    // Writes `request` (a whole frame) and reads one response frame (without its size).
    asio::awaitable<link_result<std::shared_ptr<std::vector<uint8_t>>>> exchange(
        const std::vector<uint8_t>& request, std::chrono::milliseconds timeout);

    shard& home_;
    asio::ip::tcp::socket socket_;
    std::string client_id_;
    std::string peer_;
    int32_t correlation_ = 0;
};

}  // namespace runnel::server
