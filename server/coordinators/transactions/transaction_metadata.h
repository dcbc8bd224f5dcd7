// One transactional id's state as the transaction coordinator keeps it, and the transitions the
// transaction APIs make (Kafka's TransactionMetadata and TransactionCoordinator rules, transactions
// V1). Pure logic: each operation returns either a Kafka error for the client or the next state,
// which the coordinator persists to __transaction_state before it takes effect.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include "protocol/errors.h"

namespace runnel::server::transactions {

// Values stored in TransactionLogValue.TransactionStatus.
enum class txn_status : int8_t {
    empty = 0,
    ongoing = 1,
    prepare_commit = 2,
    prepare_abort = 3,
    complete_commit = 4,
    complete_abort = 5,
    dead = 6,
    prepare_epoch_fence = 7,
};
const char* status_name(
    txn_status s);  // Kafka's names, for DescribeTransactions / ListTransactions

struct topic_partition {
    std::string topic;
    int32_t partition = 0;
    auto operator<=>(const topic_partition&) const = default;
};

struct transaction_metadata {
    std::string transactional_id;
    int64_t producer_id = -1;
    int64_t previous_producer_id = -1;  // before an id rotation (epoch exhausted)
    int16_t producer_epoch = -1;
    int16_t last_producer_epoch = -1;  // the epoch before the last bump, to recognise retries
    int32_t timeout_ms = 60000;
    txn_status status = txn_status::empty;
    std::set<topic_partition> partitions;  // in the current transaction
    int64_t start_ms = -1;                 // when the current transaction began
    int64_t last_update_ms = -1;

    bool operator==(const transaction_metadata&) const = default;
};

// Either the error to answer with, or the state to persist.
using transition = std::variant<protocol::error_code, transaction_metadata>;

// Epochs at or above this cannot be bumped any further: a new producer id is needed.
bool epoch_exhausted(int16_t epoch);

// InitProducerId for a transactional id. `current` is null for an unknown id. `expected_*` are
// the v3+ ProducerId/ProducerEpoch fields (-1 when absent). A next state in prepare_epoch_fence
// means an open transaction must be aborted first; the client is then told
// CONCURRENT_TRANSACTIONS and retries.
transition init_producer(const transaction_metadata* current, const std::string& transactional_id,
                         int32_t timeout_ms, int64_t expected_producer_id, int16_t expected_epoch,
                         const std::function<int64_t()>& new_producer_id, int64_t now_ms);

// AddPartitionsToTxn / AddOffsetsToTxn (which adds the group's __consumer_offsets partition).
// error_code::none with no state change is returned as the unchanged metadata.
transition add_partitions(const transaction_metadata* current, int64_t producer_id,
                          int16_t producer_epoch, const std::set<topic_partition>& partitions,
                          int64_t now_ms);

// EndTxn: Ongoing -> PrepareCommit/PrepareAbort. A retry of a finished commit or abort is
// answered error_code::none (returned as an error value, as nothing is to be written).
transition end_transaction(const transaction_metadata* current, int64_t producer_id,
                           int16_t producer_epoch, bool commit, int64_t now_ms);

// After the markers were written: PrepareCommit -> CompleteCommit, PrepareAbort ->
// CompleteAbort (the partitions are cleared).
transaction_metadata complete_transaction(const transaction_metadata& prepared, int64_t now_ms);

// The transaction timed out (Ongoing for longer than timeout_ms): the producer is fenced (epoch
// bumped) and the transaction goes to PrepareAbort. nullopt when it has not timed out.
std::optional<transaction_metadata> abort_if_timed_out(const transaction_metadata& current,
                                                       int64_t now_ms);

// Whether the id may be forgotten: no transaction under way (Empty, CompleteCommit,
// CompleteAbort) and no change for expiration_ms (Kafka's transactional.id.expiration.ms rule).
bool expired(const transaction_metadata& m, int64_t now_ms, int64_t expiration_ms);

// From PrepareEpochFence (InitProducerId found an open transaction): abort it.
transaction_metadata fence_to_abort(const transaction_metadata& fencing, int64_t now_ms);

}  // namespace runnel::server::transactions
