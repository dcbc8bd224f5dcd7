// The lean Kafka producer: sends one pre-built batch (--records records of --record-bytes) per
// partition in every Produce request, the same bytes each time, so the client costs little more
// than its writes. Partitions 0 .. --partitions-1 of --topic are dealt to --connections
// connections in turn (with more connections than partitions, some share one); each keeps
// --window requests outstanding, as fast as the broker acknowledges or at --rate bytes/s in
// total, for --seconds (or until --max-bytes).
//
// A request carries a batch for every partition of its connection, or with
// --partitions-per-request K for K of them, the next K in turn on every request (so thousands of
// partitions can be written with requests of a few batches). Only the partition indexes and the
// correlation id of the pre-built request change.
//
// --end-to-end also runs a consumer (Fetch long polls on its own connection) and stamps each
// batch's intended send time into its first record, so the time from then until the consumer
// receives the batch is measured too. Batches without a stamp from this run (an earlier run's
// data in the same topic) are skipped.
//
// Prints a JSON line: bytes and records acknowledged, wall seconds, produce-to-ack latency per
// request and, with --end-to-end, the send-to-receive latency per batch.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>

#include "bench/clocks.h"
#include "bench/fetch_reader.h"
#include "bench/frame_reader.h"
#include "bench/kafka_requests.h"
#include "bench/latency_samples.h"
#include "bench/load_batch.h"
#include "bench/options.h"
#include "bench/request_pipeline.h"
#include "bench/socket_io.h"

using namespace runnel::bench;

namespace {

// Reads every partition from the start until `stop` is set and `expected` batches have been
// seen (or 10 s later); returns the send-to-receive latency of each batch stamped by this run.
std::vector<int64_t> consume_stamped(const std::string& bootstrap, const std::string& topic,
                                     const std::vector<int32_t>& partitions, int64_t run_start,
                                     const std::atomic<bool>& stop,
                                     const std::atomic<int64_t>& expected) {
    auto sock = connect_to(bootstrap);
    frame_reader responses(sock.get());
    fetch_reader reader(topic, partitions, 1 << 20, 100);
    std::vector<int64_t> latencies;
    int64_t give_up = 0;
    for (int32_t correlation_id = 0;; ++correlation_id) {
        if (stop && !give_up) give_up = now_ns() + 10'000'000'000;
        if (stop && (int64_t(latencies.size()) >= expected || now_ns() > give_up)) break;
        auto request = reader.request(correlation_id);
        write_all(sock.get(), request.data(), request.size());
        auto frame = responses.next();
        const int64_t received = now_ns();
        reader.take(*frame, correlation_id, [&](std::span<const uint8_t> batch) {
            int64_t sent = stamped_send_time(batch);
            if (sent >= run_start && sent <= received) latencies.push_back(received - sent);
        });
    }
    return latencies;
}

// A thread told to stop through a flag, and joined however the scope that owns it is left (a
// failed producer included).
class stopped_thread {
  public:
    explicit stopped_thread(std::atomic<bool>& stop) : stop_(stop) {}
    ~stopped_thread() { stop_and_join(); }
    void start(std::function<void()> fn) { thread_ = std::thread(std::move(fn)); }
    void stop_and_join() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }

