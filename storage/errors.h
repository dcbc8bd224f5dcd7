// Error codes returned by the storage layer. server/cluster/error_mapping.h turns them into Kafka
// codes (offset_out_of_range → OFFSET_OUT_OF_RANGE, io_error/no_space → KAFKA_STORAGE_ERROR, ...).
#pragma once

#include <boost/system/result.hpp>

#include <string>
#include <system_error>

namespace runnel::storage {

enum class errc {
    offset_out_of_range = 1,  // read/lookup outside [log_start_offset, log_end_offset]
    corrupt_segment,          // bad batch header, length or CRC found in a .log file
    corrupt_index,            // unusable .index/.timeindex content
    corrupt_metadata,         // malformed partition.metadata or offset checkpoint file
    io_error,                 // a system call failed (details are logged where it happened)
    no_space,                 // ENOSPC / EDQUOT / EFBIG (no room to write until space is made)
    invalid_batch,            // append() given bytes that are not whole v2 batches
    invalid_index_entry,      // index append out of order or into a full index (a caller bug)
    offset_overflow,          // offset does not fit the 4-byte relative offset of a segment
    log_closed,               // operation on a closed partition_log
    out_of_order_sequence,    // idempotent producer: a gap in sequence numbers
    invalid_producer_epoch,   // idempotent producer: an epoch older than the partition's
    unknown_producer_id,      // idempotent producer: no state here and the sequence is not 0
    invalid_txn_state,        // a non-transactional batch while the producer's transaction is open
    transaction_coordinator_fenced,  // a marker from a coordinator epoch older than the last one
};

class storage_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "runnel.storage"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::offset_out_of_range:
                return "offset out of range";
            case errc::corrupt_segment:
                return "corrupt log segment";
            case errc::corrupt_index:
                return "corrupt index file";
            case errc::corrupt_metadata:
                return "corrupt partition metadata or checkpoint";
            case errc::io_error:
                return "I/O error";
            case errc::no_space:
                return "no space left on device";
            case errc::invalid_batch:
                return "invalid record batch";
            case errc::invalid_index_entry:
                return "invalid index entry";
            case errc::offset_overflow:
                return "offset overflows segment";
            case errc::log_closed:
                return "log is closed";
            case errc::out_of_order_sequence:
                return "out of order sequence number";
            case errc::invalid_producer_epoch:
                return "producer epoch is older than the partition's";
            case errc::unknown_producer_id:
                return "no state for this producer id";
            case errc::invalid_txn_state:
                return "non-transactional batch while the producer's transaction is open";
            case errc::transaction_coordinator_fenced:
                return "transaction marker from an older coordinator epoch";
        }
        return "unknown storage error";
    }
};

inline const std::error_category& storage_category() {
    static const storage_category_impl category;
    return category;
}

inline std::error_code make_error_code(errc e) { return {static_cast<int>(e), storage_category()}; }

template <class T>
using result = boost::system::result<T, std::error_code>;

}  // namespace runnel::storage

template <>
struct std::is_error_code_enum<runnel::storage::errc> : std::true_type {};
