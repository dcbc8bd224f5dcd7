// The produce floor's receiver: what a broker cannot avoid doing with produced bytes. Accepts
// --connections connections on loopback; from each it reads floor frames (floor_frame.h) in large
// reads, checks every payload's CRC-32C with the project's crc32c, appends the frames to a file of
// its own in --dir (page cache, no fsync) and acknowledges them. Prints its port, then, when every
// connection has closed, a JSON line with the payload bytes, the wall time and its CPU seconds.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "bench/clocks.h"
#include "bench/floor_frame.h"
#include "bench/options.h"
#include "bench/socket_io.h"
#include "protocol/crc32c.h"
#include "protocol/record_batch_header.h"

using namespace runnel::bench;
namespace L = runnel::protocol::batch_layout;

namespace {

void append(int fd, const uint8_t* data, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "write");
        }
        data += w;
        n -= static_cast<size_t>(w);
    }
}

// Serves one connection until the sender closes it; returns the payload bytes received.
uint64_t receive(int sock, const std::string& path) {
    unique_fd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (file.get() < 0) throw std::system_error(errno, std::generic_category(), path);
    std::vector<uint8_t> buf(1 << 20);
    std::vector<uint8_t> acks;
    size_t begin = 0, end = 0;
    uint64_t payload_bytes = 0;
    uint32_t frames = 0;
    for (;;) {
        size_t n = read_some(sock, buf.data() + end, buf.size() - end);
        if (n == 0) break;
        end += n;
        size_t pos = begin;
        acks.clear();
        size_t needed = floor_frame::header_size;
        while (end - pos >= floor_frame::header_size) {
            auto length = static_cast<uint32_t>(L::load_i32(buf.data() + pos));
            needed = floor_frame::header_size + length;
            if (end - pos < needed) break;
            const uint8_t* payload = buf.data() + pos + floor_frame::header_size;
            auto crc = static_cast<uint32_t>(L::load_i32(buf.data() + pos + floor_frame::crc_at));
            if (runnel::protocol::crc32c(payload, length) != crc)
                throw std::runtime_error("CRC-32C mismatch in frame " + std::to_string(frames));
            payload_bytes += length;
            acks.resize(acks.size() + floor_frame::ack_size);
            uint8_t* ack = acks.data() + acks.size() - floor_frame::ack_size;
            L::store_i32(ack, 4);  // the size prefix: a 4-byte frame number follows
            L::store_i32(ack + 4, static_cast<int32_t>(frames++));
            pos += needed;
            needed = floor_frame::header_size;
        }
        if (pos > begin) {
            append(file.get(), buf.data() + begin, pos - begin);
            write_all(sock, acks.data(), acks.size());
        }
        begin = pos;
        // Keep a partial frame, at the front of a buffer large enough for all of it.
        if (begin == end) {
            begin = end = 0;
        } else if (begin + needed > buf.size() || buf.size() - end < (64 << 10)) {
            std::memmove(buf.data(), buf.data() + begin, end - begin);
            end -= begin;
            begin = 0;
            if (needed > buf.size()) buf.resize(needed);
        }
    }
    return payload_bytes;
}

}  // namespace

int main(int argc, char** argv) {
    options opt(argc, argv, {"port", "connections", "dir", "congestion-control"});
    const auto connections = opt.integer("connections", 1);
    const auto dir = opt.text("dir", ".");
    try {
        auto listener = listen_loopback(static_cast<uint16_t>(opt.integer("port", 0)),
                                        opt.text("congestion-control", "reno"));
        std::printf("port %u\n", local_port(listener.get()));
        std::fflush(stdout);

        std::vector<unique_fd> socks;
        socks.push_back(accept_connection(listener.get()));
        const double cpu_before = process_cpu_seconds();
        const int64_t started = now_ns();
        for (int64_t i = 1; i < connections; ++i)
            socks.push_back(accept_connection(listener.get()));

        std::atomic<uint64_t> bytes{0};
        std::atomic<bool> failed{false};
        std::vector<std::thread> threads;
        for (size_t i = 0; i < socks.size(); ++i) {
            threads.emplace_back([&, i] {
                try {
                    bytes += receive(socks[i].get(), dir + "/floor-" + std::to_string(i) + ".log");
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "floor_receiver: %s\n", e.what());
                    failed = true;
                }
            });
        }
        for (auto& t : threads) t.join();
        if (failed) return 1;
        std::printf("{\"bytes\": %llu, \"seconds\": %.6f, \"cpu_seconds\": %.6f}\n",
                    static_cast<unsigned long long>(bytes.load()), double(now_ns() - started) / 1e9,
                    process_cpu_seconds() - cpu_before);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "floor_receiver: %s\n", e.what());
        return 1;
    }
}
