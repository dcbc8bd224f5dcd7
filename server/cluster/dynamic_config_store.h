// Persists the dynamic broker configs (kafka-configs --alter --entity-type brokers) in
// <first log dir>/runnel-broker-configs.json, replaced atomically on each change. Kafka keeps
// them in its metadata log; Runnel, a single node, beside its topic table.
#pragma once

#include <filesystem>
#include <system_error>

#include "server/config/broker_config.h"

namespace runnel::server {

class dynamic_config_store {
  public:
    explicit dynamic_config_store(const std::filesystem::path& dir) : path_(dir / file_name) {}

    static constexpr const char* file_name = "runnel-broker-configs.json";

    // The stored configs of the cluster default and of broker `node_id` (those stored for
    // another node id, after node.id changed, are not this broker's). An absent file is none.
    // Throws std::runtime_error on a file that cannot be parsed.
    dynamic_broker_configs load(int32_t node_id) const;
    std::error_code save(const dynamic_broker_configs& configs, int32_t node_id) const;

  private:
    std::filesystem::path path_;
};

}  // namespace runnel::server
