// send_response: memory and file chunks of a response arrive in order over a real TCP connection;
// in_page_cache tells cached from evicted pages.
#include "server/net/response_sender.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/thread_pool.hpp>

#include "../../storage/test_batches.h"

namespace runnel::server {
namespace {

using tcp = asio::ip::tcp;

struct temp_file {
    storage::test::temp_dir dir;
    int fd = -1;
    explicit temp_file(const std::vector<uint8_t>& content) {
        fd = ::open((dir.path() / "data").c_str(), O_RDWR | O_CREAT, 0644);
        EXPECT_EQ(::pwrite(fd, content.data(), content.size(), 0),
                  static_cast<ssize_t>(content.size()));
    }
    ~temp_file() { ::close(fd); }
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 9));
    return v;
}

TEST(ResponseSender, MemoryAndFileChunksArriveInOrder) {
    // Larger than socket buffers, so both sendmsg and sendfile hit EAGAIN and wait.
    auto file_bytes = pattern(8 << 20, 3);
    temp_file f(file_bytes);
    auto owned = std::make_shared<std::vector<uint8_t>>(pattern(300000, 9));

    protocol::writer w;
    w.write_int32(12345);
    protocol::record_set records;
    records.append(protocol::shared_bytes::in_file(nullptr, f.fd, 1000, 5 << 20));
    records.append({owned, std::span<const uint8_t>(*owned)});
    records.append(protocol::shared_bytes::in_file(nullptr, f.fd, 7, 100));
    w.write_records(records, false);
    w.write_int16(-2);
    const auto expected = w.flatten();
    ASSERT_EQ(expected.size(), 4 + 4 + (5u << 20) + 300000 + 100 + 2);

    // Evicted where the file system allows it: the first range is then read in on the pool.
    ASSERT_EQ(::fdatasync(f.fd), 0);
    ASSERT_EQ(::posix_fadvise(f.fd, 0, 0, POSIX_FADV_DONTNEED), 0);

    asio::io_context io;
    asio::thread_pool pool(1);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(io), server(io);
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
    server.non_blocking(true);

    bool sent = false;
    auto send = [&]() -> asio::awaitable<void> { sent = co_await send_response(server, w, pool); };
    asio::co_spawn(io, send(), asio::detached);
    std::vector<uint8_t> got(expected.size());
    auto receive = [&]() -> asio::awaitable<void> {
        co_await asio::async_read(client, asio::buffer(got), asio::use_awaitable);
    };
    asio::co_spawn(io, receive(), asio::detached);
    io.run();
    pool.join();
    EXPECT_TRUE(sent);
    EXPECT_TRUE(got == expected);
}

// Both ways of asking (cachestat, and mincore for kernels before 6.5) must agree.
void check_page_cache_residency(bool (*cached)(int, int64_t, size_t)) {
    temp_file f(pattern(1 << 20, 1));
    EXPECT_TRUE(cached(f.fd, 0, 1 << 20));  // just written
    EXPECT_TRUE(cached(f.fd, 4097, 10));    // unaligned ranges too
    EXPECT_TRUE(cached(f.fd, 0, 0));
    ASSERT_EQ(::fdatasync(f.fd), 0);
    ASSERT_EQ(::posix_fadvise(f.fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    if (cached(f.fd, 0, 1 << 20)) {
        GTEST_SKIP() << "this file system keeps the pages after POSIX_FADV_DONTNEED (tmpfs?)";
    }
    std::vector<uint8_t> buf(1 << 20);
    ASSERT_EQ(::pread(f.fd, buf.data(), buf.size(), 0), 1 << 20);
    EXPECT_TRUE(cached(f.fd, 0, 1 << 20));
    // One page evicted in the middle (reading it back would bring its neighbours too).
    ASSERT_EQ(::posix_fadvise(f.fd, 8192, 4096, POSIX_FADV_DONTNEED), 0);
    if (cached(f.fd, 8192, 4096)) {
        GTEST_SKIP() << "the page stays cached inside a larger folio on this file system";
    }
    EXPECT_TRUE(cached(f.fd, 0, 8192));
    EXPECT_TRUE(cached(f.fd, 100, 8000));
    EXPECT_TRUE(cached(f.fd, 12288, 1 << 19));
    EXPECT_FALSE(cached(f.fd, 0, 8193));        // one byte into the evicted page
    EXPECT_FALSE(cached(f.fd, 8192, 4096));     // the evicted page alone
    EXPECT_FALSE(cached(f.fd, 4096, 1 << 19));  // cached start and end, evicted middle
}

TEST(ResponseSender, PageCacheResidency) { check_page_cache_residency(in_page_cache); }

TEST(ResponseSender, PageCacheResidencyByMincore) {
    check_page_cache_residency(mincore_says_cached);
}

}  // namespace
}  // namespace runnel::server
