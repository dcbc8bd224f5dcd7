// "top": the n groups with the largest result per window, from the window results of the
// aggregate before it. One task sees every group of a window (the plan sends all results to one
// partition). State keys:
//   "t" end start group -> the group's latest result (CBOR)
//   "l" end start       -> the top list last emitted (CBOR; on_update only)
#pragma once

#include "streams/records/stream_record.h"
#include "streams/spec/pipeline_spec.h"
#include "streams/state/state_store.h"

#include <vector>

namespace runnel::streams {

class top_by_window {
  public:
    top_by_window(const top_step& spec, const window_spec& window, state_store& store)
        : spec_(spec), window_(window), store_(store) {}

    // Takes one window result (as windowed_aggregation produces it). Returns false when its
    // window has closed. With `emit_updates`, appends the window's top list when it changed.
    bool add(const stream_record& result, int64_t watermark, bool emit_updates,
             std::vector<stream_record>& out);
    // Closes the windows the watermark has passed; with `emit_finals` appends their top lists
    // (key: the window; value: {"window": {...}, "top": [results, best first]}).
    void close_until(int64_t watermark, bool emit_finals, std::vector<stream_record>& out);

  private:
    json top_of(int64_t start, int64_t end) const;

    const top_step& spec_;
    const window_spec& window_;
    state_store& store_;
};

}  // namespace runnel::streams
