// The "streams" spdlog logger. Created on first use (sharing the default logger's sinks) so tests
// and tools that never configure logging still work; the server may register its own "streams"
// logger before any pipeline runs.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

namespace runnel::streams {

inline spdlog::logger& streams_log() {
    if (auto existing = spdlog::get("streams")) return *existing;  // the registry keeps it alive
    static std::mutex create_mutex;
    std::lock_guard lock(create_mutex);
    if (auto existing = spdlog::get("streams")) return *existing;
    auto default_logger = spdlog::default_logger();
    auto logger = default_logger
                      ? std::make_shared<spdlog::logger>("streams", default_logger->sinks().begin(),
                                                         default_logger->sinks().end())
                      : std::make_shared<spdlog::logger>("streams");
    spdlog::initialize_logger(logger);  // registers it and applies the global level and pattern
    return *logger;
}

}  // namespace runnel::streams
