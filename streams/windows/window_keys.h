// State keys of the window operators: a one-letter kind, then ordered times and the group's JSON
// text, so that a scan in key order walks windows in order of their end.
#pragma once

#include "streams/records/json_text.h"
#include "streams/records/stream_record.h"
#include "streams/state/state_store.h"
#include "streams/windows/aggregate_state.h"
#include "streams/windows/windowed_aggregation.h"

#include <string>
#include <string_view>

namespace runnel::streams::window_keys {

inline std::string group_text(const json& group) { return group_key_text(group); }
inline json group_of(std::string_view text) { return json::parse(text)[0]; }

// Length-prefixed group text, for keys where the group comes before a time.
inline void append_group(std::string& key, const std::string& group) {
    append_ordered_i64(key, static_cast<int64_t>(group.size()));
    key += group;
}

inline window_result result_of(const window_bounds& w, const json& group,
                               const aggregate_state& state) {
    json value = state.results();
    value["window"] = {{"start", w.start}, {"end", w.end}};
    value["key"] = group;
    return {w, stream_record{group, std::move(value), w.end - 1, {}}};
}

}  // namespace runnel::streams::window_keys
