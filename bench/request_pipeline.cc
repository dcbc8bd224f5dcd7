#include "bench/request_pipeline.h"

#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <deque>
#include <exception>
#include <thread>

#include "bench/clocks.h"

namespace runnel::bench {

namespace {

void sleep_until(int64_t deadline_ns) {
    timespec t{static_cast<time_t>(deadline_ns / 1'000'000'000),
               static_cast<long>(deadline_ns % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr) != 0) {
    }
}

}  // namespace

pipeline_settings pipeline_settings_from(const options& opt, size_t bytes_per_share, int shares) {
    const double share_bytes = double(bytes_per_share) * shares;
    const int64_t max_bytes = opt.integer("max-bytes", 0);
    pipeline_settings s;
    s.window = static_cast<int>(opt.integer("window", 4));
    s.duration_ns = static_cast<int64_t>(opt.real("seconds", 5) * 1e9);
    s.requests_per_second = opt.real("rate", 0) / share_bytes;
    s.max_requests = max_bytes > 0 ? int64_t(double(max_bytes) / share_bytes) + 1 : 0;
    return s;
}

pipeline_result run_pipeline(const pipeline_settings& settings,
                             const std::function<void(int64_t)>& send,
                             const std::function<bool(int64_t)>& await_ack) {
    // The default 50 us timer slack would add up to 50 us to every paced send and to the
    // latencies measured from it.
    prctl(PR_SET_TIMERSLACK, 1UL);
    const int64_t interval =
        settings.requests_per_second > 0 ? int64_t(1e9 / settings.requests_per_second) : 0;
    pipeline_result result;
    result.started_ns = now_ns();
    const int64_t deadline = result.started_ns + settings.duration_ns;
    int64_t next_send = result.started_ns;
    std::deque<int64_t> outstanding;  // intended send times

    for (;;) {
        const int64_t now = now_ns();
        const bool sending = now < deadline && (settings.max_requests == 0 ||
                                                result.requests < settings.max_requests);
        const bool window_open = outstanding.size() < static_cast<size_t>(settings.window);
        if (sending && window_open && now >= next_send) {
            const int64_t intended = interval ? next_send : now;
            send(intended);
            outstanding.push_back(intended);
            ++result.requests;
            next_send += interval;
            continue;
        }
        if (outstanding.empty()) {
            if (!sending) break;
            sleep_until(next_send);
            continue;
        }
        // Wait for an acknowledgement, but no longer than the next send is due.
        const int64_t timeout = sending && window_open ? next_send - now : -1;
        if (!await_ack(timeout)) continue;
        const int64_t acked = now_ns();
        result.latencies_ns.push_back(acked - outstanding.front());
        outstanding.pop_front();
        result.finished_ns = acked;
    }
    return result;
}

pipeline_result run_connections(int n, const std::function<pipeline_result(int)>& connection) {
    std::vector<pipeline_result> results(static_cast<size_t>(n));
    std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
            try {
                results[i] = connection(i);
            } catch (...) {
                errors[i] = std::current_exception();
            }
        });
    }
    for (auto& t : threads) t.join();
    pipeline_result merged;
    for (int i = 0; i < n; ++i) {
        if (errors[i]) std::rethrow_exception(errors[i]);
        const auto& r = results[i];
        merged.requests += r.requests;
        merged.latencies_ns.insert(merged.latencies_ns.end(), r.latencies_ns.begin(),
                                   r.latencies_ns.end());
        if (i == 0 || r.started_ns < merged.started_ns) merged.started_ns = r.started_ns;
        merged.finished_ns = std::max(merged.finished_ns, r.finished_ns);
    }
    return merged;
}

}  // namespace runnel::bench
