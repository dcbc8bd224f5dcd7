// Transaction markers (KIP-98): the control batch that ends a transaction in a partition, as
// Kafka's EndTransactionMarker writes it. Attributes: control and transactional bits, no
// compression, CreateTime. Producer id and epoch are the transaction's, base sequence -1. One
// record: key [int16 version 0][int16 type: 0 abort, 1 commit], value [int16 version 0]
// [int32 coordinator epoch].
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace runnel::protocol {

// Kafka's ControlRecordType values for the two end-of-transaction markers.
enum class txn_result : int16_t { abort = 0, commit = 1 };

struct end_txn_marker {
    txn_result result = txn_result::abort;
    int32_t coordinator_epoch = 0;
};

struct marker_batch_options {
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int64_t timestamp = -1;
    int32_t partition_leader_epoch = -1;
};

// The whole control batch (base offset 0, CRC set).
std::vector<uint8_t> build_end_txn_marker_batch(const marker_batch_options& options,
                                                const end_txn_marker& marker);

// The marker carried by a control batch (the first batch in `batch`). nullopt when it is not a
// control batch, has no record (the cleaner may empty it), is another control type (e.g. KRaft's),
// or is malformed. A value version above 0 is read as version 0, as Kafka does.
std::optional<end_txn_marker> parse_end_txn_marker(std::span<const uint8_t> batch);

}  // namespace runnel::protocol
