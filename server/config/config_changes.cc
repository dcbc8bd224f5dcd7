#include "server/config/config_changes.h"

#include <algorithm>
#include <set>

#include "server/config/topic_config.h"

namespace runnel::server {

using protocol::error_code;

namespace {

config_change_error invalid_request(std::string message) {
    return {error_code::invalid_request, std::move(message)};
}

std::string join_csv(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += ',';
        out += item;
    }
    return out;
}

// The value a topic has for `name` now: its override, else what it inherits.
std::string current_value(const std::map<std::string, std::string>& overrides,
                          const std::string& name, const broker_config& broker) {
    if (auto it = overrides.find(name); it != overrides.end()) return it->second;
    for (const auto& e : topic_config(broker).describe(broker)) {
        if (e.name == name) return e.value.value_or("");
    }
    return "";
}

// APPEND or SUBTRACT on a key that is not a list: INVALID_CONFIG, for topics and brokers alike
// (Kafka 4.4 answers so, where its other refusals of broker configs are INVALID_REQUEST).
config_change_error not_a_list(config_operation op, const std::string& name) {
    return {error_code::invalid_config,
            std::string("Config value ") +
                (op == config_operation::append ? "append" : "subtract") +
                " is not allowed for config key: " + name};
}

// A list value after APPEND (the items not present yet) or SUBTRACT (the items removed).
std::string apply_list_operation(std::string_view current, std::string_view items,
                                 config_operation op) {
    auto out = split_csv(current);
    for (const auto& item : split_csv(items)) {
        auto at = std::find(out.begin(), out.end(), item);
        if (op == config_operation::append && at == out.end()) out.push_back(item);
        if (op == config_operation::subtract && at != out.end()) out.erase(at);
    }
    return join_csv(out);
}

// Kafka's dynamic broker keys for replication throttles (KIP-73), which Runnel does not
// implement.
bool is_replication_throttle(const std::string& name) {
    return name == "leader.replication.throttled.rate" ||
           name == "follower.replication.throttled.rate" ||
           name == "replica.alter.log.dirs.io.max.bytes.per.second";
}

}  // namespace

std::variant<config_map, config_change_error> apply_broker_config_changes(
    const config_map& layer, const std::vector<config_change>& changes, bool replace_all,
    bool cluster_default, const broker_config& current) {
    std::set<std::string> seen;
    std::vector<std::string> not_dynamic, per_broker;
    for (const auto& c : changes) {
        if (!seen.insert(c.name).second)
            return invalid_request("Error due to duplicate config keys");
        if (c.operation < 0 || c.operation > static_cast<int8_t>(config_operation::subtract)) {
            return invalid_request("Unknown operation type " + std::to_string(c.operation) +
                                   " for config " + c.name);
        }
        if (is_replication_throttle(c.name)) {
            // kafka-reassign-partitions --verify clears these on every broker (DELETE); there
            // is nothing to clear, since setting them is refused.
            if (static_cast<config_operation>(c.operation) == config_operation::remove) continue;
            return invalid_request("Replication throttling (" + c.name +
                                   ") is not supported by this broker; nothing was changed.");
        }
        const config_key* key = broker_config::find_key(c.name);
        // Kafka stores names it does not know (custom plugin configs); Runnel has no plugins, so
        // an unknown name is a mistake worth reporting.
        if (key == nullptr) return invalid_request("Unknown broker config name: " + c.name);
        if (key->mode == update_mode::read_only) not_dynamic.push_back(c.name);
        if (key->mode == update_mode::per_broker && cluster_default) per_broker.push_back(c.name);
    }
    auto listed = [](const std::vector<std::string>& names) {
        std::string out;
        for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
        return "[" + out + "]";
    };
    if (!not_dynamic.empty()) {
        return invalid_request("Cannot update these configs dynamically: " + listed(not_dynamic));
    }
    if (!per_broker.empty()) {
        return invalid_request(
            "Cannot update these configs at default cluster level, broker id must be specified: " +
            listed(per_broker));
    }
    config_map out = replace_all ? config_map{} : layer;
    for (const auto& c : changes) {
        if (is_replication_throttle(c.name)) continue;  // a DELETE of what is never set
        const auto op = static_cast<config_operation>(c.operation);
        const config_key& key = *broker_config::find_key(c.name);
        if (op == config_operation::remove) {
            out.erase(c.name);
            continue;
        }
        if (!c.value) return invalid_request("Null value not supported for : " + c.name);
        std::string value = *c.value;
        if (op != config_operation::set) {
            if (key.type != config_type::list) return not_a_list(op, c.name);
            // From the value in force now (this layer's, else what the broker has).
            std::string now;
            if (auto it = out.find(c.name); it != out.end()) {
                now = it->second;
            } else if (auto set = current.setting_of(c.name)) {
                now = std::string(set->second);
            } else if (key.default_value) {
                now = std::string(*key.default_value);
            }
            value = apply_list_operation(now, value, op);
        }
        parse_result r = parse_config_value(key, value);
        if (!r.value) {
            return invalid_request("Invalid value " + value + " for configuration " + c.name +
                                   ": expected " + r.expected);
        }
        out[c.name] = value;
    }
    return out;
}

std::variant<std::map<std::string, std::string>, config_change_error> apply_topic_config_changes(
    const std::map<std::string, std::string>& overrides, const std::vector<config_change>& changes,
    bool replace_all, const broker_config& broker) {
    std::set<std::string> seen;
    for (const auto& c : changes) {
        if (!seen.insert(c.name).second)
            return invalid_request("Error due to duplicate config keys");
    }
    std::map<std::string, std::string> out =
        replace_all ? std::map<std::string, std::string>{} : overrides;
    for (const auto& c : changes) {
        const auto op = static_cast<config_operation>(c.operation);
        if (c.operation < 0 || c.operation > static_cast<int8_t>(config_operation::subtract)) {
            return invalid_request("Unknown operation type " + std::to_string(c.operation) +
                                   " for config " + c.name);
        }
        if (op == config_operation::remove) {
            out.erase(c.name);
            continue;
        }
        if (!c.value) return invalid_request("Null value not supported for : " + c.name);
        if (op == config_operation::set) {
            out[c.name] = *c.value;
            continue;
        }
        const config_key* key = topic_config::find_key(c.name);
        if (!key)
            return config_change_error{error_code::invalid_config,
                                       "Unknown topic config name: " + c.name};
        if (key->type != config_type::list) return not_a_list(op, c.name);
        out[c.name] = apply_list_operation(current_value(out, c.name, broker), *c.value, op);
    }
    if (auto problem = topic_config::validate_all(out, broker)) {
        return config_change_error{error_code::invalid_config, *problem};
    }
    return out;
}

}  // namespace runnel::server
