#include "server/coordinators/transactions/transaction_metadata.h"

#include <algorithm>
#include <limits>

namespace runnel::server::transactions {

using protocol::error_code;

const char* status_name(txn_status s) {
    switch (s) {
        case txn_status::empty:
            return "Empty";
        case txn_status::ongoing:
            return "Ongoing";
        case txn_status::prepare_commit:
            return "PrepareCommit";
        case txn_status::prepare_abort:
            return "PrepareAbort";
        case txn_status::complete_commit:
            return "CompleteCommit";
        case txn_status::complete_abort:
            return "CompleteAbort";
        case txn_status::dead:
            return "Dead";
        case txn_status::prepare_epoch_fence:
            return "PrepareEpochFence";
    }
    return "Unknown";
}

bool epoch_exhausted(int16_t epoch) { return epoch >= std::numeric_limits<int16_t>::max() - 1; }

namespace {

int16_t next_epoch(int16_t e) { return static_cast<int16_t>(e + 1); }

bool finished(txn_status s) {
    return s == txn_status::empty || s == txn_status::complete_commit ||
           s == txn_status::complete_abort;
}

bool preparing(txn_status s) {
    return s == txn_status::prepare_commit || s == txn_status::prepare_abort;
}

}  // namespace

transition init_producer(const transaction_metadata* current, const std::string& transactional_id,
                         int32_t timeout_ms, int64_t expected_producer_id, int16_t expected_epoch,
                         const std::function<int64_t()>& new_producer_id, int64_t now_ms) {
    const bool expects = expected_producer_id >= 0 || expected_epoch >= 0;
    if (!current) {
        transaction_metadata m;
        m.transactional_id = transactional_id;
        m.producer_id = new_producer_id();
        m.producer_epoch = 0;
        m.timeout_ms = timeout_ms;
        m.status = txn_status::empty;
        m.last_update_ms = now_ms;
        return m;
    }
    const transaction_metadata& c = *current;
    // KIP-360: a producer naming its id and epoch is fenced unless it is this one (or the one
    // before an id rotation, retrying after its epoch ran out), or the state is brand new.
    if (expects &&
        !(c.producer_epoch < 0 || expected_producer_id == c.producer_id ||
          (expected_producer_id == c.previous_producer_id && epoch_exhausted(expected_epoch)))) {
        return error_code::producer_fenced;
    }
    if (preparing(c.status)) return error_code::concurrent_transactions;
    if (c.status == txn_status::ongoing) {
        // Fence the current producer: bump the epoch (never handed out) and abort its open
        // transaction; the client gets CONCURRENT_TRANSACTIONS and retries.
        transaction_metadata m = c;
        m.producer_epoch = next_epoch(c.producer_epoch);
        m.last_producer_epoch = -1;
        m.status = txn_status::prepare_epoch_fence;
        m.last_update_ms = now_ms;
        return m;
    }
    if (!finished(c.status)) return error_code::invalid_txn_state;  // Dead, PrepareEpochFence

    transaction_metadata m = c;
    m.timeout_ms = timeout_ms;
    m.partitions.clear();
    m.start_ms = -1;
    m.last_update_ms = now_ms;
    m.status = txn_status::empty;
    if (epoch_exhausted(c.producer_epoch) && (!expects || expected_epoch == c.producer_epoch)) {
        m.previous_producer_id = c.producer_id;
        m.producer_id = new_producer_id();
        m.producer_epoch = 0;
        m.last_producer_epoch = -1;
        return m;
    }
    if (!expects) {
        m.producer_epoch = next_epoch(c.producer_epoch);
        m.last_producer_epoch = -1;
    } else if (c.producer_epoch < 0 || expected_epoch == c.producer_epoch) {
        m.last_producer_epoch = c.producer_epoch;
        m.producer_epoch = next_epoch(c.producer_epoch);
    } else if (expected_epoch == c.last_producer_epoch) {
        return c;  // a retry of a bump that succeeded: the same epoch again
    } else {
        return error_code::producer_fenced;
    }
    return m;
}

transition add_partitions(const transaction_metadata* current, int64_t producer_id,
                          int16_t producer_epoch, const std::set<topic_partition>& partitions,
                          int64_t now_ms) {
    if (!current || current->producer_id != producer_id)
        return error_code::invalid_producer_id_mapping;
    const transaction_metadata& c = *current;
    if (c.producer_epoch != producer_epoch) return error_code::producer_fenced;
    if (preparing(c.status) || c.status == txn_status::prepare_epoch_fence)
        return error_code::concurrent_transactions;
    if (c.status == txn_status::dead) return error_code::invalid_txn_state;
    if (c.status == txn_status::ongoing && std::includes(c.partitions.begin(), c.partitions.end(),
                                                         partitions.begin(), partitions.end())) {
        return c;  // nothing new
    }
    transaction_metadata m = c;
    if (c.status != txn_status::ongoing) {
        m.partitions.clear();
        m.start_ms = now_ms;
    }
    m.partitions.insert(partitions.begin(), partitions.end());
    m.status = txn_status::ongoing;
    m.last_update_ms = now_ms;
    return m;
}

transition end_transaction(const transaction_metadata* current, int64_t producer_id,
                           int16_t producer_epoch, bool commit, int64_t now_ms) {
    if (!current || current->producer_id != producer_id)
        return error_code::invalid_producer_id_mapping;
    const transaction_metadata& c = *current;
    if (c.producer_epoch != producer_epoch) return error_code::producer_fenced;
    switch (c.status) {
        case txn_status::ongoing: {
            transaction_metadata m = c;
            m.status = commit ? txn_status::prepare_commit : txn_status::prepare_abort;
            m.last_update_ms = now_ms;
            return m;
        }
        case txn_status::complete_commit:
            return commit ? error_code::none : error_code::invalid_txn_state;
        case txn_status::complete_abort:
            return commit ? error_code::invalid_txn_state : error_code::none;
        case txn_status::prepare_commit:
            return commit ? error_code::concurrent_transactions : error_code::invalid_txn_state;
        case txn_status::prepare_abort:
            return commit ? error_code::invalid_txn_state : error_code::concurrent_transactions;
        case txn_status::prepare_epoch_fence:
            return error_code::concurrent_transactions;
        case txn_status::empty:
        case txn_status::dead:
            return error_code::invalid_txn_state;
    }
    return error_code::invalid_txn_state;
}

transaction_metadata complete_transaction(const transaction_metadata& prepared, int64_t now_ms) {
    transaction_metadata m = prepared;
    m.status = prepared.status == txn_status::prepare_commit ? txn_status::complete_commit
                                                             : txn_status::complete_abort;
    m.partitions.clear();
    m.last_update_ms = now_ms;
    return m;
}

std::optional<transaction_metadata> abort_if_timed_out(const transaction_metadata& current,
                                                       int64_t now_ms) {
    if (current.status != txn_status::ongoing || current.start_ms < 0 ||
        now_ms - current.start_ms <= current.timeout_ms) {
        return std::nullopt;
    }
    // Kafka bumps the epoch so the timed-out producer is fenced from here on.
    transaction_metadata m = current;
    if (!epoch_exhausted(current.producer_epoch))
        m.producer_epoch = next_epoch(current.producer_epoch);
    m.last_producer_epoch = -1;
    m.status = txn_status::prepare_abort;
    m.last_update_ms = now_ms;
    return m;
}

transaction_metadata fence_to_abort(const transaction_metadata& fencing, int64_t now_ms) {
    transaction_metadata m = fencing;
    m.status = txn_status::prepare_abort;
    m.last_update_ms = now_ms;
    return m;
}

bool expired(const transaction_metadata& m, int64_t now_ms, int64_t expiration_ms) {
    const bool idle_state = m.status == txn_status::empty ||
                            m.status == txn_status::complete_commit ||
                            m.status == txn_status::complete_abort;
    return idle_state && m.last_update_ms <= now_ms - expiration_ms;
}

}  // namespace runnel::server::transactions
