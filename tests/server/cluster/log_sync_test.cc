// log_sync: group commit of a partition log's flushes on a thread pool, driven from a shard.
#include "server/cluster/log_sync.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <future>

#include "../../storage/test_batches.h"
#include "server/core/cross_shard.h"
#include "server/core/shard.h"

namespace runnel::server {
namespace {

using storage::test::make_batch;

class LogSyncTest : public ::testing::Test {
  protected:
    void SetUp() override {
        shards_.start();
        on_shard([&] {
            auto l = storage::partition_log::open(dir_.path() / "t-0", {});
            ASSERT_TRUE(l);
            log_ = std::move(*l);  // NOLINT
            sync_ = std::make_unique<log_sync>(*log_);
        });
    }
    void TearDown() override {
        on_shard([&] {
            sync_.reset();
            if (log_) {
                EXPECT_FALSE(log_->close());
            }
        });
        pool_.join();
        shards_.stop();
        shards_.join();
    }
    // Runs f on the shard and waits for it.
    void on_shard(const std::function<void()>& f) {
        run_on_every_shard(shards_, [&](shard_id) { f(); });
    }

    int64_t append(int32_t records) {
        auto b = make_batch(records, 1'700'000'000'000, 30);
        auto info = log_->append(b, std::nullopt);
        EXPECT_TRUE(info);
        return info ? info->last_offset + 1 : -1;
    }

    // Waits on the shard for everything below `end` to be flushed; the outcome lands in `out`.
    void spawn_wait(int64_t end, std::promise<std::error_code>& out) {
        asio::co_spawn(shards_.at(0).executor(), wait(end, &out), asio::detached);
    }
    // A member coroutine, not a lambda: its arguments live in the coroutine frame.
    asio::awaitable<void> wait(int64_t end, std::promise<std::error_code>* out) {
        out->set_value(co_await sync_->wait_flushed(pool_, end));
    }

    storage::test::temp_dir dir_;
    shard_set shards_{1};
    asio::thread_pool pool_{2};
    std::unique_ptr<storage::partition_log> log_;
    std::unique_ptr<log_sync> sync_;
};

TEST_F(LogSyncTest, EveryWaiterCompletesOnceItsOffsetIsFlushed) {
    std::vector<std::promise<std::error_code>> done(6);
    int64_t leo = 0;
    on_shard([&] {
        // Appends interleaved with waits: later waiters find a flush running and are covered by
        // the one that follows it.
        for (size_t i = 0; i < done.size(); ++i) {
            leo = append(static_cast<int32_t>(i + 1));
            spawn_wait(leo, done[i]);
        }
    });
    for (auto& d : done) EXPECT_FALSE(d.get_future().get());
    on_shard([&] { EXPECT_EQ(log_->recovery_point(), leo); });

    // Already flushed: answered at once, with no flush.
    std::promise<std::error_code> again;
    on_shard([&] { spawn_wait(leo, again); });
    EXPECT_FALSE(again.get_future().get());
}

TEST_F(LogSyncTest, BackgroundRequestAdvancesTheRecoveryPoint) {
    int64_t leo = 0;
    on_shard([&] {
        leo = append(3);
        sync_->request(pool_);
    });
    for (int i = 0; i < 500; ++i) {
        int64_t rp = -1;
        on_shard([&] { rp = log_->recovery_point(); });
        if (rp == leo) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "the recovery point never reached " << leo;
}

TEST_F(LogSyncTest, WaitersOfADestroyedSyncGetLogClosed) {
    std::promise<std::error_code> done;
    on_shard([&] {
        spawn_wait(append(2), done);
        // Runs after the waiter registered and before the flush's outcome comes back.
        asio::post(shards_.at(0).executor(), [this] { sync_.reset(); });
    });
    EXPECT_EQ(done.get_future().get(), make_error_code(storage::errc::log_closed));
}

}  // namespace
}  // namespace runnel::server
