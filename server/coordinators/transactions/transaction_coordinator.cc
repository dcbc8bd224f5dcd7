#include "server/coordinators/transactions/transaction_coordinator.h"

#include "server/coordinators/transactions/transaction_log_records.h"

namespace runnel::server::transactions {

using protocol::error_code;

namespace {

error_code storage_failure() { return error_code::coordinator_not_available; }

}  // namespace

void transaction_coordinator::load(int32_t partition, const std::string& transactional_id,
                                   std::optional<transaction_metadata> metadata) {
    if (!metadata) {
        entries_.erase(transactional_id);
        return;
    }
    entries_[transactional_id] = entry{partition, std::move(*metadata)};
}

std::vector<std::string> transaction_coordinator::unfinished() const {
    std::vector<std::string> out;
    for (const auto& [id, e] : entries_) {
        auto s = e.metadata.status;
        if (s == txn_status::prepare_commit || s == txn_status::prepare_abort ||
            s == txn_status::prepare_epoch_fence)
            out.push_back(id);
    }
    return out;
}

void transaction_coordinator::unload(int32_t partition) {
    std::erase_if(entries_,
                  [partition](const auto& kv) { return kv.second.partition == partition; });
}

asio::awaitable<void> transaction_coordinator::resume(const std::string& id) {
    auto it = entries_.find(id);
    if (it == entries_.end() || pending_.count(id)) co_return;
    if (it->second.metadata.status == txn_status::prepare_epoch_fence) {
        if (co_await persist(it->second.partition,
                             fence_to_abort(it->second.metadata, hooks_.now_ms())))
            co_return;
    }
    (void)co_await finish(id);
}

const transaction_metadata* transaction_coordinator::find(const std::string& id) const {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second.metadata;
}

asio::awaitable<std::error_code> transaction_coordinator::persist(int32_t partition,
                                                                  transaction_metadata next) {
    pending_.insert(next.transactional_id);
    auto key = encode_key(next.transactional_id);
    auto value = encode_value(next);
    std::error_code ec = co_await hooks_.append(partition, std::move(key), std::move(value));
    pending_.erase(next.transactional_id);
    if (!ec) {
        auto& e = entries_[next.transactional_id];
        e.partition = partition;
        e.metadata = std::move(next);
    }
    co_return ec;
}

asio::awaitable<std::error_code> transaction_coordinator::finish(const std::string& id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) co_return std::error_code{};
    const transaction_metadata prepared = it->second.metadata;
    const int32_t partition = it->second.partition;
    if (prepared.status != txn_status::prepare_commit &&
        prepared.status != txn_status::prepare_abort)
        co_return std::error_code{};
    pending_.insert(id);
    std::error_code ec = co_await hooks_.write_markers(
        partition, prepared.producer_id, prepared.producer_epoch,
        prepared.status == txn_status::prepare_commit, prepared.partitions);
    pending_.erase(id);
    // Without all markers the transaction stays prepared; resume() retries later.
    if (ec) co_return ec;
    co_return co_await persist(partition, complete_transaction(prepared, hooks_.now_ms()));
}

asio::awaitable<init_result> transaction_coordinator::init_producer_id(int32_t partition,
                                                                       const std::string& id,
                                                                       int32_t timeout_ms,
                                                                       int64_t expected_producer_id,
                                                                       int16_t expected_epoch) {
    init_result r;
    if (timeout_ms <= 0 || timeout_ms > max_timeout_ms_) {
        r.error = error_code::invalid_transaction_timeout;
        co_return r;
    }
    if (pending_.count(id)) {
        r.error = error_code::concurrent_transactions;
        co_return r;
    }
    std::error_code id_error;
    auto new_id = [&]() -> int64_t {
        int64_t pid = -1;
        id_error = hooks_.new_producer_id(pid);
        return pid;
    };
    auto t = init_producer(find(id), id, timeout_ms, expected_producer_id, expected_epoch, new_id,
                           hooks_.now_ms());
    if (id_error) {
        r.error = storage_failure();
        co_return r;
    }
    if (auto* e = std::get_if<error_code>(&t)) {
        r.error = *e;
        co_return r;
    }
    auto next = std::get<transaction_metadata>(std::move(t));
    const bool fencing = next.status == txn_status::prepare_epoch_fence;
    if (co_await persist(partition, next)) {
        r.error = storage_failure();
        co_return r;
    }
    if (fencing) {
        // Abort the open transaction of the producer just fenced; the client retries and then
        // gets the next epoch.
        co_await resume(id);
        r.error = error_code::concurrent_transactions;
        co_return r;
    }
    r.producer_id = next.producer_id;
    r.producer_epoch = next.producer_epoch;
    co_return r;
}

