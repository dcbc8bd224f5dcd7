#include "server/cluster/log_replay.h"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace runnel::server {

namespace {

constexpr size_t chunk_bytes = size_t{1} << 20;

// Replays the batches of one read starting at `next` and advances it; sets `done` at the end.
std::error_code replay_chunk(const storage::partition_log& log, const replay_batch_fn& fn,
                             int64_t& next, bool& done, int64_t& bytes) {
    if (next < log.log_start_offset()) next = log.log_start_offset();
    if (next >= log.log_end_offset()) {
        done = true;
        return {};
    }
    auto read = log.read(next, chunk_bytes, true);
    if (!read) return read.error();
    if (read->empty()) {
        done = true;
        return {};
    }
    std::span<const uint8_t> data(*read->bytes);
    bytes += static_cast<int64_t>(data.size());
    size_t pos = 0;
    while (pos < data.size()) {
        auto h = protocol::parse_batch_header(data.subspan(pos));
        if (!h || h->total_size() > static_cast<int64_t>(data.size() - pos)) break;
        auto batch = data.subspan(pos, static_cast<size_t>(h->total_size()));
        pos += batch.size();
        fn(*h, batch);
    }
    next = read->next_offset;
    return {};
}

}  // namespace

std::error_code replay_log(const storage::partition_log& log, const replay_batch_fn& fn,
                           int64_t* bytes) {
    int64_t local = 0;
    int64_t next = log.log_start_offset();
    bool done = false;
    while (!done) {
        if (auto ec = replay_chunk(log, fn, next, done, bytes ? *bytes : local)) return ec;
    }
    return {};
}

boost::asio::awaitable<std::error_code> replay_log_async(const storage::partition_log& log,
                                                         const replay_batch_fn& fn,
                                                         int64_t* bytes) {
    int64_t local = 0;
    int64_t next = log.log_start_offset();
    bool done = false;
    auto executor = co_await boost::asio::this_coro::executor;
    while (!done) {
        if (auto ec = replay_chunk(log, fn, next, done, bytes ? *bytes : local)) co_return ec;
        if (!done) co_await boost::asio::post(executor, boost::asio::use_awaitable);
    }
    co_return std::error_code{};
}

}  // namespace runnel::server
