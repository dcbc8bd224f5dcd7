// Group commit for one partition's log. Flushes (fdatasync) run on the broker's blocking I/O pool,
// never on the shard, so a slow disk does not stall the other connections the shard serves. While
// one flush runs, later appends wait for the next, which covers all of them: concurrent produce
// requests on a partition share one fdatasync. Lives on, and is used only from, the owner shard.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>
#include <vector>

#include "storage/partition_log.h"

namespace runnel::server {

namespace asio = boost::asio;

class log_sync {
  public:
    // `on_durable` runs on the owner shard after each successful flush (the recovery point moved).
    explicit log_sync(storage::partition_log& log, std::function<void()> on_durable = {});
    // A flush still running finishes on its own, without touching the log; waiters get
    // errc::log_closed.
    ~log_sync();
    log_sync(const log_sync&) = delete;
    log_sync& operator=(const log_sync&) = delete;

    // Starts a flush of everything appended so far (after a roll, or flush.ms/flush.messages with
    // acks=0); when one is running, another follows it.
    void request(asio::thread_pool& pool);
    // Completes with {} once every offset below `end_offset` is flushed (recovery point reached),
    // starting a flush if needed; or with the storage error of the flush that covered it.
    asio::awaitable<std::error_code> wait_flushed(asio::thread_pool& pool, int64_t end_offset);

  private:
    struct state;
    static void start(const std::shared_ptr<state>& st);
    static void finish(const std::shared_ptr<state>& st,
                       const std::shared_ptr<storage::flush_job>& job, std::error_code outcome);
    // Wakes the waiters whose end offset is at most `upto`, with `outcome`.
    static void complete(const std::shared_ptr<state>& st, int64_t upto, std::error_code outcome);

    std::shared_ptr<state> state_;
};

}  // namespace runnel::server
