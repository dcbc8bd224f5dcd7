// Module loggers for server/ ("server") and the broker's start-up configuration of spdlog.
#pragma once

#include <spdlog/spdlog.h>

namespace runnel::server {

// The "server" logger: connections, requests, topic administration.
spdlog::logger& server_log();

// Sets up stderr logging for the broker process: one pattern, the level from RUNNEL_LOG_LEVEL
// (trace, debug, info, warn, error; default info), and the "server", "storage" and "protocol"
// module loggers sharing the sink.
void configure_logging();

}  // namespace runnel::server
