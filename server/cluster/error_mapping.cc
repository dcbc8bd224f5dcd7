#include "server/cluster/error_mapping.h"

#include "storage/errors.h"

namespace runnel::server {

protocol::error_code map_to_kafka_error(const std::error_code& ec) {
    using protocol::error_code;
    if (!ec) return error_code::none;
    if (ec.category() == storage::storage_category()) {
        switch (static_cast<storage::errc>(ec.value())) {
            case storage::errc::offset_out_of_range:
                return error_code::offset_out_of_range;
            case storage::errc::invalid_batch:
                return error_code::corrupt_message;
            case storage::errc::corrupt_segment:
            case storage::errc::corrupt_index:
            case storage::errc::corrupt_metadata:
            case storage::errc::io_error:
            case storage::errc::no_space:
            case storage::errc::log_closed:
                return error_code::kafka_storage_error;
            case storage::errc::out_of_order_sequence:
                return error_code::out_of_order_sequence_number;
            case storage::errc::invalid_producer_epoch:
                return error_code::invalid_producer_epoch;
            case storage::errc::unknown_producer_id:
                return error_code::unknown_producer_id;
            case storage::errc::invalid_txn_state:
                return error_code::invalid_txn_state;
            case storage::errc::transaction_coordinator_fenced:
                return error_code::transaction_coordinator_fenced;
            case storage::errc::invalid_index_entry:
            case storage::errc::offset_overflow:
                return error_code::unknown_server_error;
        }
    }
    if (ec.category() == std::generic_category() || ec.category() == std::system_category()) {
        return error_code::kafka_storage_error;
    }
    return error_code::unknown_server_error;
}

}  // namespace runnel::server
