// Kafka's ZooKeeper layout (ZooKeeper mode, Kafka 2.x-3.x): the paths and the JSON each znode
// holds, written and read here only. Keeping Kafka's layout lets Kafka's own ZooKeeper tools
// (kafka-topics.sh --zookeeper, zookeeper-shell) work against a Runnel cluster.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::server::zookeeper {

namespace paths {
inline constexpr std::string_view broker_ids = "/brokers/ids";
inline constexpr std::string_view topics = "/brokers/topics";
inline constexpr std::string_view controller = "/controller";
inline constexpr std::string_view controller_epoch = "/controller_epoch";
inline constexpr std::string_view cluster_id = "/cluster/id";
inline constexpr std::string_view delete_topics = "/admin/delete_topics";
inline constexpr std::string_view config_topics = "/config/topics";
inline constexpr std::string_view config_changes = "/config/changes";

std::string broker(int32_t id);
std::string topic(std::string_view name);
std::string partition_state(std::string_view topic, int32_t partition);
std::string topic_config(std::string_view name);

// The persistent znodes a Kafka broker creates at start when they are missing.
std::vector<std::string> persistent();
}  // namespace paths

// Thrown when a znode's JSON is not what Kafka writes there.
struct znode_format_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// /brokers/ids/<id> (ephemeral): where a live broker is reached.
struct broker_registration {
    struct endpoint {
        std::string listener;  // listener name
        std::string host;
        int32_t port = 0;
    };
    int32_t id = -1;
    std::vector<endpoint> endpoints;
    // Listener name -> security protocol name (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL).
    std::map<std::string, std::string> protocols;
    std::optional<std::string> rack;
    int64_t timestamp_ms = 0;

    std::string to_json() const;
    static broker_registration from_json(int32_t id, std::string_view json);
};

// /controller (ephemeral): which broker is the controller.
struct controller_record {
    int32_t broker_id = -1;
    int64_t timestamp_ms = 0;

    std::string to_json() const;
    static controller_record from_json(std::string_view json);
};

// /controller_epoch: a decimal number.
int32_t parse_controller_epoch(std::string_view data);

// /cluster/id: {"version":"1","id":"..."}.
std::string cluster_id_json(std::string_view id);
std::string parse_cluster_id(std::string_view json);

}  // namespace runnel::server::zookeeper
