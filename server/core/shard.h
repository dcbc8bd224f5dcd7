// Thread per core: each shard is one io_context run by one thread. Code running on a shard never
// locks; work for data owned by another shard is sent there explicitly (core/cross_shard.h).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "server/core/request_metrics.h"

namespace runnel::server {

namespace asio = boost::asio;
using shard_id = uint32_t;

class shard {
  public:
    explicit shard(shard_id id) : id_(id), ctx_(1) {}
    shard_id id() const { return id_; }
    asio::io_context& context() { return ctx_; }
    asio::io_context::executor_type executor() { return ctx_.get_executor(); }
    // Only on this shard's thread.
    request_metrics& requests() { return requests_; }
    // How long the fdatasync jobs of this shard's partitions took (Kafka's LogFlushStats).
    latency_histogram& log_flushes() { return log_flushes_; }

  private:
    shard_id id_;
    asio::io_context ctx_;
    request_metrics requests_;
    latency_histogram log_flushes_;
};

class shard_set {
  public:
    explicit shard_set(size_t count);
    ~shard_set();

    size_t size() const { return shards_.size(); }
    shard& at(shard_id id) { return *shards_[id]; }

    // Starts one thread per shard (shard 0 included) and returns; stop() ends them. With
    // poll_us > 0 an idle shard keeps polling its queue and sockets (non-blocking) for that long
    // before it sleeps, so work handed over by another shard, or a client's next request, finds it
    // awake instead of paying a wake-up and a context switch on both sides.
    void start(int64_t poll_us = 0);
    void stop();
    void join();

    // The shard whose thread is calling, or nullptr outside shard threads.
    static shard* current();

  private:
    std::vector<std::unique_ptr<shard>> shards_;
    std::vector<std::jthread> threads_;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
};

}  // namespace runnel::server
