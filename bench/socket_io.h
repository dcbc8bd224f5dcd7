// Blocking loopback TCP for the benchmark programs. Failures throw std::system_error: a benchmark
// that loses its connection has nothing sensible to measure any more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace runnel::bench {

// Owns a file descriptor.
class unique_fd {
  public:
    unique_fd() = default;
    explicit unique_fd(int fd) : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
    unique_fd& operator=(unique_fd&& o) noexcept;
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd();

    int get() const { return fd_; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    int fd_ = -1;
};

// A listening socket on 127.0.0.1:`port` (0 picks a free port; see local_port) whose connections
// use TCP congestion control `congestion_control` (empty: the system's), as the broker's loopback
// connections do (runnel.socket.loopback.congestion.control), so that floor and broker send
// under the same rules.
unique_fd listen_loopback(uint16_t port, const std::string& congestion_control);
uint16_t local_port(int fd);
unique_fd accept_connection(int listen_fd);
// Connects to "host:port" with TCP_NODELAY (requests are complete when written).
unique_fd connect_to(const std::string& host_port);

void write_all(int fd, const void* data, size_t n);
// One recv; 0 at end of stream.
size_t read_some(int fd, void* data, size_t n);
// Waits up to `timeout_ns` (negative: no limit) for `fd` to become readable. Nanoseconds, as a
// paced sender's next send is often less than a millisecond away.
bool wait_readable(int fd, int64_t timeout_ns);

}  // namespace runnel::bench
