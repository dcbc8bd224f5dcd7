// Sliding windows: one window per record, ending at it and reaching `size` back, [t - size,
// t + 1), holding the group's records in that span (Kafka Streams' sliding windows, KIP-450,
// without their windows that start at a record). State keys:
//   "r" group time -> CBOR list of [key, value] of the group's records at that time
//   "e" time group -> ""   one per window not yet closed (the window ending at time)
#include "streams/windows/window_keys.h"

#include <limits>

namespace runnel::streams {

using namespace window_keys;

namespace {

class sliding_window_aggregation final : public windowed_aggregation {
  public:
    sliding_window_aggregation(const aggregate_step& spec, state_store& store)
        : spec_(spec), store_(store) {}

    bool add(const stream_record& r, int64_t watermark, bool emit_updates,
             std::vector<window_result>& updates) override {
        const int64_t t = r.timestamp;
        if (t + 1 + grace() <= watermark) return false;
        json scratch;
        const json* g = spec_.by.find(r, scratch);
        const json group = g ? *g : json(nullptr);
        const std::string text = group_text(group);

        std::string key = records_prefix(text);
        append_ordered_i64(key, t);
        json list = json::array();
        if (auto bytes = store_.get(key)) list = json::from_cbor(*bytes, true, false);
        if (!list.is_array()) list = json::array();
        list.push_back(json::array({r.key, r.value}));
        auto cbor = json::to_cbor(list);
        store_.put(key, std::string(cbor.begin(), cbor.end()));

        std::string end_key = "e";
        append_ordered_i64(end_key, t);
        end_key += text;
        store_.put(end_key, "");

        if (emit_updates) {
            // The new record's window, and every open later window of the group it falls in.
            std::string from = records_prefix(text), to = records_prefix(text);
            append_ordered_i64(from, t);
            append_ordered_i64(to, t + spec_.window->size.count() + 1);
            std::vector<int64_t> ends;
            store_.scan(from, to, [&](std::string_view k, std::string_view) {
                ends.push_back(read_ordered_i64(k.substr(k.size() - 8)));
                return true;
            });
            for (int64_t end : ends) {
                if (end + 1 + grace() > watermark) updates.push_back(window_at(group, text, end));
            }
        }
        return true;
    }

    void close_until(int64_t watermark, bool emit_finals,
                     std::vector<window_result>& finals) override {
        // Windows ending at t close when t + 1 + grace <= watermark.
        if (watermark < std::numeric_limits<int64_t>::min() + grace() + 2) return;
        std::string from = "e", to = "e";
        append_ordered_i64(from, std::numeric_limits<int64_t>::min());
        append_ordered_i64(to, watermark - grace());
        std::vector<std::string> closed;
        store_.scan(from, to, [&](std::string_view k, std::string_view) {
            closed.emplace_back(k);
            return true;
        });
        for (const auto& k : closed) {
            const int64_t end = read_ordered_i64(std::string_view(k).substr(1));
            const std::string text = k.substr(9);
            const json group = group_of(text);
            if (emit_finals) finals.push_back(window_at(group, text, end));
            store_.erase(k);
            // Later windows of the group start after end - size: older records are done with.
            std::string lo = records_prefix(text), hi = records_prefix(text);
            append_ordered_i64(lo, std::numeric_limits<int64_t>::min());
            append_ordered_i64(hi, end - spec_.window->size.count() + 1);
            std::vector<std::string> done;
            store_.scan(lo, hi, [&](std::string_view rk, std::string_view) {
                done.emplace_back(rk);
                return true;
            });
            for (const auto& rk : done) store_.erase(rk);
        }
    }

  private:
    int64_t grace() const { return spec_.window->grace.count(); }

    static std::string records_prefix(const std::string& text) {
        std::string key = "r";
        append_group(key, text);
        return key;
    }

    // The window ending at `end` over the group's records in [end - size, end].
    window_result window_at(const json& group, const std::string& text, int64_t end) {
        const window_bounds w{end - spec_.window->size.count(), end + 1};
        std::string from = records_prefix(text), to = records_prefix(text);
        append_ordered_i64(from, w.start);
        append_ordered_i64(to, w.end);
        aggregate_state state(spec_);
        store_.scan(from, to, [&](std::string_view k, std::string_view bytes) {
            const int64_t t = read_ordered_i64(k.substr(k.size() - 8));
            json list = json::from_cbor(bytes, true, false);
            if (!list.is_array()) return true;
            for (auto& kv : list) state.add(stream_record{kv[0], kv[1], t, {}});
            return true;
        });
        return result_of(w, group, state);
    }

    const aggregate_step& spec_;
    state_store& store_;
};

}  // namespace

std::unique_ptr<windowed_aggregation> make_sliding_aggregation(const aggregate_step& spec,
                                                               state_store& store) {
    return std::make_unique<sliding_window_aggregation>(spec, store);
}

}  // namespace runnel::streams
