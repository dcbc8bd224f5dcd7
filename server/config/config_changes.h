// Altering a topic's configuration: IncrementalAlterConfigs' operations (KIP-339) and
// AlterConfigs' whole-set replacement, applied to the topic's overrides.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/errors.h"
#include "server/config/broker_config.h"

namespace runnel::server {

// IncrementalAlterConfigs' OpType codes.
enum class config_operation : int8_t {
    set = 0,
    remove = 1,    // Kafka's DELETE: back to the inherited value
    append = 2,    // list configs: add the items not present yet
    subtract = 3,  // list configs: remove the items
};

struct config_change {
    std::string name;
    int8_t operation = 0;  // a config_operation code, as received (checked when applied)
    std::optional<std::string> value;
};

struct config_change_error {
    protocol::error_code code;
    std::string message;
};

// The topic's overrides after `changes`: with `replace_all` (AlterConfigs) exactly the changes'
// values, else (IncrementalAlterConfigs) `overrides` with each change applied in order, APPEND
// and SUBTRACT starting from the inherited value when the topic sets none. Fails with Kafka's
// code and message on a key named twice, an unknown operation, a missing value, APPEND/SUBTRACT
// on a key that is not a list, and any value topic_config::validate_all refuses.
std::variant<std::map<std::string, std::string>, config_change_error> apply_topic_config_changes(
    const std::map<std::string, std::string>& overrides, const std::vector<config_change>& changes,
    bool replace_all, const broker_config& broker);

// The dynamic configs of one broker resource after `changes`: `layer` is the current set of the
// cluster default (`cluster_default`) or of this broker, with the same operations as for topics.
// Fails with Kafka's INVALID_REQUEST and message on a key named twice, an unknown operation or
// key, a key that cannot change at run time ("Cannot update these configs dynamically: [k]"), a
// per-broker key at the cluster default and a bad value; INVALID_CONFIG for APPEND/SUBTRACT on a
// key that is not a list.
// Cross-key rules are checked by building the configuration (broker_config::with_dynamic).
std::variant<config_map, config_change_error> apply_broker_config_changes(
    const config_map& layer, const std::vector<config_change>& changes, bool replace_all,
    bool cluster_default, const broker_config& current);

}  // namespace runnel::server
