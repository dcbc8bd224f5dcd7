// Session windows: a group's records no more than `gap` apart form one session [first,
// last + 1); a record that bridges two sessions merges them. A session closes when the
// watermark passes last + gap + grace: no record that is not late could reach it any more.
// A record is late when its time + grace is below the watermark. State keys:
//   "s" group start -> CBOR [last, aggregate_state bytes]
//   "x" last group start -> ""   (sessions in order of their last record, for closing)
#include "streams/windows/window_keys.h"

#include <limits>

namespace runnel::streams {

using namespace window_keys;

namespace {

class session_window_aggregation final : public windowed_aggregation {
  public:
    session_window_aggregation(const aggregate_step& spec, state_store& store)
        : spec_(spec), store_(store) {}

    bool add(const stream_record& r, int64_t watermark, bool emit_updates,
             std::vector<window_result>& updates) override {
        const int64_t t = r.timestamp, gap = spec_.window->gap.count();
        if (t + grace() < watermark) return false;
        json scratch;
        const json* g = spec_.by.find(r, scratch);
        const json group = g ? *g : json(nullptr);
        const std::string text = group_text(group);

        // Sessions of the group that start at most `gap` after t and end at least `gap`
        // before it merge with the record. Sessions of one group do not overlap, so those
        // starting before t - gap can still reach t only through their end: scan from the
        // earliest start any could have (their last record is before the next one's start).
        int64_t start = t, last = t;
        aggregate_state state(spec_);
        state.add(r);
        std::string from = session_prefix(text), to = session_prefix(text);
        append_ordered_i64(from, std::numeric_limits<int64_t>::min());
        append_ordered_i64(to, t + gap + 1);
        std::vector<std::pair<std::string, int64_t>> merged;  // key, last
        std::vector<aggregate_state> merged_states;
        store_.scan(from, to, [&](std::string_view k, std::string_view bytes) {
            json entry = json::from_cbor(bytes, true, false);
            if (!entry.is_array() || entry.size() != 2) return true;
            const int64_t s_start = read_ordered_i64(k.substr(k.size() - 8));
            const int64_t s_last = entry[0].get<int64_t>();
            if (s_last + gap < t) return true;  // ended too early
            auto bin = entry[1].get_binary();
            auto old = aggregate_state::decode(
                spec_, std::string_view(reinterpret_cast<const char*>(bin.data()), bin.size()));
            if (!old) return true;
            merged.emplace_back(std::string(k), s_last);
            merged_states.push_back(std::move(*old));
            start = std::min(start, s_start);
            last = std::max(last, s_last);
            return true;
        });
        for (size_t i = 0; i < merged.size(); ++i) {
            state.merge(merged_states[i]);
            const auto& [k, s_last] = merged[i];
            store_.erase(k);
            store_.erase(close_key(s_last, text, read_ordered_i64(k.substr(k.size() - 8))));
        }
        std::string key = session_prefix(text);
        append_ordered_i64(key, start);
        auto encoded = state.encode();
        json entry =
            json::array({last, json::binary(std::vector<uint8_t>(encoded.begin(), encoded.end()))});
        auto cbor = json::to_cbor(entry);
        store_.put(key, std::string(cbor.begin(), cbor.end()));
        store_.put(close_key(last, text, start), "");
        if (emit_updates) updates.push_back(result_of({start, last + 1}, group, state));
        return true;
    }

    void close_until(int64_t watermark, bool emit_finals,
                     std::vector<window_result>& finals) override {
        const int64_t gap = spec_.window->gap.count();
        if (watermark < std::numeric_limits<int64_t>::min() + gap + grace() + 1) return;
        std::string from = "x", to = "x";
        append_ordered_i64(from, std::numeric_limits<int64_t>::min());
        append_ordered_i64(to, watermark - gap - grace());  // last + gap + grace < watermark
        std::vector<std::string> closed;
        store_.scan(from, to, [&](std::string_view k, std::string_view) {
            closed.emplace_back(k);
            return true;
        });
        for (const auto& k : closed) {
            std::string_view view(k);
            const int64_t last = read_ordered_i64(view.substr(1));
            const int64_t start = read_ordered_i64(view.substr(view.size() - 8));
            const std::string text(view.substr(9, view.size() - 17));
            std::string key = session_prefix(text);
            append_ordered_i64(key, start);
            if (emit_finals) {
                if (auto bytes = store_.get(key)) {
                    json entry = json::from_cbor(*bytes, true, false);
                    if (entry.is_array() && entry.size() == 2) {
                        auto bin = entry[1].get_binary();
                        auto state = aggregate_state::decode(
                            spec_, std::string_view(reinterpret_cast<const char*>(bin.data()),
                                                    bin.size()));
                        if (state) {
                            finals.push_back(result_of({start, last + 1}, group_of(text), *state));
                        }
                    }
                }
            }
            store_.erase(key);
            store_.erase(k);
        }
    }

  private:
    int64_t grace() const { return spec_.window->grace.count(); }

    static std::string session_prefix(const std::string& text) {
        std::string key = "s";
        append_group(key, text);
        return key;
    }

    static std::string close_key(int64_t last, const std::string& text, int64_t start) {
        std::string key = "x";
        append_ordered_i64(key, last);
        key += text;
        append_ordered_i64(key, start);
        return key;
    }

    const aggregate_step& spec_;
    state_store& store_;
};

}  // namespace

std::unique_ptr<windowed_aggregation> make_session_aggregation(const aggregate_step& spec,
                                                               state_store& store) {
    return std::make_unique<session_window_aggregation>(spec, store);
}

}  // namespace runnel::streams
