#include "bench/fetch_reader.h"

#include <algorithm>
#include <stdexcept>

#include "bench/kafka_requests.h"
#include "protocol/record_batch.h"

namespace runnel::bench {

fetch_reader::fetch_reader(const std::string& topic, const std::vector<int32_t>& partitions,
                           int32_t partition_max_bytes, int32_t max_wait_ms)
    : high_watermarks_(partitions.size(), -1) {
    request_.max_wait_ms = max_wait_ms;
    request_.min_bytes = 1;
    auto& t = request_.topics.emplace_back();
    t.topic = topic;
    for (int32_t p : partitions) {
        auto& fp = t.partitions.emplace_back();
        fp.partition = p;
        fp.partition_max_bytes = partition_max_bytes;
    }
}

std::vector<uint8_t> fetch_reader::request(int32_t correlation_id) const {
    auto frame = encode_fetch(request_);
    set_correlation_id(frame.bytes, correlation_id);
    return std::move(frame.bytes);
}

void fetch_reader::take(std::span<const uint8_t> frame, int32_t correlation_id,
                        const std::function<void(std::span<const uint8_t>)>& on_batch) {
    auto r = response_body(frame, correlation_id);
    protocol::msg::fetch_response resp;
    resp.decode(r, fetch_version);
    if (!r.ok() || resp.error_code != 0) throw std::runtime_error("failed Fetch response");
    auto& partitions = request_.topics.front().partitions;
    for (const auto& t : resp.responses) {
        for (const auto& pd : t.partitions) {
            size_t i = 0;
            while (i < partitions.size() && partitions[i].partition != pd.partition_index) ++i;
            if (i == partitions.size() || pd.error_code != 0)
                throw std::runtime_error(
                    "Fetch from " + t.topic + "-" + std::to_string(pd.partition_index) +
                    " failed with error code " + std::to_string(pd.error_code));
            high_watermarks_[i] = pd.high_watermark;
            for (const auto& chunk : pd.records.chunks()) {
                auto rest = chunk.bytes;
                // The last batch may be cut off by the size limit; it is read again next time.
                while (auto h = protocol::parse_batch_header(rest)) {
                    auto size = static_cast<size_t>(h->total_size());
                    if (size > rest.size()) break;
                    on_batch(rest.first(size));
                    partitions[i].fetch_offset = h->last_offset() + 1;
                    rest = rest.subspan(size);
                }
            }
        }
    }
}

bool fetch_reader::caught_up() const {
    const auto& partitions = request_.topics.front().partitions;
    for (size_t i = 0; i < partitions.size(); ++i) {
        if (high_watermarks_[i] < 0 || partitions[i].fetch_offset < high_watermarks_[i])
            return false;
    }
    return true;
}

void fetch_reader::rewind() {
    for (auto& p : request_.topics.front().partitions) p.fetch_offset = 0;
    std::fill(high_watermarks_.begin(), high_watermarks_.end(), -1);
}

}  // namespace runnel::bench