  private:
    std::atomic<bool>& stop_;
    std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
    options opt(
        argc, argv,
        {"bootstrap", "topic", "partitions", "connections", "partitions-per-request", "records",
         "record-bytes", "acks", "window", "seconds", "rate", "max-bytes", "end-to-end!"});
    const auto bootstrap = opt.text("bootstrap", "127.0.0.1:9092");
    const auto topic = opt.text("topic", "load");
    const int partitions = static_cast<int>(opt.integer("partitions", 1));
    const int connections = static_cast<int>(opt.integer("connections", 1));
    const int per_request_limit = static_cast<int>(opt.integer("partitions-per-request", 0));
    const auto acks = static_cast<int16_t>(opt.integer("acks", 1));
    const bool end_to_end = opt.flag("end-to-end");
    if (connections < 1 || partitions < 1 || per_request_limit < 0) {
        std::fprintf(stderr,
                     "produce_load: need --connections >= 1, --partitions >= 1 and "
                     "--partitions-per-request >= 0\n");
        return 2;
    }
    try {
        const auto batch = build_load_batch(static_cast<int>(opt.integer("records", 64)),
                                            static_cast<int>(opt.integer("record-bytes", 1024)));
        std::vector<std::vector<int32_t>> owned(static_cast<size_t>(connections));
        for (int c = 0; c < connections; ++c) {
            for (int p = c % partitions; p < partitions; p += connections) owned[c].push_back(p);
        }
        // Batches in each request of a connection; every batch a connection sends per request is
        // a share of the rate.
        auto per_request = [&](int c) {
            const int mine = static_cast<int>(owned[c].size());
            return per_request_limit ? std::min(per_request_limit, mine) : mine;
        };
        int shares = 0;
        for (int c = 0; c < connections; ++c) shares += per_request(c);
        const auto settings = pipeline_settings_from(opt, batch.bytes.size(), shares);

        std::vector<int32_t> all_partitions;
        for (int p = 0; p < partitions; ++p) all_partitions.push_back(p);
        const int64_t run_start = now_ns();
        std::atomic<bool> stop{false};
        std::atomic<int64_t> batches_sent{0};
        std::vector<int64_t> end_to_end_ns;
        std::exception_ptr consumer_error;
        stopped_thread consumer(stop);
        if (end_to_end) {
            consumer.start([&] {
                try {
                    end_to_end_ns = consume_stamped(bootstrap, topic, all_partitions, run_start,
                                                    stop, batches_sent);
                } catch (...) {
                    consumer_error = std::current_exception();
                }
            });
        }

        auto result = run_connections(connections, [&](int c) {
            const auto& mine = owned[c];
            const size_t batches = static_cast<size_t>(per_request(c));
            auto request =
                encode_produce(topic, std::vector<int32_t>(mine.begin(), mine.begin() + batches),
                               batch.bytes, acks);
            size_t next_partition = 0;  // in `mine`, for the first batch of the next request
            auto sock = connect_to(bootstrap);
            frame_reader responses(sock.get());
            int32_t next_id = 0, acked_id = 0;
            auto r = run_pipeline(
                settings,
                [&](int64_t intended_ns) {
                    if (batches < mine.size()) {
                        for (size_t i = 0; i < batches; ++i)
                            set_partition(request, i, mine[(next_partition + i) % mine.size()]);
                        next_partition = (next_partition + batches) % mine.size();
                    }
                    if (end_to_end) {
                        for (size_t at : request.records_at)
                            stamp_send_time(
                                std::span(request.bytes).subspan(at, batch.bytes.size()),
                                batch.send_time_at, intended_ns);
                    }
                    set_correlation_id(request.bytes, next_id++);
                    write_all(sock.get(), request.bytes.data(), request.bytes.size());
                },
                [&](int64_t timeout_ns) {
                    auto frame = responses.next(timeout_ns);
                    if (!frame) return false;
                    check_produce_response(*frame, acked_id++);
                    return true;
                });
            batches_sent += r.requests * int64_t(batches);
            return r;
        });
        consumer.stop_and_join();
        if (consumer_error) std::rethrow_exception(consumer_error);

        const int64_t batches = batches_sent;
        std::printf(
            "{\"bytes\": %lld, \"records\": %lld, \"requests\": %lld, \"seconds\": %.6f, "
            "\"ack\": %s",
            static_cast<long long>(batches * int64_t(batch.bytes.size())),
            static_cast<long long>(batches * opt.integer("records", 64)),
            static_cast<long long>(result.requests),
            double(result.finished_ns - result.started_ns) / 1e9,
            to_json(summarize_latencies(std::move(result.latencies_ns))).c_str());
        if (end_to_end)
            std::printf(", \"end_to_end\": %s",
                        to_json(summarize_latencies(std::move(end_to_end_ns))).c_str());
        std::printf("}\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "produce_load: %s\n", e.what());
        return 1;
    }
}
