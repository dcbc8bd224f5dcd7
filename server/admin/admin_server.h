// The admin HTTP server (runnel.admin.listeners, Boost.Beast): binds its listeners on shard 0,
// hands each connection to a shard round-robin, and serves HTTP/1.1 there with keep-alive, one
// request at a time per connection, so it never blocks the Kafka listeners. Limits hold against
// bad and slow clients: headers up to 16 KiB (431), bodies up to 1 MiB (413), a path up to
// 2 KiB (414), 30 s to send a request (then the connection closes), and every error answered
// in JSON. There is no authentication yet: the security issue adds it in serve()
// (admin_server.cc), between reading a request and dispatching it, where the peer and the
// headers are at hand; until then a listener off the loopback is logged as open to anyone who
// reaches it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <vector>

#include "server/admin/router.h"
#include "server/core/shard.h"

namespace runnel::server::admin {

struct admin_listener {
    std::string host;
    uint16_t port = 0;
};

// Parses runnel.admin.listeners ("http://127.0.0.1:9644,http://[::1]:9645"); throws
// std::invalid_argument naming the bad entry.
std::vector<admin_listener> parse_admin_listeners(const std::string& text);

class admin_server {
  public:
    admin_server(shard_set& shards, const router& routes) : shards_(shards), routes_(routes) {}

    // On shard 0: binds every listener (port 0: any free one) and starts accepting. Throws
    // std::runtime_error when one cannot be bound. Returns the bound addresses ("host:port").
    std::vector<std::string> bind(const std::vector<admin_listener>& listeners);
    // On shard 0: stops accepting (open connections finish their request and close).
    void close();

  private:
    asio::awaitable<void> accept_loop(std::shared_ptr<asio::ip::tcp::acceptor> acceptor);

    shard_set& shards_;
    const router& routes_;
    std::vector<std::shared_ptr<asio::ip::tcp::acceptor>> acceptors_;
    uint32_t next_shard_ = 0;
};

}  // namespace runnel::server::admin
