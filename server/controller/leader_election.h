// How the controller chooses leaders, as Kafka's PartitionLeaderElectionAlgorithms do. Pure:
// given a partition's replicas, what is alive and its state, it answers; the controller writes
// the answer to ZooKeeper.
#pragma once

#include <optional>
#include <set>
#include <vector>

#include "protocol/errors.h"
#include "server/zookeeper/kafka_znodes.h"

namespace runnel::server {

// A new partition: its live replicas, in assignment order, form the ISR and the first of them
// leads, in leader epoch 0. Nullopt while none is alive (it waits for one to come).
std::optional<zookeeper::partition_state> initial_partition_state(
    const std::vector<int32_t>& replicas, const std::set<int32_t>& live, int32_t controller_epoch);

// A partition after brokers left (Kafka's OfflinePartitionLeaderElection and the ZooKeeper
// controller's removal of offline replicas from the ISR): the replicas gone leave the ISR; a
// leader gone is replaced by the first replica, in assignment order, that is alive and in the
// ISR (clean), else, with `unclean` (unclean.leader.election.enable), by the first live replica
// (its ISR: itself alone), else the partition has no leader (-1) and keeps its ISR, so that
// one of those replicas leads again when it comes back. Every change is a new leader epoch.
// Nullopt when nothing changes. A partition without a leader whose ISR has a live replica again
// gets it as leader here too.
std::optional<zookeeper::partition_state> after_brokers_changed(
    const std::vector<int32_t>& replicas, const zookeeper::partition_state& current,
    const std::set<int32_t>& live, bool unclean, int32_t controller_epoch);

// A requested election (ElectLeaders): the state to write, or the error Kafka answers.
struct requested_election {
    std::optional<zookeeper::partition_state> next;
    protocol::error_code error = protocol::error_code::none;
};
// Preferred (`unclean` false): the first replica of the assignment leads, if it is alive and in
// the ISR (PREFERRED_LEADER_NOT_AVAILABLE otherwise, ELECTION_NOT_NEEDED when it leads
// already). Unclean: a partition whose leader is gone gets the first live ISR replica, else the
// first live replica (ELIGIBLE_LEADERS_NOT_AVAILABLE with none, ELECTION_NOT_NEEDED when its
// leader is alive). A new leader epoch either way.
requested_election elect(const std::vector<int32_t>& replicas,
                         const zookeeper::partition_state& current, const std::set<int32_t>& live,
                         bool unclean, int32_t controller_epoch);

}  // namespace runnel::server
