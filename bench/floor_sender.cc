// The produce floor's sender: streams pre-built floor frames (floor_frame.h) of --frame-bytes
// pseudo-random payload to floor_receiver over --connections connections, keeping --window frames
// unacknowledged on each, as fast as possible or at --rate bytes/s in total, for --seconds (or
// until --max-bytes). Prints a JSON line: payload bytes acknowledged, frames, wall seconds and
// the per-frame acknowledgement latency.
#include <cstdio>

#include "bench/floor_frame.h"
#include "bench/frame_reader.h"
#include "bench/latency_samples.h"
#include "bench/options.h"
#include "bench/request_pipeline.h"
#include "bench/socket_io.h"
#include "protocol/crc32c.h"
#include "protocol/record_batch_header.h"

using namespace runnel::bench;
namespace L = runnel::protocol::batch_layout;

namespace {

std::vector<uint8_t> build_frame(size_t payload_bytes) {
    std::vector<uint8_t> frame(floor_frame::header_size + payload_bytes);
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    for (size_t i = floor_frame::header_size; i < frame.size(); ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        frame[i] = static_cast<uint8_t>(state >> 56);
    }
    L::store_i32(frame.data(), static_cast<int32_t>(payload_bytes));
    L::store_i32(frame.data() + floor_frame::crc_at,
                 static_cast<int32_t>(runnel::protocol::crc32c(
                     frame.data() + floor_frame::header_size, payload_bytes)));
    return frame;
}

}  // namespace

int main(int argc, char** argv) {
    options opt(
        argc, argv,
        {"connect", "connections", "frame-bytes", "window", "seconds", "rate", "max-bytes"});
    const int connections = static_cast<int>(opt.integer("connections", 1));
    const auto frame_bytes = static_cast<size_t>(opt.integer("frame-bytes", 64 << 10));
    const auto settings = pipeline_settings_from(opt, frame_bytes, connections);
    const auto receiver = opt.text("connect", "");
    if (receiver.empty()) {
        std::fprintf(stderr, "floor_sender: --connect HOST:PORT (floor_receiver's) is required\n");
        return 2;
    }
    try {
        const auto frame = build_frame(frame_bytes);
        auto result = run_connections(connections, [&](int) {
            auto sock = connect_to(receiver);
            frame_reader acks(sock.get());
            auto r = run_pipeline(
                settings, [&](int64_t) { write_all(sock.get(), frame.data(), frame.size()); },
                [&](int64_t timeout_ns) { return acks.next(timeout_ns).has_value(); });
            return r;
        });
        std::printf("{\"bytes\": %lld, \"requests\": %lld, \"seconds\": %.6f, \"ack\": %s}\n",
                    static_cast<long long>(result.requests * int64_t(frame_bytes)),
                    static_cast<long long>(result.requests),
                    double(result.finished_ns - result.started_ns) / 1e9,
                    to_json(summarize_latencies(std::move(result.latencies_ns))).c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "floor_sender: %s\n", e.what());
        return 1;
    }
}
