// How the group coordinator's records are framed for a __consumer_offsets partition.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "protocol/record_batch.h"
#include "server/coordinators/groups/group_coordinator.h"

namespace runnel::server::groups {

// `records` as one uncompressed batch, to append with the coordinator origin. For a
// TxnOffsetCommit (`txn` set) the batch is transactional, carries the producer id and epoch and
// base sequence -1 (NO_SEQUENCE), as Kafka's coordinator writes it; the coordinator origin has the
// log check the epoch only.
std::vector<uint8_t> group_records_batch(const std::vector<protocol::record_input>& records,
                                         const std::optional<txn_producer>& txn);

}  // namespace runnel::server::groups
