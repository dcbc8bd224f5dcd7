// Warnings about what a client sent (a malformed frame, an unsupported version, an oversized
// request) are logged at most `burst` times per peer host in each interval; the rest are counted
// and a single summary line per interval says how many were dropped and from whom. A flood of bad
// requests (a fuzzer, a broken client retrying in a loop) then costs a few lines a minute instead
// of filling the disk. One instance per shard thread (peer_warnings::local()); nothing locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <spdlog/spdlog.h>

namespace runnel::server {

class peer_warnings {
  public:
    using clock = std::chrono::steady_clock;
    static constexpr auto interval = std::chrono::seconds(10);
    static constexpr uint32_t burst = 5;
    // Peers counted one by one in an interval; past that, drops are only counted in total.
    static constexpr size_t max_tracked_peers = 1024;

    struct summary {
        uint64_t dropped = 0;
        size_t peers = 0;  // distinct peers dropped from (tracked ones)
        std::string busiest_peer;
        uint64_t busiest_dropped = 0;
    };

    // The calling thread's instance.
    static peer_warnings& local();

    // Whether a warning about `peer` ("host:port" or a bare host) may be logged at `now`;
    // otherwise it is counted for the summary.
    bool admit(std::string_view peer, clock::time_point now);
    // What admit() refused since the last call, and reset; nullopt when nothing was refused.
    std::optional<summary> take_summary();
    // When the interval that admit() counts in ends (for scheduling the summary).
    clock::time_point interval_end() const { return window_start_ + interval; }

  private:
    struct peer_counts {
        uint32_t logged = 0;
        uint64_t dropped = 0;
    };
    clock::time_point window_start_{};
    std::unordered_map<std::string, peer_counts> peers_;
    uint64_t dropped_ = 0;
    bool summary_scheduled_ = false;

    friend void schedule_peer_warning_summary(peer_warnings& w);
};

// The host part of "host:port" or "[v6]:port".
std::string_view peer_host(std::string_view peer);

// Logs the summary of dropped warnings once the current interval ends, with a timer on the
// calling shard (outside shard threads nothing is scheduled).
void schedule_peer_warning_summary(peer_warnings& w);

// Logs a line about something `peer` sent, at `level`, subject to the per-peer budget.
template <class... Args>
void log_about_peer(spdlog::logger& log, spdlog::level::level_enum level, std::string_view peer,
                    spdlog::format_string_t<Args...> fmt, Args&&... args) {
    if (!log.should_log(level)) return;
    auto& w = peer_warnings::local();
    if (w.admit(peer, peer_warnings::clock::now())) {
        log.log(level, fmt, std::forward<Args>(args)...);
    } else {
        schedule_peer_warning_summary(w);
    }
}

template <class... Args>
void warn_about_peer(spdlog::logger& log, std::string_view peer,
                     spdlog::format_string_t<Args...> fmt, Args&&... args) {
    log_about_peer(log, spdlog::level::warn, peer, fmt, std::forward<Args>(args)...);
}

}  // namespace runnel::server
