// Tumbling and hopping windows, and the running aggregate with no window. State keys:
//   "w" end start group  -> aggregate_state   (fixed windows, scanned in order of end)
//   "g" group            -> aggregate_state   (no window)
#include "streams/windows/window_keys.h"

#include <algorithm>
#include <limits>

namespace runnel::streams {

using namespace window_keys;

std::vector<window_bounds> fixed_windows_of(const window_spec& w, int64_t t) {
    const int64_t advance = w.advance.count(), size = w.size.count();
    // The last window starting at or before t (floor division, for times before 1970 too).
    int64_t last = t - ((t % advance) + advance) % advance;
    std::vector<window_bounds> out;
    for (int64_t start = last; start > t - size; start -= advance) {
        out.push_back({start, start + size});
    }
    std::reverse(out.begin(), out.end());
    return out;
}

namespace {

json group_of_record(const aggregate_step& spec, const stream_record& r) {
    json scratch;
    const json* g = spec.by.find(r, scratch);
    return g ? *g : json(nullptr);
}

class fixed_window_aggregation final : public windowed_aggregation {
  public:
    fixed_window_aggregation(const aggregate_step& spec, state_store& store)
        : spec_(spec), store_(store) {}

    bool add(const stream_record& r, int64_t watermark, bool emit_updates,
             std::vector<window_result>& updates) override {
        const json group = group_of_record(spec_, r);
        const std::string text = group_text(group);
        bool added = false;
        for (const auto& w : fixed_windows_of(*spec_.window, r.timestamp)) {
            if (w.end + spec_.window->grace.count() <= watermark) continue;  // closed
            std::string key = "w";
            append_ordered_i64(key, w.end);
            append_ordered_i64(key, w.start);
            key += text;
            aggregate_state state(spec_);
            if (auto bytes = store_.get(key)) {
                if (auto old = aggregate_state::decode(spec_, *bytes)) state = std::move(*old);
            }
            state.add(r);
            store_.put(key, state.encode());
            if (emit_updates) updates.push_back(result_of(w, group, state));
            added = true;
            if (earliest_end_) earliest_end_ = std::min(*earliest_end_, w.end);
        }
        return added;
    }

    void close_until(int64_t watermark, bool emit_finals,
                     std::vector<window_result>& finals) override {
        // Windows with end <= watermark - grace, i.e. keys below "w" (watermark - grace + 1).
        const int64_t grace = spec_.window->grace.count();
        if (watermark < std::numeric_limits<int64_t>::min() + grace + 1) return;  // none yet
        int64_t limit = watermark - grace;
        // Nothing ends by the limit: no scan (one would run at every watermark marker).
        if (earliest_end_ && *earliest_end_ > limit) return;
        std::string from = "w", to = "w";
        append_ordered_i64(from, std::numeric_limits<int64_t>::min());
        append_ordered_i64(to, limit + 1);
        std::vector<std::string> closed;
        store_.scan(from, to, [&](std::string_view key, std::string_view bytes) {
            closed.emplace_back(key);
            if (emit_finals) {
                window_bounds w{read_ordered_i64(key.substr(9)), read_ordered_i64(key.substr(1))};
                if (auto state = aggregate_state::decode(spec_, bytes)) {
                    finals.push_back(result_of(w, group_of(key.substr(17)), *state));
                }
            }
            return true;
        });
        for (const auto& key : closed) store_.erase(key);
        // The earliest window left, for the next call to skip its scan until it can close.
        std::string end = "w";
        append_ordered_i64(end, std::numeric_limits<int64_t>::max());
        earliest_end_ = std::numeric_limits<int64_t>::max();
        store_.scan(to, end, [&](std::string_view key, std::string_view) {
            earliest_end_ = read_ordered_i64(key.substr(1));
            return false;
        });
    }

  private:
    const aggregate_step& spec_;
    state_store& store_;
    // The smallest end of a window in the store, once a scan has found it (not known after a
    // restart until the first close_until).
    std::optional<int64_t> earliest_end_;
};

class running_aggregation final : public windowed_aggregation {
  public:
    running_aggregation(const aggregate_step& spec, state_store& store)
        : spec_(spec), store_(store) {}

    bool add(const stream_record& r, int64_t, bool emit_updates,
             std::vector<window_result>& updates) override {
        const json group = group_of_record(spec_, r);
        std::string key = "g";
        key += group_text(group);
        aggregate_state state(spec_);
        if (auto bytes = store_.get(key)) {
            if (auto old = aggregate_state::decode(spec_, *bytes)) state = std::move(*old);
        }
        state.add(r);
        store_.put(key, state.encode());
        if (emit_updates) {
            json value = state.results();
            value["key"] = group;
            updates.push_back({{}, stream_record{group, std::move(value), r.timestamp, {}}});
        }
        return true;
    }

    void close_until(int64_t, bool, std::vector<window_result>&) override {}

  private:
    const aggregate_step& spec_;
    state_store& store_;
};

}  // namespace

std::unique_ptr<windowed_aggregation> make_sliding_aggregation(const aggregate_step& spec,
                                                               state_store& store);
std::unique_ptr<windowed_aggregation> make_session_aggregation(const aggregate_step& spec,
                                                               state_store& store);

std::unique_ptr<windowed_aggregation> make_windowed_aggregation(const aggregate_step& spec,
                                                                state_store& store) {
    if (!spec.window) return std::make_unique<running_aggregation>(spec, store);
    switch (spec.window->kind) {
        case window_spec::type::tumbling:
        case window_spec::type::hopping:
            return std::make_unique<fixed_window_aggregation>(spec, store);
        case window_spec::type::sliding:
            return make_sliding_aggregation(spec, store);
        case window_spec::type::session:
            return make_session_aggregation(spec, store);
    }
    return nullptr;
}

}  // namespace runnel::streams
