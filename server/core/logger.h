// Module loggers for server/ ("server") and the broker's start-up configuration of spdlog.
#pragma once

#include <spdlog/spdlog.h>

#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace runnel::server {

// The "server" logger: connections, requests, topic administration.
spdlog::logger& server_log();

// Sets up stderr logging for the broker process: one pattern, the level from RUNNEL_LOG_LEVEL
// (trace, debug, info, warn, error; default info), and the "server", "storage" and "protocol"
// module loggers sharing the sink.
void configure_logging();

// The module loggers an operator may tune at run time (Kafka's BROKER_LOGGER resource).
std::span<const std::string_view> module_logger_names();
// A module logger's level under log4j's names, as Kafka reports them (TRACE, DEBUG, INFO, WARN,
// ERROR, FATAL, OFF), or nullopt for an unknown logger.
std::optional<std::string> logger_level(std::string_view logger);
// Why `level` cannot be set on `logger`, in Kafka's words, or nullopt when it can.
std::optional<std::string> logger_level_problem(std::string_view logger, std::string_view level);
// Sets a module logger's level (checked first with logger_level_problem).
void set_logger_level(std::string_view logger, std::string_view level);
// Puts a module logger back to the level it started with (RUNNEL_LOG_LEVEL or INFO).
void reset_logger_level(std::string_view logger);

// Logs an exception that escaped background work as "<what>: <message>" (nothing when e is null).
void log_failure(const std::string& what, std::exception_ptr e);
// The same as a co_spawn completion handler.
inline auto log_failure(std::string what) {
    return [what = std::move(what)](std::exception_ptr e) { log_failure(what, e); };
}

}  // namespace runnel::server
