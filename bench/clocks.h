// The two clocks the benchmark programs read: monotonic wall time, and the CPU time this process
// has used (user + system, all threads), from which CPU seconds per GB are computed.
#pragma once

#include <sys/resource.h>
#include <time.h>

#include <cstdint>

namespace runnel::bench {

inline int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline double process_cpu_seconds() {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

}  // namespace runnel::bench
