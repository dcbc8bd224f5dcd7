#include "streams/windows/watermark.h"

#include "streams/windows/windowed_aggregation.h"

#include <algorithm>
#include <charconv>

namespace runnel::streams {

bool upstream_watermarks::update(int32_t task, int64_t watermark, bool idle) {
    if (task < 0 || static_cast<size_t>(task) >= tasks_.size()) return false;
    auto& t = tasks_[task];
    t.heard = true;
    t.idle = idle;
    t.watermark = std::max(t.watermark, watermark);
    int64_t low = std::numeric_limits<int64_t>::max();
    int64_t high_idle = no_watermark;
    bool any = false;
    for (const auto& s : tasks_) {
        if (!s.heard) return false;  // a task not heard from yet holds everything back
        if (s.idle) {
            high_idle = std::max(high_idle, s.watermark);
            continue;
        }
        low = std::min(low, s.watermark);
        any = true;
    }
    // Every input idle: nothing is on its way, so the furthest of them is how far event time
    // has got (a window still open there stays open until records come).
    if (!any) low = high_idle;
    if (low <= current_) return false;
    current_ = low;
    return true;
}

std::string upstream_watermarks::encode() const {
    std::string out = std::to_string(current_);
    for (size_t i = 0; i < tasks_.size(); ++i) {
        const auto& t = tasks_[i];
        out += (i ? ',' : ';') + std::to_string(i) + ":" + std::to_string(t.watermark) + ":" +
               (t.heard ? "1" : "0") + ":" + (t.idle ? "1" : "0");
    }
    return out;
}

bool upstream_watermarks::decode(std::string_view text) {
    auto number = [](std::string_view& s, int64_t& v) {
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc{}) return false;
        s.remove_prefix(static_cast<size_t>(end - s.data()));
        return true;
    };
    int64_t current = 0;
    if (!number(text, current)) return false;
    std::vector<task_state> tasks(tasks_.size());
    while (!text.empty()) {
        text.remove_prefix(1);  // ';' or ','
        int64_t index = 0, wm = 0, heard = 0, idle = 0;
        if (!number(text, index) || text.empty() || text[0] != ':') return false;
        text.remove_prefix(1);
        if (!number(text, wm) || text.empty() || text[0] != ':') return false;
        text.remove_prefix(1);
        if (!number(text, heard) || text.empty() || text[0] != ':') return false;
        text.remove_prefix(1);
        if (!number(text, idle)) return false;
        // A plan with fewer upstream tasks than when it was saved keeps what still applies.
        if (index >= 0 && static_cast<size_t>(index) < tasks.size()) {
            tasks[static_cast<size_t>(index)] = {wm, heard != 0, idle != 0};
        }
    }
    tasks_ = std::move(tasks);
    current_ = current;
    return true;
}

bool is_late(const window_spec& w, int64_t t, int64_t watermark) {
    if (watermark == no_watermark) return false;
    const int64_t grace = w.grace.count();
    switch (w.kind) {
        case window_spec::type::tumbling:
        case window_spec::type::hopping: {
            auto windows = fixed_windows_of(w, t);
            return windows.empty() || windows.back().end + grace <= watermark;
        }
        case window_spec::type::sliding:
            return t + 1 + grace <= watermark;
        case window_spec::type::session:
            return t + grace < watermark;
    }
    return false;
}

}  // namespace runnel::streams
