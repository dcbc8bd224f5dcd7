#include "server/coordinators/transactions/transaction_coordinator_set.h"
#include "server/core/cross_shard.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>

#include "protocol/record_batch.h"
#include "server/cluster/cluster_context.h"
#include "server/cluster/log_replay.h"
#include "server/coordinators/groups/coordinator_set.h"
#include "server/coordinators/transactions/transaction_log_records.h"
#include "server/coordinators/transactions/transaction_markers.h"
#include "server/coordinators/transactions/transaction_state_topic.h"
#include "server/core/logger.h"
#include "server/replication/broker_link_pool.h"
#include "storage/errors.h"
#include "storage/wall_clock.h"

namespace runnel::server::transactions {

using protocol::error_code;

namespace {

std::string as_string(const std::vector<uint8_t>& bytes) {
    return std::string(bytes.begin(), bytes.end());
}

}  // namespace

transaction_coordinator_set::transaction_coordinator_set(cluster_context& cluster,
                                                         groups::coordinator_set& groups)
    : cluster_(cluster),
      groups_(groups),
      per_shard_(cluster.shards().size(),
                 [this](shard_id i) {
                     auto s = std::make_unique<per_shard>();
                     s->coordinator = std::make_unique<transaction_coordinator>(
                         make_hooks(i), cluster_.config().transaction_max_timeout_ms);
                     s->timer =
                         std::make_unique<asio::steady_timer>(cluster_.shards().at(i).context());
                     s->links = std::make_unique<broker_link_pool>(
                         cluster_, cluster_.shards().at(i),
                         "runnel-txn-coordinator-" + std::to_string(cluster_.node_id()));
                     return s;
                 }),
      topic_(cluster, transaction_state_topic_spec(cluster.config()),
             "transaction.state.log.replication.factor",
             cluster.config().transaction_state_log_replication_factor,
             partition_for_transactional_id),
      runtime_(cluster, topic_, [this](shard_id i) { return make_loader(i); }) {}

transaction_coordinator_set::~transaction_coordinator_set() = default;

shard_set& transaction_coordinator_set::shards() { return cluster_.shards(); }

coordinator_hooks transaction_coordinator_set::make_hooks(shard_id id) {
    coordinator_hooks h;
    h.append = [this, id](int32_t partition, std::vector<uint8_t> key,
                          std::optional<std::vector<uint8_t>> value) {
        return append(id, partition, std::move(key), std::move(value));
    };
    h.write_markers = [this, id](int32_t partition, int64_t producer_id, int16_t epoch, bool commit,
                                 std::set<topic_partition> partitions) {
        transaction_marker marker;
        marker.producer_id = producer_id;
        marker.producer_epoch = epoch;
        marker.commit = commit;
        // The coordinator's epoch is its partition's leader epoch (Kafka: the partition's
        // coordinator epoch), so that a deposed coordinator's markers are refused.
        auto t = cluster_.topics().snapshot()->find(transaction_state_topic_name);
        if (t && partition >= 0 && partition < t->partition_count())
            marker.coordinator_epoch = t->partitions[static_cast<size_t>(partition)].leader_epoch;
        return write_transaction_markers(cluster_, groups_, *per_shard_.on(id).links, id, marker,
                                         std::move(partitions));
    };
    h.new_producer_id = [this](int64_t& pid) { return cluster_.producer_ids().next(pid); };
    h.now_ms = storage::wall_clock_ms;
    return h;
}

asio::awaitable<std::error_code> transaction_coordinator_set::append(
    shard_id id, int32_t index, std::vector<uint8_t> key,
    std::optional<std::vector<uint8_t>> value) {
    protocol::record_input r;
    r.key = as_string(key);
    if (value) r.value = as_string(*value);
    r.timestamp = storage::wall_clock_ms();
    auto batch = protocol::build_batch({}, {r});
    auto appended = runtime_.append(id, index, batch);
    if (!appended.ok()) co_return appended.cause;
    // When the log's flush policy asks for a sync of this record, the state change takes effect
    // (and is answered) only once it is on disk, as a produce with acks=all would.
    co_return co_await runtime_.acknowledged(id, index, appended, required_acks::all);
}

coordinator_runtime::loader transaction_coordinator_set::make_loader(shard_id id) {
    auto skipped = std::make_shared<std::map<int32_t, int64_t>>();
    transaction_coordinator* c = per_shard_.on(id).coordinator.get();
    coordinator_runtime::loader l;
    l.begin = [c](int32_t index) { c->unload(index); };
    l.unload = [c](int32_t index) { c->unload(index); };
    l.apply = [c, skipped](int32_t index, const protocol::batch_header& h,
                           std::span<const uint8_t> batch) {
        if (h.is_control()) return;  // nothing transactional is written to this topic
        bool ok = protocol::for_each_record(
            batch,
            [&](const protocol::record& r) {
                auto key = r.key.value_or(std::span<const uint8_t>());
                if (auto d = decode_record(key, r.value)) {
                    c->load(index, d->transactional_id, std::move(d->metadata));
                } else {
                    ++(*skipped)[index];
                }
                return true;
            },
            nullptr);
        if (!ok) ++(*skipped)[index];
    };
    l.finish = [skipped](int32_t index) {
        if (auto n = (*skipped)[index]; n > 0) {
            server_log().warn("{}-{}: skipped {} unreadable record(s)",
                              transaction_state_topic_name, index, n);
        }
        skipped->erase(index);
    };
    return l;
}

void transaction_coordinator_set::start() {
    // Once a shard's partitions are loaded it finishes the transactions a crash left half-way.
    runtime_.start([this](shard_id id) { return resume_unfinished(id); });
    // In a cluster: a __transaction_state partition this broker comes to lead (its coordinator
    // died or handed over) is loaded at once and what it holds half-way finished, rather than
    // at the next periodic round.
    cluster_.add_roles_listener([this](shard_id id) {
        if (stopping_ || !runtime_.follow_leadership(id)) return;
        asio::co_spawn(cluster_.shards().at(id).executor(), resume_unfinished(id),
                       log_failure("finishing transactions failed"));
    });
    run_on_every_shard(cluster_.shards(), [&](shard_id me) {
        asio::co_spawn(cluster_.shards().at(me).executor(), periodic_loop(me),
                       log_failure("transaction coordinator task failed"));
    });
}

void transaction_coordinator_set::stop() {
    stopping_ = true;
    run_on_every_shard(cluster_.shards(), [&](shard_id me) { per_shard_.on(me).timer->cancel(); });
}

asio::awaitable<void> transaction_coordinator_set::resume_unfinished(shard_id id) {
    auto& c = *per_shard_.on(id).coordinator;
    for (const auto& txn_id : c.unfinished()) {
        if (stopping_) co_return;
        co_await c.resume(txn_id);
    }
}

asio::awaitable<void> transaction_coordinator_set::periodic_loop(shard_id id) {
    const auto& cfg = cluster_.config();
    const int64_t abort_every = cfg.transaction_abort_timed_out_transaction_cleanup_interval_ms;
    const int64_t expire_every = cfg.transaction_remove_expired_transaction_cleanup_interval_ms;
    auto& s = per_shard_.on(id);
    int64_t next_expiry = storage::wall_clock_ms() + expire_every;
    while (!stopping_) {
        s.timer->expires_after(std::chrono::milliseconds(abort_every));
        co_await s.timer->async_wait(asio::as_tuple(asio::use_awaitable));
        if (stopping_) break;
        // In a cluster: partitions of __transaction_state led here now are loaded (their
        // half-way transactions are then finished below), those led elsewhere unloaded.
        runtime_.follow_leadership(id);
        co_await s.coordinator->abort_timed_out();
        // Markers that could not be written (a full disk, say) are retried here.
        co_await resume_unfinished(id);
        if (storage::wall_clock_ms() >= next_expiry) {
            co_await s.coordinator->expire_ids(cfg.transactional_id_expiration_ms);
            next_expiry = storage::wall_clock_ms() + expire_every;
        }
    }
}

}  // namespace runnel::server::transactions
