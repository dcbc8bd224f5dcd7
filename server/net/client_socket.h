// Socket options of accepted client connections: Nagle off, Kafka's socket.send.buffer.bytes /
// socket.receive.buffer.bytes, and a congestion control for loopback peers
// (runnel.socket.loopback.congestion.control).
#pragma once

#include <optional>
#include <string>

#include "server/config/broker_config.h"
#include "server/core/tcp_congestion.h"

namespace runnel::server {

// Applies what connections accepted on listening socket `fd` inherit from their handshake on:
// the loopback congestion control (client_socket.cc says why there).
void configure_listening_socket(int fd, const broker_config& config);

// Applies the options to the freshly accepted socket `fd`, and gives a connection from another
// host the system's congestion control back. A failure leaves that option as it was; the
// connection is served either way.
void configure_client_socket(int fd, const broker_config& config);

}  // namespace runnel::server
