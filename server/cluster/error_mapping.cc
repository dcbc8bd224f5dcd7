#include "server/cluster/error_mapping.h"

#include "storage/errors.h"

#include <string>

namespace runnel::server {

namespace {

class replication_category_impl : public std::error_category {
  public:
    const char* name() const noexcept override { return "replication"; }
    std::string message(int ev) const override {
        switch (static_cast<replication_errc>(ev)) {
            case replication_errc::not_leader:
                return "this broker stopped leading the partition";
            case replication_errc::timed_out:
                return "the in-sync replicas did not acknowledge in time";
            case replication_errc::not_enough_replicas_after_append:
                return "the in-sync replicas fell below min.insync.replicas after the append";
        }
        return "replication error";
    }
};

}  // namespace

const std::error_category& replication_category() {
    static const replication_category_impl instance;
    return instance;
}

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
    if (ec.category() == replication_category()) {
        switch (static_cast<replication_errc>(ec.value())) {
            case replication_errc::not_leader:
                return error_code::not_leader_or_follower;
            case replication_errc::timed_out:
                return error_code::request_timed_out;
            case replication_errc::not_enough_replicas_after_append:
                return error_code::not_enough_replicas_after_append;
        }
    }
    // Producer ids of a cluster on their way from ZooKeeper (producer_ids): the client retries.
    if (ec == std::errc::resource_unavailable_try_again)
        return error_code::coordinator_load_in_progress;
    if (ec.category() == std::generic_category() || ec.category() == std::system_category()) {
        return error_code::kafka_storage_error;
    }
    return error_code::unknown_server_error;
}

}  // namespace runnel::server
