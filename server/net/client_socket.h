// Socket options of accepted client connections: Nagle off, Kafka's socket.send.buffer.bytes /
// socket.receive.buffer.bytes, and a congestion control for loopback peers
// (runnel.socket.loopback.congestion.control).
#pragma once

#include <optional>
#include <string>

#include "server/config/broker_config.h"

namespace runnel::server {

// Whether TCP congestion control `name` can be set on a socket here; nullopt if it can, else why
// not (not built into the kernel, or not allowed to this process).
std::optional<std::string> congestion_control_unusable(const std::string& name);

// Applies what connections accepted on listening socket `fd` inherit from their handshake on:
// the loopback congestion control (client_socket.cc says why there).
void configure_listening_socket(int fd, const broker_config& config);

// Applies the options to the freshly accepted socket `fd`, and gives a connection from another
// host the system's congestion control back. A failure leaves that option as it was; the
// connection is served either way.
void configure_client_socket(int fd, const broker_config& config);

}  // namespace runnel::server
