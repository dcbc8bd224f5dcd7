#include "server/core/shard.h"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <exception>
#include <latch>

namespace runnel::server {

namespace {
thread_local shard* current_shard = nullptr;
}

shard_set::shard_set(size_t count) {
    if (count == 0) count = 1;
    for (size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<shard>(i));
}

shard_set::~shard_set() {
    stop();
    join();
}

namespace {

void run_shard(asio::io_context& ctx, int64_t poll_us) {
    if (poll_us <= 0) {
        ctx.run();
        return;
    }
    using clock = std::chrono::steady_clock;
    const auto poll_for = std::chrono::microseconds(poll_us);
    auto idle_since = clock::now();
    while (!ctx.stopped()) {
        if (ctx.poll() > 0) {
            idle_since = clock::now();
        } else if (clock::now() - idle_since >= poll_for) {
            ctx.run_one();  // sleeps until the next handler is ready
            idle_since = clock::now();
        }
    }
}

}  // namespace

void shard_set::start(int64_t poll_us) {
    for (auto& s : shards_) guards_.emplace_back(s->context().get_executor());
    for (auto& s : shards_) {
        shard* sp = s.get();
        threads_.emplace_back([sp, poll_us] {
            current_shard = sp;
            // "shard-N" in top -H, perf and /proc/<pid>/task/*/comm.
            const std::string name = "shard-" + std::to_string(sp->id());
            ::pthread_setname_np(::pthread_self(), name.c_str());
            for (;;) {
                try {
                    run_shard(sp->context(), poll_us);
                    break;
                } catch (const std::exception& e) {
                    // A bug escaped a handler; keep the shard serving everyone else.
                    spdlog::error("shard {}: unhandled exception: {}", sp->id(), e.what());
                }
            }
            current_shard = nullptr;
        });
    }
}

void shard_set::stop() {
    guards_.clear();
    for (auto& s : shards_) s->context().stop();
}

void shard_set::join() {
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

shard* shard_set::current() { return current_shard; }

}  // namespace runnel::server
