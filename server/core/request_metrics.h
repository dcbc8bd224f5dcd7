// Requests served by one shard: how many of each API and version, the error codes answered, and
// how long each API took
// (from the frame read to the answer handed to the socket) as a histogram. Written only by the
// shard's own thread, without atomics or locks; a scrape copies it on that shard
// (admin /metrics) and adds the shards up.
#pragma once

#include <array>
#include <boost/container/small_vector.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "protocol/codec.h"
#include "server/core/latency_histogram.h"

namespace runnel::server {

// The error codes one answer carried, each counted (Kafka's ErrorsPerSec counts NONE too). An
// answer holds few distinct codes, so they stay inline: no allocation per request.
struct error_tally {
    boost::container::small_vector<std::pair<int16_t, uint32_t>, 4> counts;

    void operator()(int16_t code) {
        for (auto& [c, n] : counts) {
            if (c == code) {
                ++n;
                return;
            }
        }
        counts.emplace_back(code, 1);
    }
};

class request_metrics {
  public:
    struct api_stats {
        std::map<int16_t, uint64_t> by_version;  // requests per version
        std::map<int16_t, uint64_t> errors;      // error codes answered (partitions included)
        latency_histogram latency;               // from the frame read to the answer sent
    };

    void record(int16_t api_key, int16_t version, std::chrono::steady_clock::duration took,
                const error_tally& errors = {}) {
        if (api_key < 0) return;
        if (static_cast<size_t>(api_key) >= apis_.size()) apis_.resize(api_key + 1);
        auto& a = apis_[api_key];
        ++a.by_version[version];
        for (const auto& [code, n] : errors.counts) a.errors[code] += n;
        a.latency.add(took);
    }

    // Indexed by API key; keys never requested have no versions.
    const std::vector<api_stats>& apis() const { return apis_; }

    // Record batch bytes a fetch answer carried, by topic id (counted as the answer is put
    // together, so bytes trimmed by a limit or read again by a long poll count once).
    void fetched(const protocol::uuid& topic, uint64_t bytes) { bytes_out_[topic] += bytes; }
    const std::map<protocol::uuid, uint64_t>& bytes_out() const { return bytes_out_; }

    // File ranges fetch answers sent with sendfile, and those not wholly in the page cache (read
    // in on the I/O pool first), with their bytes.
    struct file_reads {
        uint64_t ranges = 0, misses = 0, miss_bytes = 0;
    };
    void sent_file_range(size_t bytes, bool cached) {
        ++file_reads_.ranges;
        if (!cached) {
            ++file_reads_.misses;
            file_reads_.miss_bytes += bytes;
        }
    }
    const file_reads& fetch_file_reads() const { return file_reads_; }

    // Adds `other` (another shard's copy) into this one.
    void add(const request_metrics& other) {
        if (other.apis_.size() > apis_.size()) apis_.resize(other.apis_.size());
        for (size_t k = 0; k < other.apis_.size(); ++k) {
            const auto& o = other.apis_[k];
            auto& a = apis_[k];
            for (const auto& [v, n] : o.by_version) a.by_version[v] += n;
            for (const auto& [e, n] : o.errors) a.errors[e] += n;
            a.latency.add(o.latency);
        }
        for (const auto& [topic, n] : other.bytes_out_) bytes_out_[topic] += n;
        file_reads_.ranges += other.file_reads_.ranges;
        file_reads_.misses += other.file_reads_.misses;
        file_reads_.miss_bytes += other.file_reads_.miss_bytes;
    }

  private:
    std::vector<api_stats> apis_;
    std::map<protocol::uuid, uint64_t> bytes_out_;
    file_reads file_reads_;
};

}  // namespace runnel::server
