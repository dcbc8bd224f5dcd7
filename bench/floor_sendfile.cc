// The consume floor: what a broker cannot avoid doing to serve stored bytes. Serves --file (read
// it once before, so it comes from the page cache) --passes times over loopback with sendfile(2),
// in --chunk-bytes pieces each asked for by a small request, as a consumer's fetches ask for
// them, to a forked reader that discards the bytes. Prints a JSON line with the bytes, the wall
// time and the serving process's CPU seconds (the reader's are its own process's, not counted).
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "bench/clocks.h"
#include "bench/options.h"
#include "bench/socket_io.h"

using namespace runnel::bench;

namespace {

// The pieces the file is served in, one request each.
std::vector<size_t> chunks_of(off_t size, size_t chunk, int64_t passes) {
    std::vector<size_t> chunks;
    for (int64_t i = 0; i < passes; ++i) {
        for (off_t at = 0; at < size; at += static_cast<off_t>(chunk))
            chunks.push_back(std::min<size_t>(chunk, static_cast<size_t>(size - at)));
    }
    return chunks;
}

[[noreturn]] void read_chunks(uint16_t port, const std::vector<size_t>& chunks) {
    try {
        auto sock = connect_to("127.0.0.1:" + std::to_string(port));
        std::vector<char> buf(1 << 20);
        for (size_t length : chunks) {
            const uint32_t request = 0;
            write_all(sock.get(), &request, sizeof request);
            for (size_t got = 0; got < length;) {
                size_t n = read_some(sock.get(), buf.data(), std::min(buf.size(), length - got));
                if (n == 0) throw std::runtime_error("the sender closed early");
                got += n;
            }
        }
        _exit(0);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "floor_sendfile reader: %s\n", e.what());
        _exit(1);
    }
}

void serve_chunks(int sock, int file, off_t size, const std::vector<size_t>& chunks) {
    off_t offset = 0;
    for (size_t length : chunks) {
        if (offset == size) offset = 0;  // the next pass
        uint32_t request;
        for (size_t got = 0; got < sizeof request;) {
            size_t n =
                read_some(sock, reinterpret_cast<char*>(&request) + got, sizeof request - got);
            if (n == 0) throw std::runtime_error("the reader closed early");
            got += n;
        }
        const off_t end = offset + static_cast<off_t>(length);
        while (offset < end) {
            ssize_t sent = ::sendfile(sock, file, &offset, static_cast<size_t>(end - offset));
            if (sent < 0 && errno != EINTR)
                throw std::system_error(errno, std::generic_category(), "sendfile");
            if (sent == 0) throw std::runtime_error("the file shrank while being sent");
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    options opt(argc, argv, {"file", "chunk-bytes", "passes", "congestion-control"});
    const auto path = opt.text("file", "");
    const auto chunk = static_cast<size_t>(opt.integer("chunk-bytes", 1 << 20));
    const auto passes = opt.integer("passes", 1);
    try {
        unique_fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        struct stat st {};
        if (file.get() < 0 || ::fstat(file.get(), &st) != 0)
            throw std::system_error(errno, std::generic_category(), "cannot open --file " + path);
        const auto chunks = chunks_of(st.st_size, chunk, passes);
        auto listener = listen_loopback(0, opt.text("congestion-control", "reno"));
        pid_t reader = ::fork();
        if (reader < 0) throw std::system_error(errno, std::generic_category(), "fork");
        if (reader == 0) read_chunks(local_port(listener.get()), chunks);
        auto sock = accept_connection(listener.get());

        const double cpu_before = process_cpu_seconds();
        const int64_t started = now_ns();
        serve_chunks(sock.get(), file.get(), st.st_size, chunks);
        const double cpu = process_cpu_seconds() - cpu_before;
        int status = 0;
        ::waitpid(reader, &status, 0);  // everything has been read when the reader exits
        const double seconds = double(now_ns() - started) / 1e9;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
        std::printf("{\"bytes\": %lld, \"seconds\": %.6f, \"cpu_seconds\": %.6f}\n",
                    static_cast<long long>(st.st_size) * passes, seconds, cpu);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "floor_sendfile: %s\n", e.what());
        return 1;
    }
}
