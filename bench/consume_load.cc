// The lean Kafka consumer: reads partitions 0 .. --partitions-1 of --topic from offset 0 up to
// their high watermark with back-to-back Fetch requests on one connection, --passes times, and
// throws the records away (only batch headers are looked at). Prints a JSON line with the bytes
// and records read and the wall seconds.
#include <cstdio>

#include "bench/clocks.h"
#include "bench/fetch_reader.h"
#include "bench/frame_reader.h"
#include "bench/options.h"
#include "bench/socket_io.h"
#include "protocol/record_batch.h"

using namespace runnel::bench;

int main(int argc, char** argv) {
    options opt(argc, argv, {"bootstrap", "topic", "partitions", "partition-max-bytes", "passes"});
    std::vector<int32_t> partitions;
    for (int64_t p = 0; p < opt.integer("partitions", 1); ++p)
        partitions.push_back(static_cast<int32_t>(p));
    try {
        auto sock = connect_to(opt.text("bootstrap", "127.0.0.1:9092"));
        frame_reader responses(sock.get());
        fetch_reader reader(opt.text("topic", "load"), partitions,
                            static_cast<int32_t>(opt.integer("partition-max-bytes", 1 << 20)), 0);
        int64_t bytes = 0, records = 0;
        int32_t correlation_id = 0;
        const int64_t started = now_ns();
        for (int64_t pass = 0; pass < opt.integer("passes", 1); ++pass) {
            reader.rewind();
            while (!reader.caught_up()) {
                auto request = reader.request(correlation_id);
                write_all(sock.get(), request.data(), request.size());
                reader.take(*responses.next(), correlation_id++, [&](std::span<const uint8_t> b) {
                    bytes += static_cast<int64_t>(b.size());
                    records += runnel::protocol::parse_batch_header(b)->records_count;
                });
            }
        }
        std::printf("{\"bytes\": %lld, \"records\": %lld, \"seconds\": %.6f}\n",
                    static_cast<long long>(bytes), static_cast<long long>(records),
                    double(now_ns() - started) / 1e9);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "consume_load: %s\n", e.what());
        return 1;
    }
}
