// TCP congestion control of sockets (TCP_CONGESTION): what the kernel offers this process, and
// setting and reading it on a socket.
#pragma once

#include <optional>
#include <string>

namespace runnel::server {

// Whether TCP congestion control `name` can be set on a socket here; nullopt if it can, else why
// not (not built into the kernel, or not allowed to this process).
std::optional<std::string> congestion_control_unusable(const std::string& name);

// setsockopt(TCP_CONGESTION); 0 or -1 with errno, as setsockopt.
int set_congestion_control(int fd, const std::string& name);

// The congestion control of socket `fd`; empty if it cannot be read.
std::string congestion_control_of(int fd);

// What a new socket gets here (net.ipv4.tcp_congestion_control); empty if it cannot be read.
std::string system_congestion_control();

}  // namespace runnel::server
