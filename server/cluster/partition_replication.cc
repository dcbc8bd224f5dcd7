// partition: replication. The leader notes how far each follower has fetched and moves the high
// watermark to the smallest log end over the ISR; acks=all writers wait for it. A follower
// appends what it fetched as it is and takes the leader's high watermark. (Kafka's Partition.)
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/cluster/error_mapping.h"
#include "server/cluster/partition.h"
#include "server/core/logger.h"

namespace runnel::server {

void partition::set_role(partition_role r, int64_t now_ms) {
    const bool was_leading = role_ && role_->leads();
    const bool new_term =
        !role_ || role_->leader != r.leader || role_->leader_epoch != r.leader_epoch;
    if (!role_) {
        const int64_t start = log_->log_start_offset();
        waits_->high_watermark = std::min(std::max(start, restored_high_watermark_.value_or(start)),
                                          log_->log_end_offset());
    }
    if (r.leads() && new_term) {
        // Appends from now on are stamped with the new epoch, which starts at the log end.
        if (auto ec = log_->start_leader_epoch(r.leader_epoch)) {
            server_log().error("{}-{}: cannot record leader epoch {}: {}", topic_, index_,
                               r.leader_epoch, ec.message());
        }
        followers_.clear();
        for (int32_t b : r.replicas) {
            // ISR members count as caught up when the term starts (Kafka does the same), so
            // that they are not dropped before their first fetch.
            if (b != r.self) followers_.push_back({b, -1, r.in_isr(b) ? now_ms : 0, -1, 0});
        }
    } else if (r.leads()) {
        // The same term, another ISR or replica list (the leader's own ISR change, or a
        // reassignment): keep the progress of the replicas that stay.
        std::vector<follower_progress> kept;
        for (int32_t b : r.replicas) {
            if (b == r.self) continue;
            const follower_progress* had = follower(b);
            kept.push_back(had ? *had : follower_progress{b, -1, now_ms, -1, 0});
        }
        followers_ = std::move(kept);
    } else {
        followers_.clear();
        waits_->high_watermark = std::min(waits_->high_watermark, log_->log_end_offset());
    }
    role_ = std::move(r);
    isr_change_since_ms_ = -1;
    waits_->leading = role_->leads();
    waits_->in_sync = in_sync_replicas();
    waits_->min_isr = effective_min_isr();
    // Writers waiting for acks=all look again: they may now fail (leadership gone, ISR too
    // small) or succeed (a smaller ISR moves the high watermark).
    waits_->wake_all();
    if (role_->leads()) maybe_advance_high_watermark();
    if (was_leading != role_->leads()) data_arrived();  // waiting fetches find the new role
}

follower_progress* partition::follower(int32_t broker) {
    auto it = std::find_if(followers_.begin(), followers_.end(),
                           [broker](const follower_progress& f) { return f.broker == broker; });
    return it == followers_.end() ? nullptr : &*it;
}

const follower_progress* partition::follower(int32_t broker) const {
    return const_cast<partition*>(this)->follower(broker);
}

void partition::maybe_advance_high_watermark() {
    if (!role_ || !role_->leads()) return;
    int64_t hw = log_->log_end_offset();
    for (int32_t b : role_->isr) {
        if (b == role_->self) continue;
        const follower_progress* f = follower(b);
        // An ISR member not heard from in this term holds the high watermark where it is.
        const int64_t reached = f ? f->log_end_offset : -1;
        hw = std::min(hw, reached < 0 ? waits_->high_watermark : reached);
    }
    if (hw <= waits_->high_watermark) return;
    waits_->high_watermark = hw;
    waits_->advanced();
    data_arrived();  // consumers waiting for data below the high watermark
}

protocol::error_code partition::follower_fetched(int32_t broker, int64_t fetch_offset,
                                                 int64_t now_ms) {
    if (!role_ || !role_->leads()) return protocol::error_code::not_leader_or_follower;
    follower_progress* it = follower(broker);
    if (!it) return protocol::error_code::not_leader_or_follower;
    const int64_t leader_end = log_->log_end_offset();
    it->log_end_offset = std::min(fetch_offset, leader_end);
    if (fetch_offset >= leader_end) {
        it->last_caught_up_ms = now_ms;
    } else if (it->previous_fetch_leader_end >= 0 &&
               fetch_offset >= it->previous_fetch_leader_end) {
        it->last_caught_up_ms = std::max(it->last_caught_up_ms, it->previous_fetch_ms);
    }
    it->previous_fetch_leader_end = leader_end;
    it->previous_fetch_ms = now_ms;
    maybe_advance_high_watermark();
    return protocol::error_code::none;
}

std::optional<std::vector<int32_t>> partition::wanted_isr(int64_t now_ms, int64_t lag_ms) const {
    constexpr int64_t isr_change_patience_ms = 10000;
    if (!role_ || !role_->leads()) return std::nullopt;
    if (isr_change_since_ms_ >= 0 && now_ms - isr_change_since_ms_ < isr_change_patience_ms)
        return std::nullopt;
    const int64_t epoch_start = [&] {
        const auto latest = log_->epochs().latest();
        return latest && latest->epoch == role_->leader_epoch ? latest->start_offset : 0;
    }();
    std::vector<int32_t> isr;
    bool changed = false;
    for (int32_t b : role_->replicas) {
        if (b == role_->self) {
            isr.push_back(b);
            continue;
        }
        const follower_progress* it = follower(b);
        if (!it) continue;
        const bool in = role_->in_isr(b);
        bool keep = in;
        if (in && now_ms - it->last_caught_up_ms > lag_ms) keep = false;
        // Only a follower fetching now joins: one that stopped (or died) with a log end at the
        // high watermark of an idle partition must not come back on that alone.
        const bool fetching = it->previous_fetch_ms > 0 && now_ms - it->previous_fetch_ms <= lag_ms;
        if (!in && fetching && it->log_end_offset >= 0 &&
            it->log_end_offset >= waits_->high_watermark && it->log_end_offset >= epoch_start)
            keep = true;
        if (keep) isr.push_back(b);
        changed = changed || keep != in;
    }
    if (!changed) return std::nullopt;
    return isr;
}

append_result partition::append_replicated(std::span<const uint8_t> batches) {
    return appended(log_->append_replicated(batches));
}

void partition::leader_high_watermark(int64_t hw) {
    if (!role_ || role_->leads()) return;
    waits_->high_watermark = std::min(hw, log_->log_end_offset());
}

storage::result<int64_t> partition::truncate_to(int64_t offset) {
    auto cut = log_->truncate_to(offset);
    if (cut) waits_->high_watermark = std::min(waits_->high_watermark, log_->log_end_offset());
    return cut;
}

asio::awaitable<std::error_code> partition::acknowledged(const append_result& r, required_acks acks,
                                                         std::chrono::milliseconds timeout) {
    if (acks == required_acks::none || !r.ok()) co_return std::error_code{};
    // Kept in this frame: the partition may be closed while this waits.
    auto waits = waits_;
    const bool replicated = role_.has_value();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (r.flush_end_offset >= 0) {
        if (auto ec = co_await sync_.wait_flushed(io_pool_, r.flush_end_offset)) co_return ec;
    }
    if (acks != required_acks::all || !replicated) co_return std::error_code{};
    const int64_t needed = r.last_offset + 1;
    auto executor = co_await asio::this_coro::executor;
    while (waits->high_watermark < needed) {
        if (waits->closed) co_return storage::errc::log_closed;
        if (!waits->leading) co_return replication_errc::not_leader;
        if (waits->in_sync < waits->min_isr)
            co_return replication_errc::not_enough_replicas_after_append;
        if (std::chrono::steady_clock::now() >= deadline) co_return replication_errc::timed_out;
        auto timer = std::make_shared<asio::steady_timer>(executor, deadline);
        waits->waiting.emplace_back(needed, timer);
        co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return std::error_code{};
}

}  // namespace runnel::server
