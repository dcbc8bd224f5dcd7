#include "bench/socket_io.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

namespace runnel::bench {

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

}  // namespace

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

unique_fd::~unique_fd() {
    if (fd_ >= 0) ::close(fd_);
}

unique_fd listen_loopback(uint16_t port, const std::string& congestion_control) {
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) fail("socket");
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!congestion_control.empty() &&
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_CONGESTION, congestion_control.data(),
                     static_cast<socklen_t>(congestion_control.size())) != 0) {
        fail("setting TCP congestion control " + congestion_control);
    }
    auto a = loopback(port);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fail("bind");
    if (::listen(fd.get(), 64) != 0) fail("listen");
    return fd;
}

uint16_t local_port(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) fail("getsockname");
    return ntohs(a.sin_port);
}

unique_fd accept_connection(int listen_fd) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) fail("accept");
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return unique_fd(fd);
}

unique_fd connect_to(const std::string& host_port) {
    auto colon = host_port.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("expected host:port: " + host_port);
    sockaddr_in a = loopback(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
    if (::inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &a.sin_addr) != 1)
        throw std::invalid_argument("expected an IPv4 address: " + host_port);
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) fail("socket");
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fail("connect");
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void write_all(int fd, const void* data, size_t n) {
    auto* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            fail("send");
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

size_t read_some(int fd, void* data, size_t n) {
    for (;;) {
        ssize_t r = ::recv(fd, data, n, 0);
        if (r >= 0) return static_cast<size_t>(r);
        if (errno != EINTR) fail("recv");
    }
}

bool wait_readable(int fd, int64_t timeout_ns) {
    pollfd p{fd, POLLIN, 0};
    timespec limit{static_cast<time_t>(timeout_ns / 1'000'000'000),
                   static_cast<long>(timeout_ns % 1'000'000'000)};
    for (;;) {
        int r = ::ppoll(&p, 1, timeout_ns < 0 ? nullptr : &limit, nullptr);
        if (r >= 0) return r > 0;
        if (errno != EINTR) fail("poll");
    }
}

}  // namespace runnel::bench
