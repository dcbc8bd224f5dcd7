// Sends an encoded response on a plaintext connection without copying record data: memory parts go
// out with sendmsg(2), record sets that live in segment files with sendfile(2) straight from the
// page cache. A file range not (wholly) in the page cache is first read in on the broker's I/O
// pool, so a cold read never blocks the shard and the other connections it serves.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <span>

#include "protocol/codec.h"

namespace runnel::server {

namespace asio = boost::asio;

// The socket must be in non-blocking mode. `before` (earlier responses held back) goes out first,
// in the same system call. Returns false when the connection failed.
asio::awaitable<bool> send_response(asio::ip::tcp::socket& socket, const protocol::writer& w,
                                    asio::thread_pool& io_pool,
                                    std::span<const uint8_t> before = {});

// True when every page of [position, position + length) of the file is in the page cache
// (cachestat(2), or mincore_says_cached on kernels before 6.5; false when it cannot be checked).
bool in_page_cache(int fd, int64_t position, size_t length);
// The same with mincore(2) over a temporary read-only mapping.
bool mincore_says_cached(int fd, int64_t position, size_t length);

}  // namespace runnel::server
