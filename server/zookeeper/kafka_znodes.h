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
inline constexpr std::string_view producer_id_block = "/latest_producer_id_block";
inline constexpr std::string_view reassign_partitions = "/admin/reassign_partitions";

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

// /brokers/topics/<topic>: the replicas of each partition (the first is the preferred leader),
// those being added or removed by a reassignment (KIP-455), and the topic id. Written as
// version 3; Kafka 2.8's tools write it without a topic id, which the controller then assigns.
struct topic_assignment {
    std::map<int32_t, std::vector<int32_t>> partitions;
    std::map<int32_t, std::vector<int32_t>> adding_replicas;
    std::map<int32_t, std::vector<int32_t>> removing_replicas;
    std::optional<std::string> topic_id;  // Kafka's text form (base64url, 22 characters)

    std::string to_json() const;
    static topic_assignment from_json(std::string_view json);
};

// /admin/reassign_partitions: the moves asked for by Kafka's older tools
// (kafka-reassign-partitions --zookeeper), {"version":1,"partitions":[{"topic":"t",
// "partition":0,"replicas":[1,2]},...]}; the controller carries them out and removes the znode
// once all are done.
struct legacy_reassignment {
    struct move {
        std::string topic;
        int32_t partition = 0;
        std::vector<int32_t> replicas;
    };
    std::vector<move> partitions;

    std::string to_json() const;
    static legacy_reassignment from_json(std::string_view json);
};

// /brokers/topics/<topic>/partitions/<p>/state: the partition's leader and ISR, written by the
// controller (and, for ISR changes, by the leader) with the znode's version as the check.
struct partition_state {
    int32_t leader = -1;  // -1: no leader (no live replica in the ISR)
    int32_t leader_epoch = 0;
    std::vector<int32_t> isr;
    int32_t controller_epoch = 0;
    // KIP-704: a leader elected uncleanly recovers first (3.2+); written only when true.
    bool recovering = false;

    std::string to_json() const;
    static partition_state from_json(std::string_view json);
    bool operator==(const partition_state&) const = default;
};

// /latest_producer_id_block: the last block of producer ids handed to a broker (Kafka's
// ProducerIdBlockZNode): {"version":1,"broker":N,"block_start":"S","block_end":"E"}, both ends
// inclusive and written as strings. Empty before the first block.
struct producer_id_block {
    int32_t broker = -1;
    int64_t first = 0;
    int64_t last = 0;

    std::string to_json() const;
    static producer_id_block from_json(std::string_view json);
};

// /config/topics/<topic>: the topic's config overrides, values as strings.
std::string topic_config_json(const std::map<std::string, std::string>& configs);
std::map<std::string, std::string> parse_topic_config(std::string_view json);

// /controller_epoch: a decimal number.
int32_t parse_controller_epoch(std::string_view data);

// /cluster/id: {"version":"1","id":"..."}.
std::string cluster_id_json(std::string_view id);
std::string parse_cluster_id(std::string_view json);

}  // namespace runnel::server::zookeeper
