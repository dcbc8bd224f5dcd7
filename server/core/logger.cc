#include "server/core/logger.h"

#include <spdlog/sinks/stdout_color_sinks.h>

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

}  // namespace

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
    spdlog::set_level(level ? spdlog::level::from_str(level) : spdlog::level::info);
    for (const char* name : {"server", "storage", "protocol"}) module_logger(name);
}

}  // namespace runnel::server
