#include "bench/latency_samples.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace runnel::bench {

latency_summary summarize_latencies(std::vector<int64_t> samples_ns) {
    latency_summary s;
    s.count = samples_ns.size();
    if (samples_ns.empty()) return s;
    std::sort(samples_ns.begin(), samples_ns.end());
    auto at = [&](double q) {
        auto rank = static_cast<size_t>(std::ceil(q * double(samples_ns.size())));
        return double(samples_ns[std::max<size_t>(rank, 1) - 1]) / 1e3;
    };
    s.p50_us = at(0.5);
    s.p99_us = at(0.99);
    s.p999_us = at(0.999);
    s.max_us = double(samples_ns.back()) / 1e3;
    return s;
}

std::string to_json(const latency_summary& s) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "{\"count\": %zu, \"p50_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, "
                  "\"max_us\": %.1f}",
                  s.count, s.p50_us, s.p99_us, s.p999_us, s.max_us);
    return buf;
}

}  // namespace runnel::bench
