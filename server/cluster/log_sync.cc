#include "server/cluster/log_sync.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <limits>
#include <optional>

#include "server/core/shard.h"

namespace runnel::server {

struct log_sync::state {
    storage::partition_log* log;  // null once the partition is gone
    // Set by the first request: the caller's pool and shard (the owner shard).
    asio::thread_pool* pool = nullptr;
    std::optional<asio::io_context::executor_type> owner;
    bool running = false;
    bool again = false;  // a flush was requested while one ran
    std::function<void()> on_durable;
    // One waiting append: woken by cancelling its timer (it lives on the owner shard too).
    struct waiter {
        int64_t end_offset;
        asio::steady_timer timer;
        std::error_code outcome;
        bool done = false;

        waiter(int64_t end, asio::io_context::executor_type ex)
            : end_offset(end), timer(ex, asio::steady_timer::time_point::max()) {}
    };
    std::vector<std::shared_ptr<waiter>> waiters;

    explicit state(storage::partition_log* log) : log(log) {}

    void bind(asio::thread_pool& p) {
        pool = &p;
        if (!owner) owner = shard_set::current()->executor();
    }
};

log_sync::log_sync(storage::partition_log& log, std::function<void()> on_durable)
    : state_(std::make_shared<state>(&log)) {
    state_->on_durable = std::move(on_durable);
}

log_sync::~log_sync() {
    state_->log = nullptr;
    complete(state_, std::numeric_limits<int64_t>::max(), storage::errc::log_closed);
}

void log_sync::request(asio::thread_pool& pool) {
    state_->bind(pool);
    start(state_);
}

asio::awaitable<std::error_code> log_sync::wait_flushed(asio::thread_pool& pool,
                                                        int64_t end_offset) {
    if (!state_->log) co_return storage::errc::log_closed;
    if (state_->log->recovery_point() >= end_offset) co_return std::error_code{};
    state_->bind(pool);
    auto st = state_;  // the log_sync may go away while this waits
    auto w = std::make_shared<state::waiter>(end_offset, *st->owner);
    st->waiters.push_back(w);
    start(st);
    if (!w->done) co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return w->outcome;
}

void log_sync::start(const std::shared_ptr<state>& st) {
    if (!st->log) return;
    if (st->running) {
        st->again = true;
        return;
    }
    auto prepared = st->log->prepare_flush();
    if (!prepared) {
        complete(st, std::numeric_limits<int64_t>::max(), prepared.error());
        return;
    }
    if (!*prepared) {  // already flushed to the end
        complete(st, st->log->recovery_point(), {});
        return;
    }
    st->running = true;
    auto job = std::make_shared<storage::flush_job>(std::move(**prepared));
    asio::post(*st->pool, [st, job] {
        const auto started = std::chrono::steady_clock::now();
        std::error_code outcome = job->run();
        const auto took = std::chrono::steady_clock::now() - started;
        asio::post(*st->owner, [st, job, outcome, took] {
            if (shard* home = shard_set::current()) home->log_flushes().add(took);
            finish(st, job, outcome);
        });
    });
}

void log_sync::finish(const std::shared_ptr<state>& st,
                      const std::shared_ptr<storage::flush_job>& job, std::error_code outcome) {
    st->running = false;
    if (!st->log) return;  // the destructor already answered the waiters
    st->log->flush_done(*job, outcome);
    if (outcome) {
        complete(st, job->target, outcome);
    } else {
        complete(st, st->log->recovery_point(), {});
        if (st->on_durable) st->on_durable();
    }
    if (st->log && (st->again || !st->waiters.empty())) {
        st->again = false;
        start(st);
    }
}

void log_sync::complete(const std::shared_ptr<state>& st, int64_t upto, std::error_code outcome) {
    // Cancelling a timer resumes its waiter later through the executor, never from in here.
    std::erase_if(st->waiters, [&](const std::shared_ptr<state::waiter>& w) {
        if (w->end_offset > upto) return false;
        w->outcome = outcome;
        w->done = true;
        w->timer.cancel();
        return true;
    });
}

}  // namespace runnel::server
