#include "streams/operators/deduper.h"

#include "streams/records/json_text.h"

#include <algorithm>
#include <limits>

namespace runnel::streams {

namespace {

std::vector<int64_t> times_of(const std::optional<std::string>& bytes) {
    if (!bytes) return {};
    json list = json::from_cbor(*bytes, true, false);
    if (!list.is_array()) return {};
    return list.get<std::vector<int64_t>>();
}

std::string encode_times(const std::vector<int64_t>& times) {
    auto bytes = json::to_cbor(json(times));
    return std::string(bytes.begin(), bytes.end());
}

}  // namespace

bool deduper::first_seen(const stream_record& r) {
    json scratch;
    const json* v = spec_.by.find(r, scratch);
    const std::string text = group_key_text(v ? *v : json(nullptr));
    std::string key = "d";
    key += text;
    // Every time the value was kept, so that records arriving out of order are judged against
    // all of them, not only the latest.
    auto times = times_of(store_.get(key));
    for (int64_t at : times) {
        const int64_t apart = r.timestamp > at ? r.timestamp - at : at - r.timestamp;
        if (apart < spec_.within.count()) return false;
    }
    times.insert(std::upper_bound(times.begin(), times.end(), r.timestamp), r.timestamp);
    store_.put(key, encode_times(times));
    std::string expiry = "y";
    append_ordered_i64(expiry, r.timestamp);
    expiry += text;
    store_.put(expiry, "");
    return true;
}

void deduper::expire_until(int64_t watermark) {
    if (watermark < std::numeric_limits<int64_t>::min() + spec_.within.count()) return;
    std::string from = "y", to = "y";
    append_ordered_i64(from, std::numeric_limits<int64_t>::min());
    append_ordered_i64(to, watermark - spec_.within.count());
    std::vector<std::string> old;
    store_.scan(from, to, [&](std::string_view k, std::string_view) {
        old.emplace_back(k);
        return true;
    });
    for (const auto& k : old) {
        store_.erase(k);
        const int64_t at = read_ordered_i64(std::string_view(k).substr(1));
        std::string key = "d";
        key.append(k, 9);
        auto times = times_of(store_.get(key));
        times.erase(std::remove(times.begin(), times.end(), at), times.end());
        if (times.empty()) {
            store_.erase(key);
        } else {
            store_.put(key, encode_times(times));
        }
    }
}

}  // namespace runnel::streams
