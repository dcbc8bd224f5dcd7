// KIP-848 consumer groups in __consumer_offsets, in the records Kafka 4 writes (types 3-8 and
// 16; keys and values in protocol/schema/consumer_group_*.msg). A group's image is what its
// records say; the coordinator changes a group in memory, then writes the records that turn the
// image last written into the group's image now (records_between), and takes the new image as
// written only once the append succeeded: a failed write is retried by the next change's diff.
// Loading applies each record to an image (apply_record) and restores the groups from them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/messages/consumer_group_current_member_assignment_value.h"
#include "protocol/messages/consumer_group_member_metadata_value.h"
#include "protocol/messages/consumer_group_metadata_value.h"
#include "protocol/messages/consumer_group_partition_metadata_value.h"
#include "protocol/messages/consumer_group_regular_expression_value.h"
#include "protocol/messages/consumer_group_target_assignment_member_value.h"
#include "protocol/messages/consumer_group_target_assignment_metadata_value.h"

namespace runnel::server::groups {

class consumer_group;

// The record types (the key's leading int16), Kafka's CoordinatorRecordType.
enum class consumer_record_type : int16_t {
    group_epoch = 3,
    subscribed_topics = 4,
    member_subscription = 5,
    target_epoch = 6,
    member_target = 7,
    member_assignment = 8,
    regex = 16,
};

namespace cgmsg {
using epoch = protocol::msg::consumer_group_metadata_value;
using topics = protocol::msg::consumer_group_partition_metadata_value;
using subscription = protocol::msg::consumer_group_member_metadata_value;
using target_epoch = protocol::msg::consumer_group_target_assignment_metadata_value;
using target = protocol::msg::consumer_group_target_assignment_member_value;
using assignment = protocol::msg::consumer_group_current_member_assignment_value;
using regex = protocol::msg::consumer_group_regular_expression_value;
}  // namespace cgmsg

struct consumer_group_image {
    std::optional<cgmsg::epoch> epoch;                         // 3; absent: no such group
    std::optional<cgmsg::topics> topics;                       // 4
    std::map<std::string, cgmsg::subscription> subscriptions;  // 5, by member id
    std::optional<cgmsg::target_epoch> target_epoch;           // 6
    std::map<std::string, cgmsg::target> targets;              // 7, by member id
    std::map<std::string, cgmsg::assignment> assignments;      // 8, by member id
    std::map<std::string, cgmsg::regex> regexes;               // 16, by regular expression

    bool exists() const { return epoch.has_value(); }
    bool operator==(const consumer_group_image&) const = default;
};

using consumer_group_value =
    std::variant<cgmsg::epoch, cgmsg::topics, cgmsg::subscription, cgmsg::target_epoch,
                 cgmsg::target, cgmsg::assignment, cgmsg::regex>;

struct consumer_group_record {
    consumer_record_type type = consumer_record_type::group_epoch;
    std::string group_id;
    std::string member_id;                      // 5, 7, 8: the member; 16: the regex
    std::optional<consumer_group_value> value;  // nullopt: tombstone
};

// What the group's records would say of it now.
consumer_group_image image_of(const consumer_group& g);
// The records that turn `from` into `to`, in the order Kafka writes them (a member's tombstones
// before its subscription goes, the group's own tombstones last). `to` without an epoch deletes
// the group.
std::vector<consumer_group_record> records_between(const std::string& group_id,
                                                   const consumer_group_image& from,
                                                   const consumer_group_image& to);
// Loading: the record's effect on the image of its group.
void apply_record(consumer_group_image& image, const consumer_group_record& r);

}  // namespace runnel::server::groups
