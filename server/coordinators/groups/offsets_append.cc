#include "server/coordinators/groups/offsets_append.h"

namespace runnel::server::groups {

std::vector<uint8_t> group_records_batch(const std::vector<protocol::record_input>& records,
                                         const std::optional<txn_producer>& txn) {
    protocol::batch_options options;
    if (txn) {
        options.producer_id = txn->producer_id;
        options.producer_epoch = txn->producer_epoch;
        options.base_sequence = -1;
        options.transactional = true;
    }
    return protocol::build_batch(options, records);
}

}  // namespace runnel::server::groups
