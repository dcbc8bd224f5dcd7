// A latency histogram in Prometheus's shape: fixed bucket bounds in milliseconds ("le"), one
// more bucket for the rest, a sum and a count. Written by one shard's thread only; a scrape
// copies each shard's and adds them up.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace runnel::server {

struct latency_histogram {
    static constexpr std::array<double, 14> bounds_ms = {0.1, 0.25, 0.5, 1,   2.5, 5,    10,
                                                         25,  50,   100, 250, 500, 1000, 5000};

    std::array<uint64_t, bounds_ms.size() + 1> buckets{};
    double sum_ms = 0;
    uint64_t count = 0;

    void add(std::chrono::steady_clock::duration took) {
        const double ms = std::chrono::duration<double, std::milli>(took).count();
        size_t b = 0;
        while (b < bounds_ms.size() && ms > bounds_ms[b]) ++b;
        ++buckets[b];
        sum_ms += ms;
        ++count;
    }

    void add(const latency_histogram& other) {
        for (size_t b = 0; b < buckets.size(); ++b) buckets[b] += other.buckets[b];
        sum_ms += other.sum_ms;
        count += other.count;
    }
};

}  // namespace runnel::server
