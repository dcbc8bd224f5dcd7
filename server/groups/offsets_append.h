// How the group coordinator's records go into a __consumer_offsets partition log.
#pragma once

#include <optional>
#include <vector>

#include "protocol/record_batch.h"
#include "server/groups/group_coordinator.h"
#include "storage/partition_log.h"

namespace runnel::server::groups {

// Appends `records` as one uncompressed batch. For a TxnOffsetCommit (`txn` set) the batch is
// transactional, carries the producer id and epoch and base sequence -1 (NO_SEQUENCE), as
// Kafka's coordinator writes it; the coordinator origin has the log check the epoch only.
storage::result<storage::append_info> append_group_records(
    storage::partition_log& log, const std::vector<protocol::record_input>& records,
    const std::optional<txn_producer>& txn);

}  // namespace runnel::server::groups
