// The broker's listeners (server.properties `listeners`): binding them, accepting connections
// and spreading them over the shards. When the process runs out of descriptors, accept(2) fails
// at once on every try while the connection waits in the backlog, so a plain retry loop spins and
// logs millions of lines; instead the waiting connections are refused cleanly with a descriptor
// kept in reserve, accepts pause, one line is logged per streak, and the connections already open
// keep being served.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <vector>

#include "server/config/broker_config.h"
#include "server/core/shard.h"
#include "server/net/connection_quotas.h"

namespace runnel::server {

class kafka_services;
class idle_connections;

class listeners {
  public:
    // Throws std::invalid_argument for a max.connections.per.ip.overrides that does not parse.
    listeners(const broker_config& config, shard_set& shards, kafka_services& kafka,
              idle_connections& idle)
        : config_(config),
          shards_(shards),
          kafka_(kafka),
          idle_(idle),
          quotas_(std::make_shared<connection_quotas>(config.max_connections,
                                                      config.max_connections_per_ip,
                                                      config.max_connections_per_ip_overrides)) {}

    // On shard 0: binds every configured listener, records where clients reach it
    // (kafka_services::add_endpoint, ports resolved after binding) and starts accepting.
    // Throws std::runtime_error when one cannot be bound.
    void bind_all();
    // On shard 0: stops accepting.
    void close_all();

  private:
    asio::awaitable<void> accept_loop(std::shared_ptr<asio::ip::tcp::acceptor> acceptor,
                                      std::string listener);

    const broker_config& config_;
    shard_set& shards_;
    kafka_services& kafka_;
    idle_connections& idle_;
    std::shared_ptr<connection_quotas> quotas_;
    std::vector<std::shared_ptr<asio::ip::tcp::acceptor>> acceptors_;
    uint32_t next_shard_ = 0;
};

}  // namespace runnel::server
