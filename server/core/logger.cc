#include "server/core/logger.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>

namespace runnel::server {

namespace {

std::shared_ptr<spdlog::logger> module_logger(const std::string& name) {
    if (auto existing = spdlog::get(name)) return existing;
    static std::mutex create_mutex;
    std::lock_guard lock(create_mutex);
    if (auto existing = spdlog::get(name)) return existing;
    auto def = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>(name, def->sinks().begin(), def->sinks().end());
    spdlog::initialize_logger(logger);
    return logger;
}

constexpr std::string_view module_names[] = {"server", "storage", "protocol", "streams"};

std::atomic<spdlog::level::level_enum> start_level{spdlog::level::info};

// log4j's level names and the spdlog level each one sets. FATAL is spdlog's critical.
struct level_name {
    std::string_view log4j;
    spdlog::level::level_enum level;
};
constexpr level_name level_names[] = {
    {"TRACE", spdlog::level::trace}, {"DEBUG", spdlog::level::debug},
    {"INFO", spdlog::level::info},   {"WARN", spdlog::level::warn},
    {"ERROR", spdlog::level::err},   {"FATAL", spdlog::level::critical},
    {"OFF", spdlog::level::off},
};

bool is_module(std::string_view name) {
    return std::find(std::begin(module_names), std::end(module_names), name) !=
           std::end(module_names);
}

}  // namespace

std::span<const std::string_view> module_logger_names() { return module_names; }

std::optional<std::string> logger_level(std::string_view logger) {
    if (!is_module(logger)) return std::nullopt;
    auto level = module_logger(std::string(logger))->level();
    for (const auto& n : level_names) {
        if (n.level == level) return std::string(n.log4j);
    }
    return std::string("INFO");
}

std::optional<std::string> logger_level_problem(std::string_view logger, std::string_view level) {
    if (!is_module(logger)) return fmt::format("Logger {} does not exist!", logger);
    for (const auto& n : level_names) {
        if (n.log4j == level) return std::nullopt;
    }
    return fmt::format(
        "Cannot set the log level of {} to {} as it is not a supported log level. Valid log4j "
        "levels are TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF",
        logger, level);
}

void set_logger_level(std::string_view logger, std::string_view level) {
    for (const auto& n : level_names) {
        if (n.log4j == level) module_logger(std::string(logger))->set_level(n.level);
    }
}

void reset_logger_level(std::string_view logger) {
    module_logger(std::string(logger))->set_level(start_level.load());
}

void log_failure(const std::string& what, std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        server_log().error("{}: {}", what, ex.what());
    }
}

spdlog::logger& server_log() {
    static std::shared_ptr<spdlog::logger> logger = module_logger("server");
    return *logger;
}

void configure_logging() {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto def = std::make_shared<spdlog::logger>("runnel", sink);
    spdlog::set_default_logger(def);
    spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] %^%l%$ %n: %v");
    const char* level = std::getenv("RUNNEL_LOG_LEVEL");
    start_level = level ? spdlog::level::from_str(level) : spdlog::level::info;
    spdlog::set_level(start_level);
    for (auto name : module_names) module_logger(std::string(name));
}

}  // namespace runnel::server
