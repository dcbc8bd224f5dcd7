#include "server/net/client_socket.h"
#include "server/core/tcp_congestion.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace runnel::server {

namespace {

void set_int(int fd, int level, int option, int value) {
    ::setsockopt(fd, level, option, &value, sizeof value);
}

// 127.0.0.0/8 and ::1, also as a dual-stack listener sees IPv4 peers (::ffff:127.0.0.1).
bool peer_is_loopback(int fd) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return false;
    if (peer.ss_family == AF_INET) {
        auto a = ntohl(reinterpret_cast<const sockaddr_in&>(peer).sin_addr.s_addr);
        return (a >> 24) == 127;
    }
    if (peer.ss_family != AF_INET6) return false;
    const auto& a = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
}

}  // namespace

// Why loopback connections get their own congestion control: pacing ones (BBR, a common system
// default) pace a loopback connection with hrtimers once an early drop (a full receive buffer)
// has lowered their bandwidth estimate, though there is no link to protect; on consume that
// made the broker's CPU per byte 2-5x higher in about half the connections (docs/benchmarks.md).
// It is set on the listening socket, not after accept: a connection that started under BBR keeps
// pacing after it is switched (the kernel turns pacing on at BBR's start and never off), so
// connections from other hosts are switched back to the system's choice instead.
void configure_listening_socket(int fd, const broker_config& config) {
    const auto& cc = config.loopback_congestion_control;
    if (!cc.empty()) set_congestion_control(fd, cc);  // usable: checked when loaded
}

void configure_client_socket(int fd, const broker_config& config) {
    set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    // Kafka applies both sizes to every connection unless they are -1, which keeps the kernel's
    // autotuning (net.ipv4.tcp_wmem / tcp_rmem).
    if (config.socket_send_buffer_bytes != -1)
        set_int(fd, SOL_SOCKET, SO_SNDBUF, config.socket_send_buffer_bytes);
    if (config.socket_receive_buffer_bytes != -1)
        set_int(fd, SOL_SOCKET, SO_RCVBUF, config.socket_receive_buffer_bytes);
    const auto& cc = config.loopback_congestion_control;
    if (cc.empty() || peer_is_loopback(fd)) return;
    // The system's default is always allowed to be set. A connection the kernel gave another
    // algorithm (a route's congctl) keeps it.
    static const std::string system = system_congestion_control();
    if (system.empty() || system == cc || congestion_control_of(fd) != cc) return;
    set_congestion_control(fd, system);
}

}  // namespace runnel::server
