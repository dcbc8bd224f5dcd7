// Requests served by one shard: how many of each API and version, and how long each API took
// (from the frame read to the answer handed to the socket) as a histogram. Written only by the
// shard's own thread, without atomics or locks; a scrape copies it on that shard
// (admin /metrics) and adds the shards up.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "protocol/codec.h"

namespace runnel::server {

class request_metrics {
  public:
    // Upper bounds of the latency buckets, in milliseconds (Prometheus "le"); one more bucket
    // above the last holds the rest.
    static constexpr std::array<double, 14> bucket_bounds_ms = {
        0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};

    struct api_stats {
        std::map<int16_t, uint64_t> by_version;  // requests per version
        std::array<uint64_t, bucket_bounds_ms.size() + 1> buckets{};
        double sum_ms = 0;
        uint64_t count = 0;
    };

    void record(int16_t api_key, int16_t version, std::chrono::steady_clock::duration took) {
        if (api_key < 0) return;
        if (static_cast<size_t>(api_key) >= apis_.size()) apis_.resize(api_key + 1);
        auto& a = apis_[api_key];
        ++a.by_version[version];
        const double ms = std::chrono::duration<double, std::milli>(took).count();
        size_t b = 0;
        while (b < bucket_bounds_ms.size() && ms > bucket_bounds_ms[b]) ++b;
        ++a.buckets[b];
        a.sum_ms += ms;
        ++a.count;
    }

    // Indexed by API key; keys never requested have count 0.
    const std::vector<api_stats>& apis() const { return apis_; }

    // Record batch bytes a fetch answer carried, by topic id (counted as the answer is put
    // together, so bytes trimmed by a limit or read again by a long poll count once).
    void fetched(const protocol::uuid& topic, uint64_t bytes) { bytes_out_[topic] += bytes; }
    const std::map<protocol::uuid, uint64_t>& bytes_out() const { return bytes_out_; }

    // Adds `other` (another shard's copy) into this one.
    void add(const request_metrics& other) {
        if (other.apis_.size() > apis_.size()) apis_.resize(other.apis_.size());
        for (size_t k = 0; k < other.apis_.size(); ++k) {
            const auto& o = other.apis_[k];
            auto& a = apis_[k];
            for (const auto& [v, n] : o.by_version) a.by_version[v] += n;
            for (size_t b = 0; b < a.buckets.size(); ++b) a.buckets[b] += o.buckets[b];
            a.sum_ms += o.sum_ms;
            a.count += o.count;
        }
        for (const auto& [topic, n] : other.bytes_out_) bytes_out_[topic] += n;
    }

  private:
    std::vector<api_stats> apis_;
    std::map<protocol::uuid, uint64_t> bytes_out_;
};

}  // namespace runnel::server
