// Percentiles of measured latencies. Every sample is kept (a few hundred thousand per run at most)
// and sorted once, so the percentiles are exact rather than bucketed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace runnel::bench {

struct latency_summary {
    size_t count = 0;
    double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

// Nearest-rank percentiles of `samples_ns`.
latency_summary summarize_latencies(std::vector<int64_t> samples_ns);

// {"count": n, "p50_us": ..., "p99_us": ..., "p999_us": ..., "max_us": ...}
std::string to_json(const latency_summary& s);

}  // namespace runnel::bench
