// The offsets committed inside open transactions (TxnOffsetCommit, KIP-98 / KIP-447) of one
// __consumer_offsets partition, held per producer id until the transaction's marker: a commit
// makes them committed offsets, an abort drops them. Kafka's pendingTransactionalOffsets and
// openTransactionsByGroup of OffsetMetadataManager.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "server/coordinators/groups/group_records.h"

namespace runnel::server::groups {

class pending_offsets {
  public:
    // group id → its offsets in one transaction
    using by_group = std::map<std::string, offsets_by_topic>;

    // The producer's transaction commits `e` for the group's partition (a later one replaces it).
    void put(int64_t producer_id, const std::string& group, const std::string& topic,
             int32_t partition, const offset_entry& e);
    // Removes and returns the producer's offsets (its transaction ended); empty when none.
    by_group take(int64_t producer_id);
    // An offset tombstone of the group's partition also removes it from every open transaction,
    // as Kafka's replay does (DeleteGroups, OffsetDelete, expiry).
    void erase(const std::string& group, const std::string& topic, int32_t partition);

    // Whether an open transaction holds an offset for the group's partition.
    bool has(const std::string& group, const std::string& topic, int32_t partition) const;
    // Whether a transaction that committed offsets for the group is still open (even if a
    // tombstone removed them since), as Kafka's openTransactionsByGroup tells.
    bool has_open_transaction(const std::string& group) const {
        return producers_by_group_.count(group) > 0;
    }
    // The group's partitions held by any open transaction: (topic, partition).
    std::set<std::pair<std::string, int32_t>> partitions_of(const std::string& group) const;
    const offset_entry* find(int64_t producer_id, const std::string& group,
                             const std::string& topic, int32_t partition) const;
    bool empty() const { return by_producer_.empty(); }

  private:
    std::map<int64_t, by_group> by_producer_;
    std::map<std::string, std::set<int64_t>> producers_by_group_;
};

}  // namespace runnel::server::groups
