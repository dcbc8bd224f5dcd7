// The transaction coordinator of one shard: the transactional ids whose __transaction_state
// partitions that shard owns (Kafka's TransactionCoordinator + TransactionStateManager, V1).
// Runs on its shard only. Every state change is written to __transaction_state (through
// hooks::append) before it takes effect or is answered; commit and abort markers go to the
// transaction's partitions through hooks::write_markers before the transaction completes. While
// one of those writes is under way for an id, other requests for it get CONCURRENT_TRANSACTIONS,
// as in Kafka.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "server/coordinators/transactions/transaction_metadata.h"

namespace runnel::server::transactions {

namespace asio = boost::asio;

struct coordinator_hooks {
    // Appends one record (key, value or nullopt for a tombstone) to __transaction_state partition
    // `partition` and returns once it is stored.
    std::function<asio::awaitable<std::error_code>(int32_t partition, std::vector<uint8_t> key,
                                                   std::optional<std::vector<uint8_t>> value)>
        append;
    // Writes a commit or abort marker for the producer to every partition; returns once all are
    // stored (an error otherwise). `partition` is the transaction's __transaction_state
    // partition (its leader epoch is the markers' coordinator epoch).
    std::function<asio::awaitable<std::error_code>(int32_t partition, int64_t producer_id,
                                                   int16_t producer_epoch, bool commit,
                                                   std::set<topic_partition> partitions)>
        write_markers;
    // A new producer id, or an error.
    std::function<std::error_code(int64_t& id)> new_producer_id;
    std::function<int64_t()> now_ms;
};

struct init_result {
    protocol::error_code error = protocol::error_code::none;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
};

class transaction_coordinator {
  public:
    transaction_coordinator(coordinator_hooks hooks, int32_t max_timeout_ms)
        : hooks_(std::move(hooks)), max_timeout_ms_(max_timeout_ms) {}

    // Loading: the state of each id as the partition's records left it (latest record wins).
    void load(int32_t partition, const std::string& transactional_id,
              std::optional<transaction_metadata> metadata);
    // Forgets the ids of `partition` (before it is loaded again, or once another broker leads
    // it).
    void unload(int32_t partition);
    // After loading: transactions found half-way (Prepare*) are completed, PrepareEpochFence
    // ones aborted, by the caller's loop through resume().
    std::vector<std::string> unfinished() const;
    asio::awaitable<void> resume(const std::string& transactional_id);

    asio::awaitable<init_result> init_producer_id(int32_t partition, const std::string& id,
                                                  int32_t timeout_ms, int64_t expected_producer_id,
                                                  int16_t expected_epoch);
    asio::awaitable<protocol::error_code> add_partitions(int32_t partition, const std::string& id,
                                                         int64_t producer_id, int16_t epoch,
                                                         std::set<topic_partition> partitions);
    // AddPartitionsToTxn v4+ VerifyOnly (KIP-890 part 1): whether each partition is in the
    // producer's ongoing transaction (NONE) or not (INVALID_TXN_STATE); a request-level problem
    // (unknown id or producer, fenced epoch, a transaction being completed) applies to all.
    std::map<topic_partition, protocol::error_code> verify_partitions(
        const std::string& id, int64_t producer_id, int16_t epoch,
        const std::set<topic_partition>& partitions) const;
    asio::awaitable<protocol::error_code> end_transaction(int32_t partition, const std::string& id,
                                                          int64_t producer_id, int16_t epoch,
                                                          bool commit);
    // Aborts every transaction open for longer than its timeout; returns how many.
    asio::awaitable<size_t> abort_timed_out();
    // Forgets the ids idle for longer than expiration_ms (transactional.id.expiration.ms) with no
    // transaction under way, writing a tombstone for each; returns how many.
    asio::awaitable<size_t> expire_ids(int64_t expiration_ms);

    const transaction_metadata* find(const std::string& id) const;
    template <class F>
    void for_each(F&& f) const {
        for (const auto& [id, e] : entries_) f(e.metadata);
    }

  private:
    struct entry {
        int32_t partition = 0;
        transaction_metadata metadata;
    };
    // Persists `next` for the id (marking it pending meanwhile); on success it becomes current.
    asio::awaitable<std::error_code> persist(int32_t partition, transaction_metadata next);
    // Prepare* -> markers -> Complete*.
    asio::awaitable<std::error_code> finish(const std::string& id);

    coordinator_hooks hooks_;
    int32_t max_timeout_ms_;
    std::map<std::string, entry> entries_;
    std::set<std::string> pending_;  // a write for this id is under way
};

}  // namespace runnel::server::transactions