asio::awaitable<error_code> transaction_coordinator::add_partitions(
    int32_t partition, const std::string& id, int64_t producer_id, int16_t epoch,
    std::set<topic_partition> partitions) {
    if (pending_.count(id)) co_return error_code::concurrent_transactions;
    const transaction_metadata* current = find(id);
    auto t = transactions::add_partitions(current, producer_id, epoch, partitions, hooks_.now_ms());
    if (auto* e = std::get_if<error_code>(&t)) co_return *e;
    auto next = std::get<transaction_metadata>(std::move(t));
    if (current && next == *current) co_return error_code::none;  // nothing new to record
    if (co_await persist(partition, std::move(next))) co_return storage_failure();
    co_return error_code::none;
}

std::map<topic_partition, error_code> transaction_coordinator::verify_partitions(
    const std::string& id, int64_t producer_id, int16_t epoch,
    const std::set<topic_partition>& partitions) const {
    error_code all = error_code::none;
    const transaction_metadata* m = find(id);
    if (!m || m->producer_id != producer_id) {
        all = error_code::invalid_producer_id_mapping;
    } else if (m->producer_epoch != epoch) {
        all = error_code::producer_fenced;
    } else if (pending_.count(id) || m->status == txn_status::prepare_commit ||
               m->status == txn_status::prepare_abort) {
        all = error_code::concurrent_transactions;
    }
    std::map<topic_partition, error_code> out;
    for (const auto& tp : partitions) {
        if (all != error_code::none) {
            out[tp] = all;
        } else {
            const bool in_txn = m->status == txn_status::ongoing && m->partitions.count(tp);
            out[tp] = in_txn ? error_code::none : error_code::invalid_txn_state;
        }
    }
    return out;
}

asio::awaitable<error_code> transaction_coordinator::end_transaction(int32_t partition,
                                                                     const std::string& id,
                                                                     int64_t producer_id,
                                                                     int16_t epoch, bool commit) {
    if (pending_.count(id)) co_return error_code::concurrent_transactions;
    auto t = transactions::end_transaction(find(id), producer_id, epoch, commit, hooks_.now_ms());
    if (auto* e = std::get_if<error_code>(&t)) co_return *e;
    if (co_await persist(partition, std::get<transaction_metadata>(std::move(t))))
        co_return storage_failure();
    // The markers are written before the answer (Kafka answers after the Prepare record and
    // writes them in the background; the client then sees CONCURRENT_TRANSACTIONS meanwhile).
    if (co_await finish(id)) co_return storage_failure();
    co_return error_code::none;
}

asio::awaitable<size_t> transaction_coordinator::abort_timed_out() {
    std::vector<std::pair<int32_t, transaction_metadata>> due;
    const int64_t now = hooks_.now_ms();
    for (const auto& [id, e] : entries_) {
        if (pending_.count(id)) continue;
        if (auto next = abort_if_timed_out(e.metadata, now)) due.emplace_back(e.partition, *next);
    }
    size_t aborted = 0;
    for (auto& [partition, next] : due) {
        std::string id = next.transactional_id;
        if (co_await persist(partition, std::move(next))) continue;
        if (!co_await finish(id)) ++aborted;
    }
    co_return aborted;
}

asio::awaitable<size_t> transaction_coordinator::expire_ids(int64_t expiration_ms) {
    std::vector<std::string> due;
    for (const auto& [id, e] : entries_) {
        if (!pending_.count(id) && expired(e.metadata, hooks_.now_ms(), expiration_ms))
            due.push_back(id);
    }
    size_t removed = 0;
    for (const auto& id : due) {
        // Requests may have used the id while an earlier tombstone was written: check again.
        auto it = entries_.find(id);
        if (it == entries_.end() || pending_.count(id) ||
            !expired(it->second.metadata, hooks_.now_ms(), expiration_ms))
            continue;
        const int32_t partition = it->second.partition;
        pending_.insert(id);
        std::error_code ec = co_await hooks_.append(partition, encode_key(id), std::nullopt);
        pending_.erase(id);
        if (ec) continue;
        entries_.erase(id);
        ++removed;
    }
    co_return removed;
}

}  // namespace runnel::server::transactions
