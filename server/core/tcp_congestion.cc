#include "server/core/tcp_congestion.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace runnel::server {

int set_congestion_control(int fd, const std::string& name) {
    return ::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name.data(),
                        static_cast<socklen_t>(name.size()));
}

std::string congestion_control_of(int fd) {
    char name[64] = {};
    socklen_t length = sizeof name - 1;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &length) != 0) return {};
    return std::string(name, ::strnlen(name, length));
}

std::string system_congestion_control() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return {};
    auto name = congestion_control_of(fd);
    ::close(fd);
    return name;
}

std::optional<std::string> congestion_control_unusable(const std::string& name) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return std::string("cannot open a socket to try it: ") + std::strerror(errno);
    std::optional<std::string> why;
    if (set_congestion_control(fd, name) != 0) {
        int e = errno;
        if (e == ENOENT) {
            why = "the kernel has no congestion control named \"" + name +
                  "\" available (see /proc/sys/net/ipv4/tcp_available_congestion_control; a "
                  "module not loaded yet needs CAP_NET_ADMIN to load)";
        } else if (e == EPERM) {
            why = "\"" + name +
                  "\" is not in net.ipv4.tcp_allowed_congestion_control and the broker lacks "
                  "CAP_NET_ADMIN";
        } else {
            why = "setting \"" + name + "\" failed: " + std::strerror(e);
        }
    }
    ::close(fd);
    return why;
}

}  // namespace runnel::server
