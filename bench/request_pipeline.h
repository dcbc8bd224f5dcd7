// The request loop of the load generators (Kafka Produce and the floor's frames): keeps up to
// `window` requests outstanding on one connection, either as fast as the acknowledgements come
// back or at a fixed rate, and times every request from its intended send time to its
// acknowledgement.
//
// At a fixed rate the intended time is the schedule's, not the moment the request actually left:
// a request held back by a full window or a slow acknowledgement counts that wait, so a stall
// shows in the tail instead of silently lowering the rate ("coordinated omission").
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "bench/options.h"

namespace runnel::bench {

struct pipeline_settings {
    int window = 1;                  // requests outstanding at most
    double requests_per_second = 0;  // 0: as fast as the window allows
    int64_t duration_ns = 0;         // stop sending after this long
    int64_t max_requests = 0;        // stop sending after this many (0: no limit)
};

struct pipeline_result {
    int64_t requests = 0;
    int64_t started_ns = 0, finished_ns = 0;  // first send, last acknowledgement
    std::vector<int64_t> latencies_ns;        // one per request, in acknowledgement order
};

// Settings from the options --window (default 4), --seconds (5), --rate (bytes/s in total, 0:
// as fast as possible) and --max-bytes (0: no limit), for a load split into `shares` equal
// streams of requests (connections, or the batches all connections put in one request each,
// when a request carries one batch per partition) of `bytes_per_share` bytes per request.
pipeline_settings pipeline_settings_from(const options& opt, size_t bytes_per_share, int shares);

// `send(intended_ns)` writes one request; `await_ack(timeout_ns)` consumes the next
// acknowledgement (waiting at most `timeout_ns`, or without limit when negative) and returns false
// if none came in time. Acknowledgements arrive in request order.
pipeline_result run_pipeline(const pipeline_settings& settings,
                             const std::function<void(int64_t intended_ns)>& send,
                             const std::function<bool(int64_t timeout_ns)>& await_ack);

// Runs `connection(i)` for i in 0 .. n-1 on a thread each and merges the results: requests and
// latencies added up, the first start and the last finish. Rethrows a thread's exception.
pipeline_result run_connections(int n, const std::function<pipeline_result(int)>& connection);

}  // namespace runnel::bench
