// Module loggers for server/ ("server") and the broker's start-up configuration of spdlog.
#pragma once

#include <spdlog/spdlog.h>

#include <exception>
#include <string>

namespace runnel::server {

// The "server" logger: connections, requests, topic administration.
spdlog::logger& server_log();

// Sets up stderr logging for the broker process: one pattern, the level from RUNNEL_LOG_LEVEL
// (trace, debug, info, warn, error; default info), and the "server", "storage" and "protocol"
// module loggers sharing the sink.
void configure_logging();

// Logs an exception that escaped background work as "<what>: <message>" (nothing when e is null).
void log_failure(const std::string& what, std::exception_ptr e);
// The same as a co_spawn completion handler.
inline auto log_failure(std::string what) {
    return [what = std::move(what)](std::exception_ptr e) { log_failure(what, e); };
}

}  // namespace runnel::server
