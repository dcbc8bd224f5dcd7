#include "streams/windows/top_by_window.h"

#include "streams/windows/window_keys.h"

#include <algorithm>
#include <limits>

namespace runnel::streams {

namespace {

std::string window_prefix(char kind, int64_t start, int64_t end) {
    std::string key(1, kind);
    append_ordered_i64(key, end);
    append_ordered_i64(key, start);
    return key;
}

std::string cbor_text(const json& v) {
    auto bytes = json::to_cbor(v);
    return std::string(bytes.begin(), bytes.end());
}

stream_record top_record(int64_t start, int64_t end, json top) {
    json window = {{"start", start}, {"end", end}};
    json value = {{"window", window}, {"top", std::move(top)}};
    return stream_record{std::move(window), std::move(value), end - 1, {}};
}

}  // namespace

json top_by_window::top_of(int64_t start, int64_t end) const {
    // Group texts are JSON arrays ("[...]"), so '\xff' sorts after all of them.
    std::string from = window_prefix('t', start, end), to = from + '\xff';
    std::vector<json> results;
    store_.scan(from, to, [&](std::string_view, std::string_view bytes) {
        json r = json::from_cbor(bytes, true, false);
        if (r.is_object()) results.push_back(std::move(r));
        return true;
    });
    // Best first; equal results in order of their group's text, so that runs agree.
    auto rank = [&](const json& a, const json& b) {
        const json& x = a.contains(spec_.by) ? a[spec_.by] : json(nullptr);
        const json& y = b.contains(spec_.by) ? b[spec_.by] : json(nullptr);
        double dx = x.is_number() ? x.get<double>() : -std::numeric_limits<double>::infinity();
        double dy = y.is_number() ? y.get<double>() : -std::numeric_limits<double>::infinity();
        if (dx != dy) return dx > dy;
        return to_text(a["key"]) < to_text(b["key"]);
    };
    size_t n = std::min(spec_.n, results.size());
    std::partial_sort(results.begin(), results.begin() + n, results.end(), rank);
    json top = json::array();
    for (size_t i = 0; i < n; ++i) {
        json entry = std::move(results[i]);
        entry.erase("window");
        top.push_back(std::move(entry));
    }
    return top;
}

bool top_by_window::add(const stream_record& result, int64_t watermark, bool emit_updates,
                        std::vector<stream_record>& out) {
    const json& v = result.value;
    if (!v.is_object() || !v.contains("window")) return true;  // not a window result: ignored
    const int64_t start = v["window"]["start"].get<int64_t>();
    const int64_t end = v["window"]["end"].get<int64_t>();
    if (end + window_.grace.count() <= watermark) return false;
    std::string key = window_prefix('t', start, end) + window_keys::group_text(v["key"]);
    store_.put(key, cbor_text(v));
    if (emit_updates) {
        json top = top_of(start, end);
        std::string last_key = window_prefix('l', start, end);
        auto last = store_.get(last_key);
        std::string now = cbor_text(top);
        if (!last || *last != now) {
            store_.put(last_key, now);
            out.push_back(top_record(start, end, std::move(top)));
        }
    }
    return true;
}

void top_by_window::close_until(int64_t watermark, bool emit_finals,
                                std::vector<stream_record>& out) {
    const int64_t grace = window_.grace.count();
    if (watermark < std::numeric_limits<int64_t>::min() + grace + 1) return;
    std::string from = "t", to = "t";
    append_ordered_i64(from, std::numeric_limits<int64_t>::min());
    append_ordered_i64(to, watermark - grace + 1);     // end + grace <= watermark
    std::vector<std::pair<int64_t, int64_t>> windows;  // (start, end), in order of end
    std::vector<std::string> keys;
    store_.scan(from, to, [&](std::string_view k, std::string_view) {
        std::pair<int64_t, int64_t> w{read_ordered_i64(k.substr(9)), read_ordered_i64(k.substr(1))};
        if (windows.empty() || windows.back() != w) windows.push_back(w);
        keys.emplace_back(k);
        return true;
    });
    for (const auto& [start, end] : windows) {
        if (emit_finals) out.push_back(top_record(start, end, top_of(start, end)));
        store_.erase(window_prefix('l', start, end));
    }
    for (const auto& k : keys) store_.erase(k);
}

}  // namespace runnel::streams
