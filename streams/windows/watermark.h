// Event-time progress. A source partition's watermark is the largest event time it has carried
// minus max_out_of_order; a later stage's is the smallest of its upstream tasks' watermarks,
// leaving out those that reported themselves idle (when all are idle, the largest of theirs).
// Watermarks only move forward.
#pragma once

#include "streams/spec/pipeline_spec.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::streams {

inline constexpr int64_t no_watermark = std::numeric_limits<int64_t>::min();

class partition_watermark {
  public:
    explicit partition_watermark(millis max_out_of_order) : lag_(max_out_of_order.count()) {}

    void observe(int64_t event_time) {
        if (event_time > max_seen_) max_seen_ = event_time;
    }
    int64_t current() const { return max_seen_ == no_watermark ? no_watermark : max_seen_ - lag_; }
    int64_t max_seen() const { return max_seen_; }

  private:
    int64_t lag_;
    int64_t max_seen_ = no_watermark;
};

class upstream_watermarks {
  public:
    explicit upstream_watermarks(int32_t upstream_tasks) : tasks_(upstream_tasks) {}

    // A marker from upstream task `task`. Returns true when the stage's watermark moved.
    bool update(int32_t task, int64_t watermark, bool idle);
    int64_t current() const { return current_; }
    // "current;task:watermark:heard:idle,..." and back (a task's saved progress).
    std::string encode() const;
    bool decode(std::string_view text);

  private:
    struct task_state {
        int64_t watermark = no_watermark;
        bool heard = false;
        bool idle = false;
    };
    std::vector<task_state> tasks_;
    int64_t current_ = no_watermark;
};

// Whether a record at event time t is late at `watermark` for the window kind: every window it
// would fall in (or start) has closed.
bool is_late(const window_spec& w, int64_t t, int64_t watermark);

}  // namespace runnel::streams
