// Count and aggregate by group, in windows of event time (tumbling, hopping, sliding, session)
// or without one (a running total). State lives in the task's state_store, so a restart finds it
// again; a window closes when the watermark passes its end plus the grace period.
#pragma once

#include "streams/records/stream_record.h"
#include "streams/spec/pipeline_spec.h"
#include "streams/state/state_store.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace runnel::streams {

struct window_bounds {
    int64_t start = 0;
    int64_t end = 0;  // exclusive: a record at t is inside when start <= t < end
};

// One group's result in one window: the record a sink receives (key: the group; value:
// {"window": {"start", "end"}, "key": <group>, <result fields>}; timestamp: end - 1).
struct window_result {
    window_bounds window;
    stream_record record;
};

class windowed_aggregation {
  public:
    virtual ~windowed_aggregation() = default;

    // Adds `r` at watermark `watermark`. Returns false when it is late (every window it belongs
    // to has closed; it is not added). With `emit_updates`, the results that changed are
    // appended to `updates`.
    virtual bool add(const stream_record& r, int64_t watermark, bool emit_updates,
                     std::vector<window_result>& updates) = 0;

    // Closes every window the watermark has passed (end + grace <= watermark), in order of
    // end; with `emit_finals` their results are appended to `finals`. State of closed windows
    // is deleted.
    virtual void close_until(int64_t watermark, bool emit_finals,
                             std::vector<window_result>& finals) = 0;
};

std::unique_ptr<windowed_aggregation> make_windowed_aggregation(const aggregate_step& spec,
                                                                state_store& store);

// The fixed (tumbling or hopping) windows that hold time t, earliest first.
std::vector<window_bounds> fixed_windows_of(const window_spec& w, int64_t t);

}  // namespace runnel::streams
