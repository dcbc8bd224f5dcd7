// What the Kafka API asks of the cluster's controller: controlled shutdown, leader elections and
// partition reassignments. In a ZooKeeper cluster the controller layer
// (server/controller/zk_cluster) implements it and registers itself with cluster_context; a
// single node has none.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/errors.h"

namespace runnel::server {

struct controlled_shutdown_result {
    protocol::error_code error = protocol::error_code::none;
    // Partitions `broker` still leads: no other live replica in their ISR.
    std::vector<std::pair<std::string, int32_t>> remaining;
};

// One partition's outcome of ElectLeaders.
struct election_result {
    std::string topic;
    int32_t partition = 0;
    protocol::error_code error = protocol::error_code::none;
    std::optional<std::string> message;
};

struct elect_leaders_result {
    protocol::error_code error = protocol::error_code::none;  // NOT_CONTROLLER
    std::vector<election_result> partitions;
};

// One partition of AlterPartitionReassignments: its new replicas, or nullopt to cancel.
struct reassignment_request {
    std::string topic;
    int32_t partition = 0;
    std::optional<std::vector<int32_t>> replicas;
};

struct reassignment_result {
    std::string topic;
    int32_t partition = 0;
    protocol::error_code error = protocol::error_code::none;
    std::optional<std::string> message;
};

struct alter_reassignments_result {
    protocol::error_code error = protocol::error_code::none;  // NOT_CONTROLLER
    std::vector<reassignment_result> partitions;
};

// A move in progress (ListPartitionReassignments): all its replicas now, those being added and
// those to be removed once the added ones are in sync.
struct ongoing_reassignment {
    std::string topic;
    int32_t partition = 0;
    std::vector<int32_t> replicas;
    std::vector<int32_t> adding;
    std::vector<int32_t> removing;
};

struct list_reassignments_result {
    protocol::error_code error = protocol::error_code::none;  // NOT_CONTROLLER
    std::vector<ongoing_reassignment> partitions;
};

class cluster_controller {
  public:
    virtual ~cluster_controller() = default;
    // Moves the leadership of `broker`'s partitions to other live replicas of their ISR and
    // takes it out of every ISR, as Kafka's controller does before a broker stops; answers once
    // written. NOT_CONTROLLER unless this broker is the controller. Any shard.
    virtual boost::asio::awaitable<controlled_shutdown_result> controlled_shutdown(
        int32_t broker) = 0;
    // Kafka's ElectLeaders on the controller: for `partitions` (nullopt: every partition, and
    // only those where an election happened are answered), the preferred replica (the first of
    // the assignment) leads if it is alive and in the ISR; with `unclean`, a partition without a
    // live leader gets one, from outside the ISR if need be. Each outcome is Kafka's error:
    // ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE,
    // UNKNOWN_TOPIC_OR_PARTITION.
    virtual boost::asio::awaitable<elect_leaders_result> elect_leaders(
        bool unclean, std::optional<std::vector<std::pair<std::string, int32_t>>> partitions) = 0;
    // Kafka's AlterPartitionReassignments on the controller (KIP-455): each partition's new
    // replicas are added, and once all are in the ISR the leader moves into them if it must and
    // the others are dropped; nullopt cancels a move in progress. Answered once the move is
    // recorded (not finished). Errors: UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT,
    // NO_REASSIGNMENT_IN_PROGRESS, INVALID_REPLICATION_FACTOR (a changed replica count without
    // `allow_replication_factor_change`).
    virtual boost::asio::awaitable<alter_reassignments_result> alter_reassignments(
        std::vector<reassignment_request> partitions, bool allow_replication_factor_change) = 0;
    // Kafka's ListPartitionReassignments: the moves in progress, of `partitions` (nullopt: all).
    virtual boost::asio::awaitable<list_reassignments_result> list_reassignments(
        std::optional<std::vector<std::pair<std::string, int32_t>>> partitions) = 0;
};

}  // namespace runnel::server
