#include "server/groups/offsets_append.h"

namespace runnel::server::groups {

storage::result<storage::append_info> append_group_records(
    storage::partition_log& log, const std::vector<protocol::record_input>& records,
    const std::optional<txn_producer>& txn) {
    protocol::batch_options options;
    if (txn) {
        options.producer_id = txn->producer_id;
        options.producer_epoch = txn->producer_epoch;
        options.base_sequence = -1;
        options.transactional = true;
    }
    auto batch = protocol::build_batch(options, records);
    return log.append(batch, std::nullopt, storage::append_origin::coordinator);
}

}  // namespace runnel::server::groups
