// shard_set: work posted from other threads runs on the shard, cross-shard calls return, and
// stop() ends the threads, both with a plain event loop and with polling before sleep.
#include "server/core/shard.h"
#include "server/core/cross_shard.h"

#include <gtest/gtest.h>
#include <boost/asio/post.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace runnel::server {
namespace {

class ShardSetTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(ShardSetTest, RunsPostedWorkAndCrossShardCallsThenStops) {
    shard_set shards(2);
    shards.start(GetParam());
    // Idle for a while first: a polling shard must still take work after it went to sleep.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::promise<int> result;
    asio::post(shards.at(0).executor(), [&] {
        EXPECT_EQ(shard_set::current(), &shards.at(0));
        auto hop = [&]() -> asio::awaitable<int> {
            auto there = []() -> asio::awaitable<int> { co_return shard_set::current()->id(); };
            co_return co_await on_shard(shards.at(1), there);
        };
        asio::co_spawn(shards.at(0).executor(), hop(),
                       [&](std::exception_ptr, int id) { result.set_value(id); });
    });
    auto f = result.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_EQ(f.get(), 1);
    std::atomic<int> ran{0};
    for (int i = 0; i < 1000; ++i) asio::post(shards.at(i % 2).executor(), [&] { ++ran; });
    for (int i = 0; i < 500 && ran < 1000; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(ran, 1000);
    shards.stop();
    shards.join();  // returns: the threads ended
}

INSTANTIATE_TEST_SUITE_P(PollBeforeSleep, ShardSetTest, ::testing::Values(0, 200));

}  // namespace
}  // namespace runnel::server
