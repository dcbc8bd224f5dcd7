// Consumer groups as the admin API and /metrics show them: every group of every coordinator,
// one group's state, members and committed offsets, and its lag against the log end offsets.
// Each group is read on the shard of its __consumer_offsets partition.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace runnel::server {
class kafka_services;
}

namespace runnel::server::admin {

namespace asio = boost::asio;

struct group_listing {
    std::string group_id;
    std::string state;
    std::string protocol_type;  // "consumer" for consumers, "" for KIP-848 groups' listing
    std::string type;           // "classic" or "consumer" (KIP-848)
};

struct group_member {
    std::string member_id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
};

struct group_partition_offset {
    std::string topic;
    int32_t partition = 0;
    int64_t committed_offset = -1;
    int64_t log_end_offset = -1;  // -1: the partition is gone
};

struct group_detail {
    std::string group_id;
    std::string state;
    std::string protocol_type;
    std::string type;
    std::vector<group_member> members;
    std::vector<group_partition_offset> offsets;  // committed, by topic and partition
};

// Where `group_id` lives: nowhere yet (no __consumer_offsets: no group exists; with `create`
// the topic is made, as FindCoordinator does), ready (its partition activated and loaded on its
// shard), or still loading after about 10 s (as a Kafka client retries
// COORDINATOR_LOAD_IN_PROGRESS).
enum class coordinator_state { absent, ready, loading };
asio::awaitable<coordinator_state> coordinator_ready(kafka_services& kafka,
                                                     const std::string& group_id,
                                                     bool create = false);

// Every group; empty before __consumer_offsets exists.
asio::awaitable<std::vector<group_listing>> list_all_groups(kafka_services& kafka);
// One group, with its offsets' log end offsets filled in; nullopt when there is no such group
// (no members and no committed offsets).
asio::awaitable<std::optional<group_detail>> describe_one_group(kafka_services& kafka,
                                                                std::string group_id);
struct group_committed_offset {
    std::string group_id;
    std::string topic;
    int32_t partition = 0;
    int64_t committed_offset = -1;
};

// Every committed offset of every group (for /metrics' consumer lag).
asio::awaitable<std::vector<group_committed_offset>> all_committed_offsets(kafka_services& kafka);

// Fills in log_end_offset of each entry, reading each partition on its owner shard.
asio::awaitable<void> fill_log_ends(kafka_services& kafka,
                                    std::vector<group_partition_offset>& offsets);

}  // namespace runnel::server::admin
