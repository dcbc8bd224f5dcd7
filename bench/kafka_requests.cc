#include "bench/kafka_requests.h"

#include <memory>
#include <stdexcept>

#include "protocol/messages/produce.h"
#include "protocol/messages/request_header.h"
#include "protocol/messages/response_header.h"
#include "protocol/record_batch_header.h"

namespace runnel::bench {

namespace {

// Both request versions spoken here are flexible: request header v2, response header v1.
constexpr int16_t request_header_version = 2;
constexpr int16_t response_header_version = 1;
// Size prefix (4), api key (2), api version (2): then the correlation id.
constexpr size_t correlation_id_at = 8;

template <class Body>
request_frame encode(int16_t api_key, int16_t version, const Body& body) {
    protocol::writer w;
    w.write_int32(0);  // size, patched below
    protocol::msg::request_header header;
    header.request_api_key = api_key;
    header.request_api_version = version;
    header.client_id = "runnel-bench";
    header.encode(w, request_header_version);
    body.encode(w, version);
    w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
    request_frame frame{w.flatten(), {}};
    // Record sets are spliced in by flatten(): each lands after the bytes spliced before it.
    size_t spliced_before = 0;
    for (const auto& s : w.splices()) {
        frame.records_at.push_back(s.at + spliced_before);
        spliced_before += s.chunk.size();
    }
    return frame;
}

}  // namespace

request_frame encode_produce(const std::string& topic, const std::vector<int32_t>& partitions,
                             std::span<const uint8_t> batch, int16_t acks) {
    protocol::msg::produce_request req;
    req.acks = acks;
    req.timeout_ms = 30'000;
    auto& td = req.topic_data.emplace_back();
    td.name = topic;
    for (int32_t p : partitions) {
        auto& pd = td.partition_data.emplace_back();
        pd.index = p;
        pd.records = protocol::record_set::copy_of(batch);
    }
    auto frame = encode(protocol::msg::produce_api_key, produce_version, req);
    if (frame.records_at.size() != partitions.size())
        throw std::logic_error("a batch was not spliced into the Produce request");
    // In v9 a partition is its int32 index, then its record set as compact bytes (an unsigned
    // varint of size + 1 before the batch). Checked against the indexes just encoded.
    const size_t before_records = 4 + protocol::uvarint_size(uint32_t(batch.size() + 1));
    for (size_t i = 0; i < partitions.size(); ++i) {
        const size_t at = frame.records_at[i] - before_records;
        if (protocol::batch_layout::load_i32(frame.bytes.data() + at) != partitions[i])
            throw std::logic_error("partition index not found before its record set");
        frame.partition_at.push_back(at);
    }
    return frame;
}

request_frame encode_fetch(const protocol::msg::fetch_request& request) {
    return encode(protocol::msg::fetch_api_key, fetch_version, request);
}

void set_correlation_id(std::span<uint8_t> frame, int32_t correlation_id) {
    protocol::batch_layout::store_i32(frame.data() + correlation_id_at, correlation_id);
}

void set_partition(request_frame& frame, size_t i, int32_t partition) {
    protocol::batch_layout::store_i32(frame.bytes.data() + frame.partition_at.at(i), partition);
}

protocol::reader response_body(std::span<const uint8_t> frame, int32_t correlation_id) {
    // A non-null owner makes the decoder point record sets into the frame instead of copying
    // them; the frame outlives the decoded response, so the owner need not own anything.
    std::shared_ptr<const void> borrowed(std::shared_ptr<const void>(), frame.data());
    protocol::reader r(frame, borrowed);
    protocol::msg::response_header header;
    header.decode(r, response_header_version);
    if (!r.ok() || header.correlation_id != correlation_id)
        throw std::runtime_error("response with correlation id " +
                                 std::to_string(header.correlation_id) + ", expected " +
                                 std::to_string(correlation_id));
    return r;
}

void check_produce_response(std::span<const uint8_t> frame, int32_t correlation_id) {
    auto r = response_body(frame, correlation_id);
    protocol::msg::produce_response resp;
    resp.decode(r, produce_version);
    if (!r.ok()) throw std::runtime_error("malformed Produce response");
    for (const auto& t : resp.responses) {
        for (const auto& p : t.partition_responses) {
            if (p.error_code != 0)
                throw std::runtime_error("Produce to " + t.name + "-" + std::to_string(p.index) +
                                         " failed with error code " + std::to_string(p.error_code) +
                                         ": " + p.error_message.value_or(""));
        }
    }
}

}  // namespace runnel::bench
