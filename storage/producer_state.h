// Idempotent and transactional producers' state in one partition (Kafka's ProducerStateManager):
// per producer id, the epoch and the last five batches written, so a retried batch is recognised
// and answered with its original offsets, and a gap or a stale epoch is refused; the open
// transaction of each producer (from its first transactional batch to its end marker), which
// bounds the last stable offset; and the coordinator epoch of its last marker. Saved in Kafka's
// .snapshot files and rebuilt from the log's batch headers after the snapshot on open. One shard
// owns it; no locks.
#pragma once

#include "storage/errors.h"

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

namespace runnel::storage {

struct batch_header;

// One written batch of a producer.
struct producer_batch {
    int32_t first_seq = -1;
    int32_t last_seq = -1;
    int64_t first_offset = -1;
    int64_t last_offset = -1;
    int64_t timestamp = -1;  // max timestamp of the batch
};

struct producer_entry {
    int16_t epoch = -1;
    std::deque<producer_batch> batches;     // oldest first, at most producer_state::kept_batches
    int32_t coordinator_epoch = -1;         // of the last transaction marker written
    int64_t last_timestamp = -1;            // for producer.id.expiration.ms
    int64_t current_txn_first_offset = -1;  // -1: no open transaction

    // Last sequence of the newest batch; -1 when only a marker is known (Kafka's lastSeq).
    int32_t last_seq() const { return batches.empty() ? -1 : batches.back().last_seq; }
};

// The producer fields of one incoming batch.
struct producer_append {
    int64_t producer_id = -1;
    int16_t epoch = -1;
    int32_t first_seq = -1;
    int32_t last_seq = -1;  // first_seq + last_offset_delta, wrapping at INT32_MAX
    int64_t timestamp = -1;
    bool transactional = false;  // attribute bit 4

    bool idempotent() const { return producer_id >= 0; }
    static producer_append of(const batch_header& h);
};

// Who appends a data batch (Kafka's AppendOrigin): a client's Produce, or a coordinator of this
// broker writing to its own internal topic (the group coordinator's transactional offset commits,
// which carry no sequence numbers).
enum class append_origin { client, coordinator };

// A transaction marker (control batch) about to be written or replayed.
struct marker_append {
    int64_t producer_id = -1;
    int16_t epoch = -1;
    int32_t coordinator_epoch = -1;
    bool commit = false;
    int64_t timestamp = -1;
};

// A transaction ended by a marker (Kafka's CompletedTxn).
struct completed_txn {
    int64_t producer_id = -1;
    int64_t first_offset = -1;
    int64_t last_offset = -1;  // the marker's offset
    bool aborted = false;
    // The partition's last stable offset once this transaction is complete: the first offset of
    // the earliest other open transaction, else the marker's offset + 1.
    int64_t last_stable_offset = -1;
};

class producer_state {
  public:
    // Kafka keeps this many batches per producer (the most a producer has in flight).
    static constexpr size_t kept_batches = 5;

    // Checks a data batch before it is appended. nullopt: append it. A producer_batch: it is a
    // retry of that batch, already in the log. Errors: errc::invalid_producer_epoch (an older
    // epoch), errc::out_of_order_sequence (a gap, or a new epoch not starting at 0),
    // errc::unknown_producer_id (no state for this producer, e.g. expired, and the sequence does
    // not start at 0), errc::invalid_txn_state (a non-transactional batch while the producer's
    // transaction is open, as Kafka refuses it). A coordinator's batch is checked for its epoch
    // only (Kafka skips the sequence checks for that origin): errc::invalid_producer_epoch or
    // nullopt.
    result<std::optional<producer_batch>> check(const producer_append& a,
                                                append_origin origin = append_origin::client) const;
    // Records a data batch written at [first_offset, last_offset] (after check, or while replaying
    // the log on open). A transactional batch from a producer with no open transaction opens one
    // at first_offset. A batch without a sequence (first_seq -1, a coordinator's) is not kept
    // among the producer's batches: no retry can match it; it moves the epoch and the
    // transaction only.
    void update(const producer_append& a, int64_t first_offset, int64_t last_offset);

    // Checks a transaction marker before it is written, as Kafka's appendEndTxnMarker does:
    // errc::invalid_producer_epoch for an epoch older than the producer's,
    // errc::transaction_coordinator_fenced for a coordinator epoch older than the one of the
    // producer's last marker. A producer with no state or no open transaction is fine: the
    // marker is written anyway.
    std::error_code check_marker(const marker_append& m) const;
    // The transaction a marker at `offset` would complete, without changing anything; nullopt when
    // the producer has no open transaction.
    std::optional<completed_txn> completion(const marker_append& m, int64_t offset) const;
    // Records a marker written at `offset` (after check_marker, or while replaying): the
    // producer's open transaction ends, and its epoch and coordinator epoch become the marker's
    // (a new epoch forgets the producer's batches, as a new epoch's sequences restart at 0).
    void apply_marker(const marker_append& m, int64_t offset);

    // First offset of the earliest open transaction (Kafka's first undecided offset), or nullopt.
    std::optional<int64_t> first_unstable_offset() const;
    // Open transactions: first offset -> producer id.
    const std::map<int64_t, int64_t>& ongoing_transactions() const { return ongoing_; }

    // Drops producers idle for longer than expiration_ms (producer.id.expiration.ms); returns how
    // many.
    size_t expire(int64_t now_ms, int64_t expiration_ms);
    // Drops producers whose last batch lies wholly below the log start offset (retention,
    // DeleteRecords): their data is gone, as Kafka's truncateHead does. Producers with an open
    // transaction, and those whose only state is their last marker's epochs, stay.
    void drop_below(int64_t log_start_offset);

    const producer_entry* find(int64_t producer_id) const;
    // fn(producer_id, entry) for every producer with state, in no particular order
    // (DescribeProducers lists them, KIP-664).
    template <class Fn>
    void for_each(Fn&& fn) const {
        for (const auto& [id, e] : producers_) fn(id, e);
    }
    size_t size() const { return producers_.size(); }
    void clear() {
        producers_.clear();
        ongoing_.clear();
    }

    // Kafka's snapshot format (see protocol/schema/producer_snapshot.msg). Only each producer's
    // last batch is saved, as in Kafka.
    std::vector<uint8_t> serialize() const;
    static result<producer_state> parse(const std::vector<uint8_t>& bytes);

  private:
    std::unordered_map<int64_t, producer_entry> producers_;
    // Open transactions, by first offset (the smallest is the first unstable offset).
    std::map<int64_t, int64_t> ongoing_;
};

// <offset>.snapshot files in a partition directory.
inline constexpr std::string_view snapshot_suffix = ".snapshot";
// Offsets of the snapshot files in `dir`, ascending.
std::vector<int64_t> list_producer_snapshots(const std::filesystem::path& dir);
result<producer_state> read_producer_snapshot(const std::filesystem::path& dir, int64_t offset);
// Deletes the snapshots at offsets above `offset` (after truncation) or, with below = true, the
// ones below it except the newest of those (after retention), as Kafka does.
void delete_producer_snapshots(const std::filesystem::path& dir, int64_t offset, bool below);

}  // namespace runnel::storage
