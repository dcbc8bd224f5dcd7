// Server-side assignors of KIP-848 consumer groups: pure, deterministic functions from the
// members' subscriptions, the subscribed topics' partition counts and the current target
// assignment to the next target assignment.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace runnel::server::groups {

// topic name → partitions
using topic_partitions_map = std::map<std::string, std::set<int32_t>>;

struct assignor_member {
    std::set<std::string> subscribed_topics;
    topic_partitions_map current;  // the member's current target assignment (stickiness)
};

struct assignor_input {
    std::map<std::string, assignor_member> members;  // by member id
    std::map<std::string, int32_t> topics;           // subscribed topic → partition count
};

// member id → assignment; every member of the input appears (possibly with nothing).
using assignment_map = std::map<std::string, topic_partitions_map>;

// "uniform": spreads the partitions evenly over the members subscribed to them, keeping
// partitions with their current owner where balance allows.
assignment_map uniform_assign(const assignor_input& in);

// "range": for each topic, contiguous ranges of partitions to its subscribers sorted by member
// id; the first (partitions % members) members get one more.
assignment_map range_assign(const assignor_input& in);

}  // namespace runnel::server::groups
